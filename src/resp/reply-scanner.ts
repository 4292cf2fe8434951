// Finds where RESP2/RESP3 replies end without decoding them, so the proxy can pass backend replies
// through as byte slices. Also small helpers to read the few replies the proxy must merge.

const CR = 13;

/** Set by scanReply when it returns -1: total bytes (from `pos`) known to be needed, or 0 if unknown. */
export let replyNeed = 0;

/** Lines up to this long are searched with a loop: cheaper than Buffer#indexOf's call into C++. */
const SHORT_LINE = 32;

function lineEnd(buf: Buffer, from: number): number {
  const n = buf.length;
  const stop = from + SHORT_LINE < n ? from + SHORT_LINE : n;
  // Hot path: i < stop <= n, so buf[i] is a byte.
  for (let i = from; i < stop; i++) {
    if (buf[i] === CR) {
      if (i + 1 >= n) return -1;
      if (buf[i + 1] === 10) return i;
    }
  }
  if (stop === n) return -1;
  let i = buf.indexOf(CR, stop);
  while (i >= 0) {
    if (i + 1 >= n) return -1;
    if (buf[i + 1] === 10) return i;
    i = buf.indexOf(CR, i + 1);
  }
  return -1;
}

function readLen(buf: Buffer, start: number, end: number): number {
  let i = start,
    neg = false;
  if (buf[i] === 45) {
    neg = true;
    i++;
  }
  let n = 0;
  // Hot path: end is a CRLF position found in buf, so buf[i] is always a byte.
  for (; i < end; i++) n = n * 10 + (buf[i]! - 48);
  return neg ? -n : n;
}

/**
 * Returns the index just past the complete reply that starts at `pos`, or -1 if more bytes are
 * needed. Throws on a byte that cannot start a reply (the backend stream is corrupt).
 */
export function scanReply(buf: Buffer, pos: number): number {
  const origin = pos;
  let remaining = 1;
  while (remaining > 0) {
    if (pos >= buf.length) {
      replyNeed = 0;
      return -1;
    }
    const type = buf[pos]!; // hot path: pos < buf.length (checked just above)
    const le = lineEnd(buf, pos + 1);
    if (le < 0) {
      replyNeed = 0;
      return -1;
    }
    remaining--;
    switch (type) {
      case 43:
      case 45:
      case 58:
      case 95:
      case 44:
      case 35:
      case 40: // + - : _ , # (
        pos = le + 2;
        break;
      case 36:
      case 33:
      case 61: {
        // $ ! = (blob types)
        const len = readLen(buf, pos + 1, le);
        if (len < 0) {
          pos = le + 2;
          break;
        }
        const end = le + 2 + len + 2;
        if (end > buf.length) {
          replyNeed = end - origin;
          return -1;
        }
        pos = end;
        break;
      }
      case 42:
      case 126:
      case 62: {
        // * ~ > (aggregates of n)
        const n = readLen(buf, pos + 1, le);
        if (n > 0) remaining += n;
        pos = le + 2;
        break;
      }
      case 37: {
        // % map
        const n = readLen(buf, pos + 1, le);
        if (n > 0) remaining += 2 * n;
        pos = le + 2;
        break;
      }
      case 124: {
        // | attribute: its pairs, then the value it annotates
        const n = readLen(buf, pos + 1, le);
        remaining += 2 * Math.max(n, 0) + 1;
        pos = le + 2;
        break;
      }
      default:
        throw new Error(`corrupt reply from backend: unexpected byte 0x${type.toString(16)}`);
    }
  }
  return pos;
}

/** For an array/set/push reply, the [start, end) of each element; null if it is not an aggregate. */
export function arrayElements(reply: Buffer): Array<[number, number]> | null {
  const t = reply[0];
  if (t !== 42 && t !== 126) return null;
  const le = lineEnd(reply, 1);
  const n = readLen(reply, 1, le);
  if (n < 0) return null;
  const out: Array<[number, number]> = [];
  let p = le + 2;
  for (let i = 0; i < n; i++) {
    const e = scanReply(reply, p);
    if (e < 0) throw new Error('truncated array reply');
    out.push([p, e]);
    p = e;
  }
  return out;
}

/** The integer of a `:n` reply, or null. */
export function integerOf(reply: Buffer): number | null {
  if (reply[0] !== 58) return null;
  const le = lineEnd(reply, 1);
  return readLen(reply, 1, le);
}

/** Whether the reply starting at buf[pos] is an error (RESP2 `-`, RESP3 blob error `!`). */
export const isErrorAt = (buf: Uint8Array, pos: number): boolean => buf[pos] === 45 || buf[pos] === 33;

export const isErrorReply = (reply: Buffer): boolean => isErrorAt(reply, 0);
