// Borrowed backend connections (DESIGN.md §8): a blocking command, a WATCH/MULTI/EXEC and similar
// session-bound work need a backend connection of their own, because their effect is tied to the
// connection (a blocked client, a watched key) and must not stall or leak into the pipelined
// connections other sessions share. This pool hands out dedicated BackendConns per (server, db,
// protocol), bounded per server, keeps a few idle ones for reuse, and knows each one's backend
// client id (for CLIENT UNBLOCK). A borrower gives the connection back when done (`giveBack`) or
// closes it (`discard`) when its client went away mid-call, so the backend never completes a pop
// for a client that left.
import { BackendConn, type BackendOptions } from './backend-conn.js';
import { encodeCommand } from '../resp/encode.js';
import { integerOf } from '../resp/reply-scanner.js';

/** One dedicated connection, lent to one session at a time. */
export class BorrowedConn {
  /** The backend's CLIENT ID of this connection (-1 until known). */
  clientId = -1;
  /** When it was last given back (idle reaping). */
  idleSince = 0;
  /** Closed by discard() (counted once). */
  discarded = false;
  constructor(
    readonly key: string,
    readonly conn: BackendConn,
  ) {}
  get addr(): string {
    return this.conn.addr;
  }
  get usable(): boolean {
    return this.conn.state !== 'closed' && this.conn.state !== 'down';
  }
  send(raw: Buffer, onReply: (r: Buffer) => void): void {
    this.conn.send(raw, { onReply });
  }
}

export interface BorrowedPoolOptions {
  /** Most borrowed connections (in use + idle) per server address. */
  maxPerServer: number;
  /** Idle connections kept per (server, db, protocol). */
  maxIdle: number;
  /** Idle connections older than this are closed. */
  idleMs: number;
}

const CLIENT_ID = encodeCommand(['CLIENT', 'ID']);

export class BorrowedPool {
  private readonly idle = new Map<string, BorrowedConn[]>();
  /** Connections open per server address (in use + idle). */
  private readonly open = new Map<string, number>();
  private readonly timer: NodeJS.Timeout;
  /** Borrow counters for stats. */
  borrowedTotal = 0;
  refused = 0;

  constructor(
    private readonly backend: BackendOptions,
    private readonly opts: BorrowedPoolOptions,
  ) {
    this.timer = setInterval(() => this.reap(Date.now()), 1000);
    this.timer.unref();
  }

  /** Connections open to `addr` (in use + idle). */
  openTo(addr: string): number {
    return this.open.get(addr) ?? 0;
  }

  inUse(): number {
    let n = 0;
    for (const v of this.open.values()) n += v;
    for (const l of this.idle.values()) n -= l.length;
    return n;
  }

  /** A dedicated connection, or an error text when the per-server bound is reached. */
  borrow(addr: string, db: number, proto: 2 | 3): BorrowedConn | string {
    const key = `${addr}/${db}/${proto}`;
    const list = this.idle.get(key);
    while (list !== undefined && list.length > 0) {
      const c = list.pop()!;
      if (c.usable) {
        this.borrowedTotal++;
        return c;
      }
      this.discard(c);
    }
    const n = this.openTo(addr);
    if (n >= this.opts.maxPerServer) {
      this.refused++;
      return `ERR too many dedicated connections to backend ${addr} (backend_max_borrowed = ${this.opts.maxPerServer}); retry later`;
    }
    this.open.set(addr, n + 1);
    // No onTrouble: a dedicated connection's loss is reported to its borrower, not to the HA watcher.
    const conn = new BackendConn(addr, db, proto, { ...this.backend, onTrouble: undefined });
    const c = new BorrowedConn(key, conn);
    c.send(CLIENT_ID, (r) => {
      c.clientId = integerOf(r) ?? -1;
    });
    this.borrowedTotal++;
    return c;
  }

  /** Returns a connection whose last reply has arrived and that carries no session state. */
  giveBack(c: BorrowedConn): void {
    if (c.discarded) return;
    if (!c.usable || c.conn.inflight > 0) {
      this.discard(c);
      return;
    }
    let list = this.idle.get(c.key);
    if (list === undefined) {
      list = [];
      this.idle.set(c.key, list);
    }
    if (list.length >= this.opts.maxIdle) {
      this.discard(c);
      return;
    }
    c.idleSince = Date.now();
    list.push(c);
  }

  /** Closes a connection (its client left mid-call, or its state is unknown). */
  discard(c: BorrowedConn): void {
    c.conn.close();
    if (c.discarded) return;
    c.discarded = true;
    this.forget(c);
  }

  private forget(c: BorrowedConn): void {
    const n = this.openTo(c.addr) - 1;
    if (n <= 0) this.open.delete(c.addr);
    else this.open.set(c.addr, n);
  }

  private reap(now: number): void {
    for (const [key, list] of this.idle) {
      const keep = list.filter((c) => c.usable && now - c.idleSince < this.opts.idleMs);
      for (const c of list) if (!keep.includes(c)) this.discard(c);
      if (keep.length === 0) this.idle.delete(key);
      else this.idle.set(key, keep);
    }
  }

  close(): void {
    clearInterval(this.timer);
    for (const list of this.idle.values()) for (const c of list) c.conn.close();
    this.idle.clear();
    this.open.clear();
  }
}
