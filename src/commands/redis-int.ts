// Redis's strict integer syntax for arguments (string2ll): an optional '-', then '0' alone or a
// digit 1-9 followed by digits, no spaces, no '+', no leading zeros, within a signed 64-bit range.
// Used where the proxy checks a numeric argument itself, so its errors match Redis's. Pure.

const INT64_MIN = -(2n ** 63n),
  INT64_MAX = 2n ** 63n - 1n;

/**
 * The value of `text` if Redis would accept it as a long long, else null. Values beyond 2^53 come
 * back rounded (callers only compare them with small limits).
 */
export function parseRedisInteger(text: string): number | null {
  const n = text.length;
  if (n === 0 || n > 20) return null;
  let i = 0;
  if (text.charCodeAt(0) === 45 /* - */) {
    i = 1;
    if (n === 1) return null;
  }
  const first = text.charCodeAt(i);
  if (first === 48 /* 0 */) return n === 1 ? 0 : null; // '0' alone; '-0' and '01' are refused
  if (first < 49 || first > 57) return null;
  for (let j = i + 1; j < n; j++) {
    const c = text.charCodeAt(j);
    if (c < 48 || c > 57) return null;
  }
  if (n - i >= 16) {
    const big = BigInt(text);
    if (big < INT64_MIN || big > INT64_MAX) return null;
  }
  return Number(text);
}

/** As getIntFromObject: a long long that also fits a C int (32 bits). */
export function parseRedisInt32(text: string): number | null {
  const v = parseRedisInteger(text);
  return v !== null && v >= -2147483648 && v <= 2147483647 ? v : null;
}
