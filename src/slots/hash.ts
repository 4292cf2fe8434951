// Slot hashing, Codis-compatible: slot = crc32_ieee(hashkey) % 1024, where the hash key is the text
// between the first '{' and the first '}' after it when both exist (an empty "{}" hashes "").
export const MAX_SLOT_NUM = 1024;

/**
 * CRC-32 tables for slicing-by-4: TABLES[0..255] is the byte table; TABLES[256 * t + b] is the CRC of
 * byte b followed by t zero bytes, so four bytes are folded per step (keys are hashed once per request
 * and per key of MGET/MSET: the byte-at-a-time loop was a visible share of the proxy's CPU).
 */
const TABLES = (() => {
  const t = new Int32Array(256 * 4);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[i] = c;
  }
  for (let n = 256; n < 1024; n++) {
    const prev = t[n - 256] as number;
    t[n] = (t[prev & 0xff] as number) ^ (prev >>> 8);
  }
  return t;
})();

// Hot paths below: i < end <= buf.length, and every table index is a byte plus a multiple of 256 < 1024.

/** Continues a CRC-32 state `c` over buf[i, end). */
function crcFrom(c: number, buf: Uint8Array, i: number, end: number): number {
  const T = TABLES;
  for (; i + 4 <= end; i += 4) {
    c ^= buf[i]! | (buf[i + 1]! << 8) | (buf[i + 2]! << 16) | (buf[i + 3]! << 24);
    c = T[768 + (c & 0xff)]! ^ T[512 + ((c >>> 8) & 0xff)]! ^ T[256 + ((c >>> 16) & 0xff)]! ^ T[c >>> 24]!;
  }
  for (; i < end; i++) c = T[(c ^ buf[i]!) & 0xff]! ^ (c >>> 8);
  return c;
}

/** CRC-32 (IEEE 802.3, as Go's crc32.ChecksumIEEE) of buf[start, end). */
export function crc32(buf: Uint8Array, start = 0, end = buf.length): number {
  return (crcFrom(-1, buf, start, end) ^ -1) >>> 0;
}

/** Slot of a key with a '{' in buf[start, end): the hash-tag rule. */
function taggedSlot(buf: Uint8Array, start: number, end: number): number {
  let i = start;
  while (buf[i] !== 0x7b /* { */) i++;
  for (let j = i + 1; j < end; j++) {
    if (buf[j] === 0x7d /* } */) return crc32(buf, i + 1, j) % MAX_SLOT_NUM;
  }
  return crc32(buf, start, end) % MAX_SLOT_NUM;
}

/**
 * Slot of the key stored in buf[start, end), applying the hash-tag rule. One pass: the CRC is folded
 * four bytes at a time while looking for '{'; a key that has one starts over in taggedSlot.
 */
export function slotOfRange(buf: Uint8Array, start: number, end: number): number {
  const T = TABLES;
  let c = -1,
    i = start;
  for (; i + 4 <= end; i += 4) {
    const b0 = buf[i]!,
      b1 = buf[i + 1]!,
      b2 = buf[i + 2]!,
      b3 = buf[i + 3]!;
    if (b0 === 0x7b || b1 === 0x7b || b2 === 0x7b || b3 === 0x7b) return taggedSlot(buf, start, end);
    c ^= b0 | (b1 << 8) | (b2 << 16) | (b3 << 24);
    c = T[768 + (c & 0xff)]! ^ T[512 + ((c >>> 8) & 0xff)]! ^ T[256 + ((c >>> 16) & 0xff)]! ^ T[c >>> 24]!;
  }
  for (; i < end; i++) {
    const b = buf[i]!;
    if (b === 0x7b) return taggedSlot(buf, start, end);
    c = T[(c ^ b) & 0xff]! ^ (c >>> 8);
  }
  return ((c ^ -1) >>> 0) % MAX_SLOT_NUM;
}

export function slotOf(key: string | Uint8Array): number {
  const b = typeof key === 'string' ? Buffer.from(key) : key;
  return slotOfRange(b, 0, b.length);
}

/** The hash key (tag content, or the whole key) of a key, as Codis computes it. */
export function hashKeyOf(key: string): string {
  const i = key.indexOf('{');
  if (i >= 0) {
    const j = key.indexOf('}', i + 1);
    if (j >= 0) return key.slice(i + 1, j);
  }
  return key;
}
