// Short-lived buffers of the request path (copies of backend replies, MGET/MSET sub-requests,
// merged replies) carved from 64 KiB slabs instead of Node's 8 KiB Buffer pool. Every slab is one
// ArrayBuffer that the young-generation GC must sweep once it dies, and at pipeline 1 that sweep was
// a third of each scavenge's pause (which every request in flight waits out: the p99). Only for
// buffers dropped once the request is answered: a small buffer kept for long keeps its whole slab
// alive, so whoever keeps a reply or a request past its answer copies it out first (client reads come
// here too: the request parser copies what it keeps while a connection is paused, and the apps that
// hold a request, a blocked BLPOP or a MULTI queue, copy its bytes).

/** Bytes per slab. */
export const SLAB_SIZE = 64 * 1024;
/** Requests above this size get a buffer of their own (as Node's pool does above half its size). */
const MAX_CARVED = 4 * 1024;

let slab: ArrayBufferLike = new ArrayBuffer(0);
/** The whole of `slab` as one Buffer, for reserveTransient's ranges. */
let slabBuf: Buffer = Buffer.alloc(0);
let used = 0;

/** Where the bytes of the last reserveTransient(n) call start in the buffer it returned. */
export let reservedAt = 0;

/** Carves n <= MAX_CARVED bytes from the current slab (a new one when it is full); returns their offset. */
function carve(n: number): number {
  if (used + n > slab.byteLength) {
    slabBuf = Buffer.allocUnsafeSlow(SLAB_SIZE); // not zero-filled (new ArrayBuffer is)
    slab = slabBuf.buffer;
    used = 0;
  }
  const at = used;
  used += (n + 7) & ~7; // keep each buffer 8-byte aligned, as Node's pool does
  return at;
}

/** An uninitialized buffer of `n` bytes (as Buffer.allocUnsafe) that is dropped soon after use. */
export function allocTransient(n: number): Buffer {
  if (n > MAX_CARVED) return Buffer.allocUnsafe(n);
  const at = carve(n);
  return Buffer.from(slab, at, n);
}

/**
 * As allocTransient, without a Buffer object per call: `n` uninitialized bytes at
 * [reservedAt, reservedAt + n) of the returned buffer (a slab shared with other reservations), for
 * code that passes byte ranges on (sub-requests, merged replies).
 */
export function reserveTransient(n: number): Buffer {
  if (n > MAX_CARVED) {
    reservedAt = 0;
    return Buffer.allocUnsafe(n);
  }
  reservedAt = carve(n);
  return slabBuf;
}
