// Closes client connections idle longer than session_recv_timeout, with one coarse per-proxy timer
// instead of a Node socket timeout per connection. A socket timeout is refreshed (re-inserted into
// Node's timer list, plus a clock read) on every read and every write — twice per request at
// pipeline 1 — while the sweep costs nothing per request and one pass over the connections per
// interval. Owned by the proxy's OutputFlusher (one per proxy, shared by its client connections).

/** A connection the sweeper watches. */
export interface IdleWatched {
  /** Last time (Date.now()) bytes were received from or written to the client. */
  lastIo(): number;
  /** Idle past the limit: the connection decides (it closes only when no request is waiting). */
  onIdle(): void;
}

export class IdleSweeper {
  private readonly watched = new Set<IdleWatched>();
  private timer: NodeJS.Timeout | null = null;
  private limit = 0;

  /** Starts watching `c`, to be closed after `timeoutMs` without I/O. */
  add(c: IdleWatched, timeoutMs: number): void {
    this.watched.add(c);
    if (this.timer === null || timeoutMs !== this.limit) {
      if (this.timer !== null) clearInterval(this.timer);
      this.limit = timeoutMs;
      // Closes within the limit plus one interval (at most a second late, as Codis's sweep).
      this.timer = setInterval(() => this.sweep(), Math.max(10, Math.min(1000, Math.floor(timeoutMs / 2))));
      this.timer.unref();
    }
  }

  delete(c: IdleWatched): void {
    this.watched.delete(c);
    if (this.watched.size === 0 && this.timer !== null) {
      clearInterval(this.timer);
      this.timer = null;
    }
  }

  get size(): number {
    return this.watched.size;
  }

  private sweep(): void {
    const deadline = Date.now() - this.limit;
    for (const c of this.watched) if (c.lastIo() <= deadline) c.onIdle();
  }
}
