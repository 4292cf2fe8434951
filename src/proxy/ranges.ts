// A batch of byte ranges to write (replies to a client, requests to a server): parallel arrays, so
// that a reply or a sub-request passes from where it was read or built to the socket write without
// a Buffer view of its own. Writers copy small batches into one buffer (direct-write.ts); views are
// made only where a batch is handed to Node as buffers (big batches, TLS sockets).

/** bufs[i][starts[i], ends[i]) for the first `count` entries (count is kept by the owner). */
export interface Ranges {
  bufs: Array<Buffer | undefined>;
  starts: number[];
  ends: number[];
}

export function newRanges(): Ranges {
  return { bufs: [], starts: [], ends: [] };
}

/** The first `count` ranges of `r` as buffers (views). */
export function viewsOf(r: Ranges, count: number): Buffer[] {
  const views = new Array<Buffer>(count);
  for (let i = 0; i < count; i++) views[i] = r.bufs[i]!.subarray(r.starts[i], r.ends[i]); // hot path: i < count
  return views;
}
