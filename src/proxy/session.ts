// One client connection: parses its requests, routes each by slot (or answers it locally, splits it,
// or refuses it), and writes the replies back strictly in request order. Stops reading (never
// disconnects) when the client has too much queued or reads its replies too slowly.
import type net from 'node:net';
import { RequestParser, ProtocolError, type Request } from '../resp/request-parser.js';
import { errorReply } from '../resp/encode.js';
import { isErrorReply } from '../resp/reply-scanner.js';
import { slotOfRange } from '../slots/hash.js';
import { lookupCommand, unknownCommandError, unknownSubcommandError } from '../commands/table.js';
import { keyIndexes, checkArity } from '../commands/keys.js';
import type { CommandSpec } from '../commands/keys.js';
import type { BackendConn, ReplySink } from './backend-conn.js';
import type { ProxyContext, SessionInfo } from './context.js';
import type { CommandStats } from './stats.js';
import { planSplit } from './split.js';
import { handleLocal } from './local-commands.js';
import { canRunInPlace, goneKeys, prepareKeys, runInPlace } from './migrate-on-access.js';
import { SessionApps } from './apps/session-apps.js';
import type { AppsHost } from './apps/host.js';
import { xreadBlockIndex } from '../commands/keys.js';

/** A request waiting for its reply, in the session's ordered queue. */
class Pending implements ReplySink {
  reply: Buffer | null = null;
  /** The request, kept for the slow log. */
  req: Request | null = null;
  closeAfter = false;
  constructor(readonly session: Session, readonly cmd: CommandStats | null, readonly started: number) {}
  onReply(reply: Buffer): void {
    this.reply = reply;
    this.session.complete(this);
  }
}

/** Collects the replies of several sub-requests, then merges them into one reply. */
class MultiPending implements ReplySink {
  private readonly replies: Buffer[];
  private left: number;
  constructor(private readonly parent: Pending, n: number, private readonly merge: (r: Buffer[]) => Buffer) {
    this.replies = new Array<Buffer>(n);
    this.left = n;
  }
  part(i: number): ReplySink { return new PartSink(this, i); }
  onReply(): void { /* parts report through part(i) */ }
  /** Stores part `i`'s reply; merges once every part has answered. */
  got(i: number, r: Buffer): void {
    this.replies[i] = r;
    if (--this.left === 0) this.done();
  }
  private done(): void {
    let out: Buffer;
    try { out = this.merge(this.replies); } catch (e) { out = errorReply(`ERR proxy could not merge replies: ${(e as Error).message}`); }
    this.parent.onReply(out);
  }
}

class PartSink implements ReplySink {
  constructor(private readonly multi: MultiPending, private readonly i: number) {}
  onReply(r: Buffer): void { this.multi.got(this.i, r); }
}

let nextSessionId = 1;

/** Sessions with replies to flush once the current I/O callback returns (one tick for all of them). */
let toFlush: Session[] = [];
function flushSessions(): void {
  const list = toFlush;
  toFlush = [];
  for (const s of list) s.flushOut();
}
function scheduleFlush(s: Session): void {
  if (toFlush.length === 0) process.nextTick(flushSessions);
  toFlush.push(s);
}

/** Commands a client may send before it has authenticated. */
const NO_AUTH = new Set(['auth', 'hello', 'quit', 'reset']);

export class Session implements SessionInfo, AppsHost {
  readonly id = nextSessionId++;
  readonly createdAt = Date.now();
  readonly remote: string;
  name = '';
  libName = '';
  libVer = '';
  db = 0;
  proto: 2 | 3 = 2;
  authed: boolean;
  lastCommand = '';
  lastActive = Date.now();
  /** Set by the first command that is not read-only: replica reads stop for this session. */
  wroteOnce = false;
  /** Set by READONLY: replica reads even after this session wrote (it accepts reading stale data). */
  replicaReadsOptIn = false;
  private readonly parser: RequestParser;
  private readonly queue: Pending[] = [];
  private qhead = 0;
  private readonly conns = new Map<string, BackendConn>();
  private closed = false;
  private quitting = false;
  private finished = false;
  private pausedFor: '' | 'pipeline' | 'outbuf' | 'migrate' = '';
  /** Replies ready to write, flushed together once the current I/O callback is done. */
  private out: Buffer[] = [];
  /** The request being handled (recorded by defer for the slow log). */
  private currentReq: Request | null = null;
  /** Transactions, blocking calls, pub/sub (src/proxy/apps/). */
  readonly apps: SessionApps = new SessionApps(this);

