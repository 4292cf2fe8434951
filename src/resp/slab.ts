// Short-lived buffers of the request path (copies of backend replies, MGET/MSET sub-requests,
// merged replies) carved from 64 KiB slabs instead of Node's 8 KiB Buffer pool. Every slab is one
// ArrayBuffer that the young-generation GC must sweep once it dies, and at pipeline 1 that sweep was
// a third of each scavenge's pause (which every request in flight waits out: the p99). Only for
// buffers dropped once the request is answered: a small buffer kept for long keeps its whole slab
// alive, so whoever keeps a reply past its request copies it out first. Client reads stay in Node's
// pool: a request can be held for long (a blocked BLPOP, a MULTI queue) with the chunk it came in.

/** Bytes per slab. */
export const SLAB_SIZE = 64 * 1024;
/** Requests above this size get a buffer of their own (as Node's pool does above half its size). */
const MAX_CARVED = 4 * 1024;

let slab: ArrayBuffer = new ArrayBuffer(0);
let used = 0;

/** An uninitialized buffer of `n` bytes (as Buffer.allocUnsafe) that is dropped soon after use. */
export function allocTransient(n: number): Buffer {
  if (n > MAX_CARVED) return Buffer.allocUnsafe(n);
  if (used + n > slab.byteLength) {
    slab = new ArrayBuffer(SLAB_SIZE);
    used = 0;
  }
  const b = Buffer.from(slab, used, n);
  used += (n + 7) & ~7; // keep each buffer 8-byte aligned, as Node's pool does
  return b;
}
