// One client session: the per-client state (db, protocol, auth, name, transaction) and the wiring of
// its three parts — the client connection (client-conn.ts: socket, parsing, backpressure, EOF), the
// dispatcher (dispatcher.ts: what to do with each request) and the in-order reply queue
// (reply-queue.ts). It also owns the session's choice of backend connection per server, so that all
// of its requests to one server travel on one pipelined connection and stay ordered.
import type net from 'node:net';
import type { Request } from '../resp/request-parser.js';
import type { BackendConn, ReplySink } from './backend-conn.js';
import type { ProxyContext } from './context.js';
import type { CommandStats } from './stats.js';
import type { SessionHost } from './session-host.js';
import { ClientConnection, type ClientConnOwner, type PauseReason } from './client-conn.js';
import { ReplyQueue, type Fanout, type ReplyQueueOwner } from './reply-queue.js';
import { dispatch } from './dispatcher.js';
import { TransactionState } from './transaction.js';
import type { AclUser } from '../acl/user.js';
import { SessionApps } from './apps/session-apps.js';

export class Session implements SessionHost, ClientConnOwner, ReplyQueueOwner {
  readonly id: number;
  readonly createdAt = Date.now();
  readonly remote: string;
  name = '';
  libName = '';
  libVer = '';
  db = 0;
  proto: 2 | 3 = 2;
  authed: boolean;
  aclUser: AclUser | null;
  lastCommand = '';
  wroteOnce = false;
  replicaReadsOptIn = false;
  /** MULTI ... EXEC state (a refused MULTI puts the session in Redis's failed-transaction state). */
  readonly tx = new TransactionState();
  /** Real transactions, blocking calls, pub/sub (src/proxy/apps/). */
  readonly apps: SessionApps = new SessionApps(this);
  private readonly conn: ClientConnection;
  private readonly replies: ReplyQueue;
  private readonly conns = new Map<string, BackendConn>();

  constructor(
    socket: net.Socket,
    readonly ctx: ProxyContext,
  ) {
    this.id = ctx.nextSessionId++;
    this.remote = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`;
    this.aclUser = ctx.acl.initialUser() ?? null;
    this.authed = this.aclUser !== null;
    this.replies = new ReplyQueue(this);
    this.conn = new ClientConnection(socket, this, ctx.config, ctx.stats, ctx.flusher);
    ctx.stats.sessionsTotal++;
    ctx.stats.sessionsAlive++;
    ctx.sessions.add(this);
  }

  get queued(): number {
    return this.replies.length;
  }
  get subscribed(): boolean {
    return this.apps.subs.subscribed;
  }
  get pausedFor(): PauseReason {
    return this.conn.pausedFor;
  }
  get lastActive(): number {
    return this.conn.lastActive;
  }

  // ---- ClientConnOwner

  onRequest(req: Request): void {
    dispatch(this, req);
  }

  onProtocolError(reply: Buffer): void {
    this.replies.reply(null, reply);
  }

  onEof(): void {
    this.apps.onClientEof();
  }

  onClosed(): void {
    this.apps.close();
    this.ctx.stats.sessionsAlive--;
    this.ctx.sessions.delete(this);
  }

  // ---- ReplyQueueOwner

  emit(buf: Buffer, start: number, end: number): void {
    this.conn.write(buf, start, end);
  }
  afterReplies(): void {
    this.conn.afterReplies();
  }

  // ---- SessionHost

  close(): void {
    this.conn.close();
  }
  drain(): void {
    this.conn.drain();
  }
  isClosed(): boolean {
    return this.conn.isClosed();
  }
  hold(task: () => Promise<void>, keepReading = false): void {
    this.conn.hold(task, keepReading);
  }
  reply(cmd: CommandStats | null, r: Buffer): void {
    this.replies.reply(cmd, r);
  }
  defer(cmd: CommandStats | null, req: Request | null = null): ReplySink {
    return this.replies.defer(cmd, req);
  }
  /** An out-of-band frame (e.g. a pub/sub message), written with this turn's replies. */
  push(frame: Buffer): void {
    if (!this.conn.isClosed()) this.conn.write(frame);
  }
  /** Reply bytes not yet taken by the client's socket. */
  pendingOutput(): number {
    return this.conn.pendingOutput();
  }

  /** The backend connection this session uses for `addr` (same one every time, for ordering). */
  private backend(addr: string): BackendConn {
    let c = this.conns.get(addr);
    if (c === undefined || c.state === 'closed') {
      c = this.ctx.pool.get(addr, this.db, this.proto, this.id);
      this.conns.set(addr, c);
    }
    return c;
  }

  resetConns(): void {
    this.conns.clear();
  }

  forward(addr: string, raw: Buffer, sink: ReplySink): void {
    this.forwardRange(addr, raw, 0, raw.length, sink);
  }

  forwardRequest(addr: string, req: Request, cmd: CommandStats | null): void {
    this.forwardRange(addr, req.buf, req.rawStart, req.rawEnd, this.replies.defer(cmd, req));
  }

  private forwardRange(addr: string, buf: Buffer, start: number, end: number, sink: ReplySink, tag = 0): void {
    const place = this.ctx.placement;
    this.backend(addr).sendRange(buf, start, end, place.track === undefined ? sink : place.track(addr, end - start, sink), tag);
  }

  fanout(f: Fanout, sink: ReplySink): void {
    f.start(sink);
    // Each part's range is its sub-request until it is sent; its reply comes back tagged with its index.
    for (let i = 0; i < f.partCount; i++) this.forwardRange(f.partAddr(i), f.partBuf(i), f.partStart(i), f.partEnd(i), f, i);
  }
}
