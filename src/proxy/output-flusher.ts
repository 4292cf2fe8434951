// Batches client writes per I/O callback: a connection that got replies during the current callback
// registers once, and its replies are written together when the callback ends (one socket write
// per connection per callback instead of one per reply). The read callbacks of client and backend
// sockets mark their extent (io-scope.ts); replies made anywhere else (timers, promise
// continuations) are flushed by a microtask. One flusher per proxy (in its context), so two proxies
// in one process share nothing.
//
// writeBatch is how the request path writes a batch to a socket it cannot write directly (TLS;
// plain sockets go through direct-write.ts): Node's per-write cost (a Writable entry, a WriteWrap,
// an afterWrite tick) is paid per socket.write() call whatever its size, so small batches are copied
// into one buffer and written once; only batches too big to be worth copying go through cork/uncork
// (one writev).
import type { Writable } from 'node:stream';
import { IdleSweeper } from './idle-sweeper.js';
import { inIo, runAtIoEnd, type AtIoEnd } from './io-scope.js';

/** Batches up to this many bytes are copied into one buffer; bigger ones are written corked. */
export const COALESCE_MAX = 64 * 1024;

/** Writes `bufs` (`bytes` long in all) to `w` with one write() call when the batch is small. */
export function writeBatch(w: Pick<Writable, 'write' | 'cork' | 'uncork'>, bufs: readonly Buffer[], bytes: number): void {
  const only = bufs.length === 1 ? bufs[0] : undefined;
  if (only !== undefined) {
    w.write(only);
    return;
  }
  if (bytes <= COALESCE_MAX) {
    w.write(Buffer.concat(bufs, bytes));
    return;
  }
  w.cork();
  for (const b of bufs) w.write(b);
  w.uncork();
}

/** Something with replies waiting to be written. */
export interface Flushable {
  flushOut(): void;
}

export class OutputFlusher implements AtIoEnd {
  /** The idle-session sweep of this proxy's client connections (session_recv_timeout). */
  readonly idle = new IdleSweeper();
  /**
   * Connections to flush: list[0, count). Two lists take turns and keep their slots (emptying an
   * array with `length = 0` makes V8 drop its backing store, re-grown on the next turn).
   */
  private list: Array<Flushable | null> = [];
  private count = 0;
  private other: Array<Flushable | null> = [];
  readonly run = (): void => {
    const list = this.list,
      n = this.count;
    this.list = this.other;
    this.other = list;
    this.count = 0;
    for (let i = 0; i < n; i++) {
      const c = list[i] as Flushable;
      list[i] = null;
      c.flushOut();
    }
  };

  /**
   * Flushes `c` once the current read callback (beginIo) has returned, or else by a microtask. Call
   * only on its first reply of the turn. A microtask, not process.nextTick: Node runs microtasks at
   * the end of the callback from C++, while a tick also runs processTicksAndRejections (and its
   * promise-rejection bookkeeping, which allocates) in JS on every I/O callback.
   */
  schedule(c: Flushable): void {
    if (this.count === 0) {
      if (inIo()) runAtIoEnd(this);
      else queueMicrotask(this.run);
    }
    this.list[this.count++] = c;
  }
}
