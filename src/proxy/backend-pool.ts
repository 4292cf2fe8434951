// The proxy's backend connections: a few pipelined BackendConns per (server, db, protocol), created
// on first use. A session always maps to the same connection of a set, so its commands stay ordered.
import { BackendConn, type BackendOptions } from './backend-conn.js';
import { at } from '../util/at.js';

function closeWhenIdle(c: BackendConn, deadline: number): void {
  if (c.inflight === 0 || Date.now() >= deadline) {
    c.close();
    return;
  }
  setTimeout(() => closeWhenIdle(c, deadline), 50).unref();
}

export class BackendPool {
  private readonly sets = new Map<string, BackendConn[]>();
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly opts: BackendOptions,
    private readonly parallel: number,
  ) {
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
    return at(set, sessionId % set.length, 'backend connection');
  }

  /** Every open connection to `addr` (any db/protocol). */
  connsTo(addr: string): BackendConn[] {
    const out: BackendConn[] = [];
    for (const [key, set] of this.sets) if (key.slice(0, key.indexOf('/')) === addr) out.push(...set);
    return out;
  }

  /** Closes the connections to servers no longer in `keep` (their queued requests get errors). */
  retain(keep: Set<string>): void {
    for (const [key, set] of this.sets) {
      if (!keep.has(key.slice(0, key.indexOf('/')))) {
        this.sets.delete(key);
        // Requests still in flight (e.g. a migration step to a source that just lost its last slot)
        // get their replies first: close each connection once it is idle (at most 30 s later).
        for (const c of set) closeWhenIdle(c, Date.now() + 30000);
      }
    }
  }

  /** Per-server state summary for stats and /metrics. */
  states(): Array<{ addr: string; db: number; proto: number; state: string; inflight: number; sent: number; lastError: string }> {
    const out = [];
    for (const set of this.sets.values()) {
      for (const c of set)
        out.push({ addr: c.addr, db: c.db, proto: c.proto, state: c.state, inflight: c.inflight, sent: c.sent, lastError: c.lastError });
    }
    return out;
  }

  close(): void {
    clearInterval(this.timer);
    for (const set of this.sets.values()) for (const c of set) c.close();
    this.sets.clear();
  }
}
