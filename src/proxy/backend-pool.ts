// The proxy's backend connections: a few pipelined BackendConns per (server, db, protocol), created
// on first use. A session always maps to the same connection of a set, so its commands stay ordered.
import { BackendConn, type BackendOptions } from './backend-conn.js';

export class BackendPool {
  private readonly sets = new Map<string, BackendConn[]>();
  private readonly timer: NodeJS.Timeout;

  constructor(private readonly opts: BackendOptions, private readonly parallel: number) {
    this.timer = setInterval(() => {
      const now = Date.now();
      for (const set of this.sets.values()) for (const c of set) c.tick(now);
    }, 1000);
    this.timer.unref();
  }

  get(addr: string, db: number, proto: 2 | 3, sessionId: number): BackendConn {
    const key = `${addr}/${db}/${proto}`;
    let set = this.sets.get(key);
    if (set === undefined) {
      set = [];
      for (let i = 0; i < this.parallel; i++) set.push(new BackendConn(addr, db, proto, this.opts));
      this.sets.set(key, set);
    }
    return set[sessionId % set.length]!;
  }

  /** Closes the connections to servers no longer in `keep` (their queued requests get errors). */
  retain(keep: Set<string>): void {
    for (const [key, set] of this.sets) {
      if (!keep.has(key.slice(0, key.indexOf('/')))) {
        for (const c of set) c.close();
        this.sets.delete(key);
      }
    }
  }

  /** Per-server state summary for stats and /metrics. */
  states(): Array<{ addr: string; db: number; proto: number; state: string; inflight: number; sent: number; lastError: string }> {
    const out = [];
    for (const set of this.sets.values()) {
      for (const c of set) out.push({ addr: c.addr, db: c.db, proto: c.proto, state: c.state, inflight: c.inflight, sent: c.sent, lastError: c.lastError });
    }
    return out;
  }

  close(): void {
    clearInterval(this.timer);
    for (const set of this.sets.values()) for (const c of set) c.close();
    this.sets.clear();
  }
}
