// Copying a byte range between Buffers on the request path without allocating. Buffer#copy and
// Uint8Array#set of part of a buffer allocate a Uint8Array view per call in Node 20; at pipeline 1
// that is several short-lived objects per request, and the scavenges they cause pause every request
// in flight (the p99). Node's own buffer binding copies a range natively with no view (what
// Buffer#copy uses underneath; the bounds are checked here). Very short ranges are copied with a
// loop; where the binding is missing, set(subarray) is the fallback. `viewOf` is the one place a
// range becomes a Buffer where an API needs one.

/** Node 20's internal copy: copy(source, target, targetStart, sourceStart, sourceEnd) -> bytes copied. */
type NativeCopy = (src: Uint8Array, dst: Uint8Array, at: number, start: number, end: number) => number;

function loadNativeCopy(): NativeCopy | null {
  try {
    const get = (process as unknown as { binding?: (name: string) => unknown }).binding;
    if (typeof get !== 'function') return null;
    const copy = (get.call(process, 'buffer') as { copy?: unknown } | null)?.copy;
    if (typeof copy !== 'function') return null;
    // Check the argument order once on a known input before trusting it.
    const src = Uint8Array.of(1, 2, 3, 4),
      dst = new Uint8Array(4);
    const f = copy as NativeCopy;
    return f(src, dst, 1, 2, 4) === 2 && dst[0] === 0 && dst[1] === 3 && dst[2] === 4 && dst[3] === 0 ? f : null;
  } catch {
    return null;
  }
}

const native = loadNativeCopy();

/** Ranges up to this many bytes are copied byte by byte (cheaper than the call into C++). */
const LOOP_MAX = 16;

/** Whether copyBytes copies without allocating (false: the set(subarray) fallback is in use). */
export const copyIsNative = native !== null;

/** Copies src[start, end) to dst at `at`; returns the number of bytes copied (end - start). */
export function copyBytes(src: Uint8Array, start: number, end: number, dst: Uint8Array, at: number): number {
  const n = end - start;
  if (n <= LOOP_MAX) {
    for (let i = 0; i < n; i++) dst[at + i] = src[start + i]!; // start + i < end <= src.length
    return n;
  }
  // A range outside either buffer is a bug of the caller: say so rather than copy less.
  if (start < 0 || end > src.length || at < 0 || at + n > dst.length)
    throw new RangeError(`copy of [${start}, ${end}) to ${at} is out of bounds`);
  if (native !== null) return native(src, dst, at, start, end);
  dst.set(src.subarray(start, end), at);
  return n;
}

/** buf[start, end) as a Buffer: `buf` itself when the range is all of it, else a view. */
export function viewOf(buf: Buffer, start: number, end: number): Buffer {
  return start === 0 && end === buf.length ? buf : buf.subarray(start, end);
}