  constructor(private readonly socket: net.Socket, readonly ctx: ProxyContext) {
    this.remote = `${socket.remoteAddress ?? '?'}:${socket.remotePort ?? 0}`;
    const c = ctx.config;
    this.authed = c.sessionAuth === '';
    this.parser = new RequestParser({ maxBulkLen: c.maxBulkLen, maxArrayLen: c.maxArrayLen, maxInlineLen: c.maxInlineLen });
    socket.setNoDelay(true);
    if (c.sessionKeepalive > 0) socket.setKeepAlive(true, c.sessionKeepalive);
    if (c.sessionRecvTimeout > 0) socket.setTimeout(c.sessionRecvTimeout, () => { if (this.queued === 0) this.close(); });
    socket.on('data', (chunk) => this.onData(chunk));
    socket.on('drain', () => this.maybeResume());
    socket.on('error', () => this.close());
    socket.on('close', () => this.close());
    ctx.stats.sessionsTotal++;
    ctx.stats.sessionsAlive++;
    ctx.sessions.add(this);
  }

  get queued(): number { return this.queue.length - this.qhead; }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.apps.close();
    this.ctx.stats.sessionsAlive--;
    this.ctx.sessions.delete(this);
    this.socket.destroy();
  }

  /** Ends the session after the replies queued so far have been written; later input is ignored. */
  drain(): void {
    if (this.quitting) return;
    this.quitting = true;
    if (this.pausedFor !== '') { this.pausedFor = ''; this.socket.resume(); }
    if (this.queued === 0) this.finish();
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.flushOut();
    this.socket.end(() => this.close());
  }

  private onData(chunk: Buffer): void {
    this.ctx.stats.netInputBytes += chunk.length;
    if (this.quitting) return;
    this.lastActive = Date.now();
    this.parser.feed(chunk);
    this.drainParser();
  }

  private drainParser(): void {
    while (!this.closed && !this.quitting && this.pausedFor === '') {
      let req: Request | null;
      try {
        req = this.parser.next();
      } catch (e) {
        if (!(e instanceof ProtocolError)) throw e;
        this.ctx.stats.protocolErrors++;
        this.reply(null, errorReply(`ERR ${e.message}`));
        this.drain();
        return;
      }
      if (req === null) return;
      this.handle(req);
      if (this.queued >= this.ctx.config.sessionMaxPipeline) this.pause('pipeline');
      else if (this.socket.writableLength > this.ctx.config.sessionMaxOutbuf) this.pause('outbuf');
    }
  }

  private pause(why: 'pipeline' | 'outbuf' | 'migrate'): void {
    if (this.pausedFor !== '') return;
    this.pausedFor = why;
    this.socket.pause();
  }

  private maybeResume(): void {
    if (this.pausedFor === '' || this.pausedFor === 'migrate' || this.closed || this.quitting) return;
    if (this.queued > this.ctx.config.sessionMaxPipeline / 2) return;
    if (this.socket.writableLength > this.ctx.config.sessionMaxOutbuf / 2) return;
    this.pausedFor = '';
    this.drainParser();
    if (this.pausedFor === '' && !this.quitting && !this.closed) this.socket.resume();
  }

  /** Queues a reply that is already known (or null stats for protocol-level replies). */
  reply(cmd: CommandStats | null, r: Buffer): void {
    const p = new Pending(this, cmd, 0);
    this.queue.push(p);
    p.onReply(r);
  }

  /** Creates a queued request whose reply will arrive later. */
  defer(cmd: CommandStats | null): Pending {
    const p = new Pending(this, cmd, performance.now());
    p.req = this.currentReq;
    this.queue.push(p);
    return p;
  }

  /** Called when any queued request has its reply: writes every finished reply at the head. */
  complete(_p: Pending): void {
    if (this.closed) return;
    const q = this.queue;
    while (this.qhead < q.length) {
      const head = q[this.qhead]!;
      const r = head.reply;
      if (r === null) break;
      q[this.qhead++] = undefined as unknown as Pending;
      const isErr = isErrorReply(r);
      if (head.cmd !== null) {
        const us = head.started > 0 ? (performance.now() - head.started) * 1000 : 0;
        head.cmd.record(us, isErr);
        if (us >= this.ctx.config.slowlogSlowerThan && this.ctx.config.slowlogSlowerThan >= 0 && head.req !== null) this.ctx.stats.slowlog.add(head.req, us, this);
        this.ctx.stats.opsTotal++;
        if (isErr) this.ctx.stats.opsErrors++;
      }
      if (this.out.length === 0) scheduleFlush(this);
      this.out.push(r);
      if (head.closeAfter || (isErr && this.ctx.config.breakOnFailure && head.cmd !== null)) { this.drain(); break; }
    }
    if (this.qhead === q.length) { q.length = 0; this.qhead = 0; }
    else if (this.qhead > 4096) { q.splice(0, this.qhead); this.qhead = 0; }
    if (this.quitting && this.queued === 0) { this.finish(); return; }
    if (this.pausedFor !== '') this.maybeResume();
  }

  /** Writes the replies collected during this I/O callback in one go (one syscall per session). */
  flushOut(): void {
    const out = this.out;
    this.out = [];
    if (this.closed || out.length === 0) return;
    if (out.length === 1) this.socket.write(out[0]!);
    else {
      this.socket.cork();
      for (const b of out) this.socket.write(b);
      this.socket.uncork();
    }
    if (this.socket.writableLength > this.ctx.config.sessionMaxOutbuf) this.pause('outbuf');
  }

  /** The backend connection this session uses for `addr` (same one every time, for ordering). */
  conn(addr: string): BackendConn {
    let c = this.conns.get(addr);
    if (c === undefined || c.state === 'closed') {
      c = this.ctx.pool.get(addr, this.db, this.proto, this.id);
      this.conns.set(addr, c);
    }
    return c;
  }

  /** Forget cached backend connections (after SELECT or HELLO changed db/protocol). */
  resetConns(): void { this.conns.clear(); }

  /** Sends `raw` to `addr`; its reply completes `p`. */
  forward(addr: string, raw: Buffer, p: ReplySink): void {
    this.conn(addr).send(raw, p);
  }

  /** Sends one sub-request per address and completes `p` with `merge` of all replies. */
  fanout(parts: Array<{ addr: string; raw: Buffer }>, p: Pending, merge: (replies: Buffer[]) => Buffer): void {
    if (parts.length === 0) { p.onReply(merge([])); return; }
    const m = new MultiPending(p, parts.length, merge);
    parts.forEach((part, i) => this.forward(part.addr, part.raw, m.part(i)));
  }

  markQuit(p: Pending): void { p.closeAfter = true; }

  /** AppsHost: dispatch none of the later requests until `task` settles. */
  hold(task: () => Promise<void>): void {
    this.pause('migrate');
    void task().catch(() => { /* the task answers its own request */ }).then(() => {
      if (this.closed || this.pausedFor !== 'migrate') return;
      this.pausedFor = '';
      this.drainParser();
      if (this.pausedFor === '' && !this.quitting && !this.closed) this.socket.resume();
    });
  }

  /** AppsHost: an out-of-band frame (pub/sub message), written between complete replies. */
  push(frame: Buffer): void {
    if (this.closed) return;
    if (this.out.length === 0) scheduleFlush(this);
    this.out.push(frame);
  }

  /** AppsHost: bytes not yet taken by the client's socket (plus those waiting for this tick's flush). */
  pendingOutput(): number {
    let n = this.socket.writableLength;
    for (const b of this.out) n += b.length;
    return n;
  }

  isClosed(): boolean { return this.closed; }

  /**
   * Rare path (a slot of the request is migrating or locked): hold this session's later requests,
   * move the request's keys from the migration source to the target, then route the request by the
   * table again. `argIdx` are the argument indexes of the keys.
   */
  private viaMigration(req: Request, argIdx: number[], spec?: CommandSpec): void {
    this.pause('migrate');
    const c = this.ctx.config;
    const router = this.ctx.router;
    const version = router.version;
    const move = (): Promise<Buffer | null> => prepareKeys(this, router, req, argIdx, {
      auth: c.productAuth, timeoutMs: 5000, bigKeyElements: c.migrationBigKeyElements, lockWaitMs: c.migrationLockWait,
    });
    // A one-key request first tries to run where its key still is (see runInPlace).
    const inPlace = spec !== undefined && argIdx.length === 1 && this.proto === 2 && canRunInPlace(spec, req.argc);
    const step = async (): Promise<Buffer | null | { ran: Buffer }> => {
      if (!inPlace) return move();
      const r = await runInPlace(this, router, req, argIdx[0]!);
      if (r === 'gone') return null;
      if (r === 'locked') return move();
      return { ran: r };
    };
    void step().catch((e: Error) => errorReply(`ERR proxy migration step failed: ${e.message}`)).then((res) => {
      if (this.closed) return;
      this.pausedFor = '';
      if (res !== null && !Buffer.isBuffer(res)) {
        this.reply(this.ctx.stats.command(spec!.name), res.ran);
      } else if (res !== null) {
        const s = lookupCommand(req);
        this.reply(s ? this.ctx.stats.command(s.name) : null, res);
      } else {
        this.handle(req, version);
      }
      if (this.pausedFor !== '') return;
      this.drainParser();
      if (this.pausedFor === '' && !this.quitting && !this.closed) this.socket.resume();
    });
  }

  /** True when some key (argument indexes `argIdx`) of the request is in a migrating or locked slot. */
  private touchesUnsettled(req: Request, argIdx: readonly number[]): boolean {
    const { buf, offs } = req;
    const router = this.ctx.router;
    for (const i of argIdx) if (router.isUnsettled(slotOfRange(buf, offs[2 * i]!, offs[2 * i + 1]!))) return true;
    return false;
  }

  /** `premigrated` = the router version at which this request's keys were moved (-1: not yet). */
  private handle(req: Request, premigrated = -1): void {
    this.currentReq = req;
    const { buf, offs } = req;
    const ctx = this.ctx;
    if (offs[1]! - offs[0]! > ctx.config.maxCommandLen) {
      this.reply(null, errorReply(`ERR command name longer than ${ctx.config.maxCommandLen} bytes`));
      return;
    }
    if (this.apps.active && this.apps.intercept(req, null)) return;
    const spec = lookupCommand(req);
    if (spec === undefined) { this.reply(null, errorReply(unknownCommandError(req))); return; }
    if (spec.isContainer && req.argc >= 2) { this.reply(null, errorReply(unknownSubcommandError(req))); return; }
    const cmd = ctx.stats.command(spec.name);
    this.lastCommand = spec.name;
    if (!checkArity(spec, req.argc)) { this.reply(cmd, errorReply(spec.arityError)); return; }
    if (!this.authed && !NO_AUTH.has(spec.name)) { this.reply(cmd, errorReply('NOAUTH Authentication required.')); return; }
    const policy = spec.policy;
    if (!spec.readonly && policy.kind !== 'local' && policy.kind !== 'denied') this.wroteOnce = true;
    switch (policy.kind) {
      case 'denied':
        this.reply(cmd, errorReply(spec.deniedError));
        return;
      case 'local':
        handleLocal(this, spec, req, cmd);
        return;
      case 'app':
        this.apps.dispatch(spec, req, cmd);
        return;
      case 'split': {
        if (!ctx.online) { this.reply(cmd, errorReply('ERR proxy is not online yet (no slot table)')); return; }
        if (policy.merge === 'mset' && (req.argc - 1) % 2 !== 0) {
          this.reply(cmd, errorReply(`ERR wrong number of arguments for '${spec.name}' command`));
          return;
        }
        if (ctx.router.unsettled !== 0 && premigrated !== ctx.router.version) {
          const step = policy.merge === 'mset' ? 2 : 1;
          const idx: number[] = [];
          for (let i = 1; i < req.argc; i += step) idx.push(i);
          if (this.touchesUnsettled(req, idx) && !goneKeys.allGone(ctx.router, req, idx)) { this.viaMigration(req, idx); return; }
        }
        const plan = planSplit(policy.merge, req, ctx.router);
        if (typeof plan === 'string') this.forward(plan, req.raw, this.defer(cmd));
        else if (Buffer.isBuffer(plan)) this.reply(cmd, plan);
        else this.fanout(plan.parts, this.defer(cmd), plan.merge);
        return;
      }
      case 'keyed': {
        if (!ctx.online) { this.reply(cmd, errorReply('ERR proxy is not online yet (no slot table)')); return; }
        if ((spec.name === 'xread' || spec.name === 'xreadgroup') && xreadBlockIndex(spec, req) >= 0) { this.apps.blocking(spec, req, cmd); return; }
        const kr = keyIndexes(spec, req);
        if (!kr.ok) { this.reply(cmd, errorReply(kr.error)); return; }
        const keys = kr.keys;
        let slot = 0;
        if (keys.length > 0) {
          const k0 = keys[0]!;
          slot = slotOfRange(buf, offs[2 * k0]!, offs[2 * k0 + 1]!);
          for (let j = 1; j < keys.length; j++) {
            const k = keys[j]!;
            if (slotOfRange(buf, offs[2 * k]!, offs[2 * k + 1]!) !== slot) {
              this.reply(cmd, errorReply(`CROSSSLOT Keys in request don't hash to the same slot (command '${spec.display}'); use a {hash tag} to keep them together`));
              return;
            }
          }
        }
        if (ctx.router.unsettled !== 0 && premigrated !== ctx.router.version && ctx.router.isUnsettled(slot)
          && !goneKeys.allGone(ctx.router, req, keys)) {
          this.viaMigration(req, keys, spec);
          return;
        }
        const addr = ctx.router.backendOf(slot);
        if (addr === '') { this.reply(cmd, errorReply(`ERR slot ${slot} is not served by any group (no backend in the slot table)`)); return; }
        // Replica reads (replica-reads.ts): only read-only commands, only before the session's first other command.
        const rr = ctx.replicas;
        if (rr !== undefined && rr.enabled && spec.readonly && (!this.wroteOnce || this.replicaReadsOptIn) && rr.count !== 0) {
          this.forward(rr.pick(slot, addr, ctx.pool), req.raw, this.defer(cmd));
          return;
        }
        this.forward(addr, req.raw, this.defer(cmd));
        return;
      }
    }
  }
}

export type { Pending };


export type { CommandSpec };
