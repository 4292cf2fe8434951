// Copying a byte range between Buffers on the request path. Buffer#copy of part of a buffer
// allocates a Uint8Array view per call in Node 20 (and set() needs a subarray), which at MSET/MGET
// of 10 keys is 10-20 short-lived objects per request; short ranges are copied with a loop instead.

/** Ranges up to this many bytes are copied byte by byte (no allocation). */
const LOOP_MAX = 64;

/** Copies src[start, end) to dst at `at`; returns the number of bytes copied (end - start). */
export function copyBytes(src: Uint8Array, start: number, end: number, dst: Uint8Array, at: number): number {
  const n = end - start;
  if (n <= LOOP_MAX) {
    for (let i = 0; i < n; i++) dst[at + i] = src[start + i]!; // start + i < end <= src.length
    return n;
  }
  dst.set(src.subarray(start, end), at);
  return n;
}
