// Batches client writes per I/O callback: a connection that got replies during the current callback
// registers once, and one process.nextTick writes every registered connection's replies (one socket
// write per connection per turn instead of one per reply). One flusher per proxy (in its context),
// so two proxies in one process share nothing.

/** Something with replies waiting to be written. */
export interface Flushable { flushOut(): void }

export class OutputFlusher {
  private list: Flushable[] = [];
  private readonly run = (): void => {
    const list = this.list;
    this.list = [];
    for (const c of list) c.flushOut();
  };

  /** Flushes `c` once the current I/O callback has returned. Call only on its first reply of the turn. */
  schedule(c: Flushable): void {
    if (this.list.length === 0) process.nextTick(this.run);
    this.list.push(c);
  }
}
