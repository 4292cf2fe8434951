// The proxy's request path without sockets: the reply queue (out-of-order completions, errors,
// break_on_failure), fan-out merges, the dispatcher (the production dispatch() on a fake session with
// a real context, router and command table), the router as a placement, split/merge, and the client
// connection's backpressure, partial writes and half-close on a fake socket.
// Expected duration: <1 s.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import net from 'node:net';
import { Router } from '../../src/proxy/router.js';
import { BackendPool } from '../../src/proxy/backend-pool.js';
import { ProxyStats } from '../../src/proxy/stats.js';
import { MigrationState } from '../../src/proxy/migrate-on-access.js';
import { OutputFlusher, writeBatch, COALESCE_MAX } from '../../src/proxy/output-flusher.js';
import { BackendConn } from '../../src/proxy/backend-conn.js';
import { defaultProxyConfig, type ProxyConfig } from '../../src/proxy/config.js';
import type { ProxyContext } from '../../src/proxy/context.js';
import type { SessionHost } from '../../src/proxy/session-host.js';
import type { ReplySink } from '../../src/proxy/backend-conn.js';
import type { CommandStats } from '../../src/proxy/stats.js';
import { Fanout, FanoutTo, ReplyQueue, type ReplyQueueOwner } from '../../src/proxy/reply-queue.js';
import { dispatch } from '../../src/proxy/dispatcher.js';
import { TransactionState } from '../../src/proxy/transaction.js';
import { planSplit } from '../../src/proxy/split.js';
import { ClientConnection, type ClientConnOwner } from '../../src/proxy/client-conn.js';
import { RequestParser, rawOf, type Request } from '../../src/resp/request-parser.js';
import { encodeCommand } from '../../src/resp/encode.js';
import { slotOf } from '../../src/slots/hash.js';
import { evenSlots } from '../../src/models/layout.js';
import { AclUsers } from '../../src/acl/users.js';
import type { AclUser } from '../../src/acl/user.js';
import { AppsRuntime } from '../../src/proxy/apps/runtime.js';
import { SessionApps } from '../../src/proxy/apps/session-apps.js';

/** A fan-out's merge of whole reply buffers (in production its parts hold ranges of backend reads). */
const mergeWhole = (f: Fanout, replies: Buffer[]): Buffer => {
  replies.forEach((buf, i) => f.setPart(i, f.partAddr(i), buf));
  return f.merge();
};
/** The parts of a fan-out, as sent: address and bytes (before any reply). */
const partsOf = (f: Fanout): Array<{ addr: string; bytes: string }> =>
  Array.from({ length: f.partCount }, (_, i) => ({ addr: f.partAddr(i), bytes: f.partBytes(i).toString('latin1') }));

const A = '10.0.0.1:6379',
  B = '10.0.0.2:6379';
const pools: Array<{ close(): void }> = [];
after(() => {
  for (const p of pools) p.close();
});

function makeCtx(config: Partial<ProxyConfig> = {}): ProxyContext {
  const router = new Router();
  router.fill(
    evenSlots([
      { id: 1, addr: A },
      { id: 2, addr: B },
    ]),
  );
  const pool = new BackendPool({ auth: '', connectTimeout: 1000, recvTimeout: 0, pingPeriod: 0, maxPipeline: 100, keepalive: 0 }, 1);
  pools.push(pool);
  const apps = new AppsRuntime(
    { auth: '', connectTimeout: 1000, recvTimeout: 0, pingPeriod: 0, maxPipeline: 100, keepalive: 0 },
    { maxPerServer: 10, maxIdle: 1, idleMs: 1000 },
    router,
    pool,
  );
  pools.push(apps);
  return {
    config: { ...defaultProxyConfig(), ...config },
    router,
    placement: router,
    pool,
    stats: new ProxyStats(),
    sessions: new Set(),
    online: true,
    worker: 0,
    migration: new MigrationState(),
    flusher: new OutputFlusher(),
    nextSessionId: 1,
    acl: new AclUsers(),
    apps,
  };
}

function req(...args: string[]): Request {
  const p = new RequestParser();
  p.feed(encodeCommand(args));
  const r = p.next();
  assert.ok(r);
  return r;
}

/** A key (prefix + n) whose slot the router gives to `addr`. */
function keyOn(ctx: ProxyContext, addr: string, prefix: string): string {
  for (let i = 0; i < 100000; i++) if (ctx.router.backendOf(slotOf(`${prefix}${i}`)) === addr) return `${prefix}${i}`;
  throw new Error('no key');
}

/** A session without a socket: a real ReplyQueue whose emitted replies are collected; forwards are recorded. */
class FakeSession implements SessionHost, ReplyQueueOwner {
  readonly id = 1;
  readonly remote = '127.0.0.1:1';
  readonly createdAt = Date.now();
  readonly lastActive = Date.now();
  readonly pausedFor = '' as const;
  name = '';
  libName = '';
  libVer = '';
  db = 0;
  proto: 2 | 3 = 2;
  authed = true;
  wroteOnce = false;
  replicaReadsOptIn = false;
  lastCommand = '';
  aclUser: AclUser | null;
  readonly tx = new TransactionState();
  readonly apps: SessionApps = new SessionApps(this);
  readonly out: string[] = [];
  readonly sent: Array<{ addr: string; raw: string; sink: ReplySink }> = [];
  drained = false;
  closed = false;
  private readonly q: ReplyQueue = new ReplyQueue(this);
  constructor(readonly ctx: ProxyContext) {
    this.aclUser = ctx.acl.initialUser() ?? null;
  }
  get queued(): number {
    return this.q.length;
  }
  isClosed(): boolean {
    return this.closed;
  }
  emit(buf: Buffer, start: number, end: number): void {
    this.out.push(buf.toString('latin1', start, end));
  }
  drain(): void {
    this.drained = true;
  }
  afterReplies(): void {
    /* nothing to resume */
  }
  close(): void {
    this.closed = true;
  }
  reply(cmd: CommandStats | null, r: Buffer): void {
    this.q.reply(cmd, r);
  }
  defer(cmd: CommandStats | null, r: Request | null = null): ReplySink {
    return this.q.defer(cmd, r);
  }
  forward(addr: string, raw: Buffer, sink: ReplySink): void {
    this.sent.push({ addr, raw: raw.toString('latin1'), sink });
  }
  forwardRequest(addr: string, req: Request, cmd: CommandStats | null): void {
    this.forward(addr, rawOf(req), this.defer(cmd, req));
  }
  fanout(f: Fanout, sink: ReplySink): void {
    f.start(sink);
    // As a backend connection does: each part's reply goes back to the fan-out tagged with its index.
    for (let i = 0; i < f.partCount; i++) this.forward(f.partAddr(i), f.partBytes(i), { onReply: (r) => f.onReply(r, i) });
  }
  hold(task: () => Promise<void>, _keepReading = false): void {
    void task();
  }
  push(frame: Buffer): void {
    this.out.push(frame.toString('latin1'));
  }
  pendingOutput(): number {
    return 0;
  }
  resetConns(): void {
    /* no backend connections */
  }
}

const R = (s: string): Buffer => Buffer.from(s, 'latin1');

test('reply queue: replies completed out of order leave in request order', () => {
  const s = new FakeSession(makeCtx());
  const cmd = s.ctx.stats.command('get');
  const p1 = s.defer(cmd, null),
    p2 = s.defer(cmd, null),
    p3 = s.defer(cmd, null);
  p3.onReply(R('$1\r\nc\r\n'));
  p2.onReply(R('$1\r\nb\r\n'));
  assert.deepEqual(s.out, [], 'nothing leaves before the first reply');
  s.reply(cmd, R('+OK\r\n')); // known at once, but behind three pending requests
  assert.equal(s.queued, 4);
  p1.onReply(R('-ERR x\r\n'));
  assert.deepEqual(s.out, ['-ERR x\r\n', '$1\r\nb\r\n', '$1\r\nc\r\n', '+OK\r\n']);
  assert.equal(s.queued, 0);
  assert.equal(cmd.calls, 4);
  assert.equal(cmd.errors, 1);
  assert.equal(s.ctx.stats.opsTotal, 4);
  assert.equal(s.ctx.stats.opsErrors, 1);
});

test('reply queue: protocol-level replies are not counted; a closed session emits nothing', () => {
  const s = new FakeSession(makeCtx());
  s.reply(null, R('-ERR Protocol error: x\r\n'));
  assert.equal(s.ctx.stats.opsTotal, 0);
  const p = s.defer(null, null);
  s.closed = true;
  p.onReply(R('+OK\r\n'));
  assert.deepEqual(s.out, ['-ERR Protocol error: x\r\n']);
});

test('reply queue: break_on_failure drains the session at the first error reply of a command', () => {
  const s = new FakeSession(makeCtx({ breakOnFailure: true }));
  s.reply(s.ctx.stats.command('get'), R('$1\r\na\r\n'));
  assert.equal(s.drained, false);
  s.reply(s.ctx.stats.command('get'), R('-ERR boom\r\n'));
  assert.equal(s.drained, true);
});

test('Fanout merges the parts in part order whatever order they answer in; a failing merge becomes an error reply', () => {
  const got: string[] = [];
  const sink: ReplySink = { onReply: (r) => got.push(r.toString()) };
  const m = new FanoutTo(['a:1', 'b:1', 'c:1'], R('x'), (rs) => Buffer.from(rs.map((r) => r.toString()).join('|')));
  assert.deepEqual(
    partsOf(m).map((p) => p.addr),
    ['a:1', 'b:1', 'c:1'],
  );
  m.start(sink);
  m.onReply(R('c'), 2);
  m.onReply(R('a'), 0);
  assert.deepEqual(got, []);
  m.onReply(R('b'), 1);
  assert.deepEqual(got, ['a|b|c']);
  assert.throws(() => m.start(sink), /started twice/);
  const bad = new FanoutTo(['a:1'], R('x'), () => {
    throw new Error('shape');
  });
  bad.start(sink);
  bad.onReply(R('x'), 0);
  assert.equal(got[1], '-ERR proxy could not merge replies: shape\r\n');
  // No parts: the merge of nothing, at once.
  new FanoutTo([], R('x'), (rs) => Buffer.from(`n=${rs.length}`)).start(sink);
  assert.equal(got[2], 'n=0');
});

test('dispatcher: keyed requests go to the backend of their slot, original bytes, and count on the slot', () => {
  const ctx = makeCtx();
  const s = new FakeSession(ctx);
  const ka = keyOn(ctx, A, 'a'),
    kb = keyOn(ctx, B, 'b');
  dispatch(s, req('GET', ka));
  dispatch(s, req('SET', kb, 'v'));
  assert.deepEqual(
    s.sent.map((x) => [x.addr, x.raw]),
    [
      [A, encodeCommand(['GET', ka]).toString('latin1')],
      [B, encodeCommand(['SET', kb, 'v']).toString('latin1')],
    ],
  );
  assert.equal(ctx.stats.slotOps[slotOf(ka)], 1);
  assert.equal(ctx.stats.slotOps[slotOf(kb)], 1);
  assert.equal(s.wroteOnce, true, 'SET is not read-only');
  s.sent[1]!.sink.onReply(R('+OK\r\n'));
  s.sent[0]!.sink.onReply(R('$1\r\nx\r\n'));
  assert.deepEqual(s.out, ['$1\r\nx\r\n', '+OK\r\n']);
});

test('dispatcher: checks in Redis order — unknown, unknown subcommand, arity, NOAUTH, policy', () => {
  const s = new FakeSession(makeCtx());
  dispatch(s, req('NOSUCH', 'a'));
  dispatch(s, req('OBJECT', 'nosub', 'k'));
  dispatch(s, req('GET'));
  dispatch(s, req('SWAPDB', '0', '1'));
  dispatch(s, req('GET', 'a', 'b'));
  s.authed = false;
  dispatch(s, req('GET', 'k'));
  dispatch(s, req('GET'));
  dispatch(s, req('PING'));
  assert.deepEqual(s.out, [
    "-ERR unknown command 'NOSUCH', with args beginning with: 'a' \r\n",
    "-ERR unknown subcommand 'nosub'. Try OBJECT HELP.\r\n",
    "-ERR wrong number of arguments for 'get' command\r\n",
    "-ERR command 'SWAPDB' is not allowed: SWAPDB cannot be atomic across the groups of a sharded cluster\r\n",
    "-ERR wrong number of arguments for 'get' command\r\n",
    '-NOAUTH Authentication required.\r\n',
    "-ERR wrong number of arguments for 'get' command\r\n",
    '-NOAUTH Authentication required.\r\n',
  ]);
  assert.equal(s.sent.length, 0, 'nothing reached a backend');
  assert.equal(s.ctx.stats.commands.has('nosuch'), false, 'unknown commands are not counted as commands');
});

test('dispatcher: CROSSSLOT for keys in two slots; offline proxy refuses routed commands', () => {
  const ctx = makeCtx();
  const s = new FakeSession(ctx);
  dispatch(s, req('RENAME', 'a', 'b'));
  dispatch(s, req('RENAME', '{x}a', '{x}b'));
  assert.match(s.out[0]!, /^-CROSSSLOT Keys in request don't hash to the same slot \(command 'RENAME'\)/);
  assert.equal(s.sent.length, 1);
  s.sent[0]!.sink.onReply(R('+OK\r\n'));
  ctx.online = false;
  dispatch(s, req('GET', 'a'));
  dispatch(s, req('MGET', 'a', 'b'));
  dispatch(s, req('PING'));
  dispatch(s, req('ECHO', 'local'));
  // PING fails while offline: it is the front doors' health check (src/frontdoor/README.md); other local commands answer.
  assert.deepEqual(s.out.slice(1), [
    '+OK\r\n',
    '-ERR proxy is not online yet (no slot table)\r\n',
    '-ERR proxy is not online yet (no slot table)\r\n',
    '-LOADING proxy has no slot table yet\r\n',
    '$5\r\nlocal\r\n',
  ]);
});

test('dispatcher: MGET across two backends is split into one MGET per backend and merged in key order', () => {
  const ctx = makeCtx();
  const s = new FakeSession(ctx);
  const a1 = keyOn(ctx, A, 'x'),
    b1 = keyOn(ctx, B, 'y'),
    a2 = keyOn(ctx, A, 'z');
  dispatch(s, req('MGET', a1, b1, a2));
  assert.equal(s.sent.length, 2);
  const toA = s.sent.find((x) => x.addr === A)!,
    toB = s.sent.find((x) => x.addr === B)!;
  assert.equal(toA.raw, encodeCommand(['MGET', a1, a2]).toString('latin1'));
  assert.equal(toB.raw, encodeCommand(['MGET', b1]).toString('latin1'));
  toB.sink.onReply(R('*1\r\n$2\r\nvb\r\n'));
  toA.sink.onReply(R('*2\r\n$3\r\nva1\r\n$-1\r\n'));
  assert.deepEqual(s.out, ['*3\r\n$3\r\nva1\r\n$2\r\nvb\r\n$-1\r\n']);
  for (const k of [a1, b1, a2]) assert.equal(ctx.stats.slotOps[slotOf(k)]! >= 1, true);
  // An error from one part is the reply.
  dispatch(s, req('DEL', a1, b1));
  s.sent[2]!.sink.onReply(R(':1\r\n'));
  s.sent[3]!.sink.onReply(R('-ERR down\r\n'));
  assert.equal(s.out[1], '-ERR down\r\n');
  // MSET with an odd number of arguments is an arity error, not split.
  dispatch(s, req('MSET', a1, '1', b1));
  assert.equal(s.out[2], "-ERR wrong number of arguments for 'mset' command\r\n");
});

test('dispatcher: a transaction with a refused command never runs piecemeal; nothing inside it is forwarded', () => {
  const s = new FakeSession(makeCtx());
  dispatch(s, req('MULTI'));
  dispatch(s, req('INCR', 'n'));
  dispatch(s, req('NOSUCHCOMMAND'));
  dispatch(s, req('INCR', 'n'));
  dispatch(s, req('EXEC'));
  dispatch(s, req('INCR', 'n'));
  assert.deepEqual(s.out.slice(0, 2), ['+OK\r\n', '+QUEUED\r\n']);
  assert.match(s.out[2]!, /^-ERR unknown command 'NOSUCHCOMMAND'/);
  assert.equal(s.out[3], '+QUEUED\r\n');
  assert.equal(s.out[4], '-EXECABORT Transaction discarded because of previous errors.\r\n');
  assert.equal(s.sent.length, 1, 'only the INCR after EXEC reached a backend');
});

test('dispatcher: local commands answer through the typed handler map', () => {
  const s = new FakeSession(makeCtx());
  dispatch(s, req('PING'));
  dispatch(s, req('ECHO', 'hi'));
  dispatch(s, req('SELECT', '3'));
  dispatch(s, req('CLIENT', 'SETNAME', 'n1'));
  dispatch(s, req('CLIENT', 'GETNAME'));
  dispatch(s, req('COMMAND', 'COUNT'));
  assert.deepEqual(s.out.slice(0, 5), ['+PONG\r\n', '$2\r\nhi\r\n', '+OK\r\n', '+OK\r\n', '$2\r\nn1\r\n']);
  assert.match(s.out[5]!, /^:\d+\r\n$/);
  assert.equal(s.db, 3);
  // DBSIZE fans out to every master and sums.
  dispatch(s, req('DBSIZE'));
  assert.deepEqual(s.sent.map((x) => x.addr).sort(), [A, B]);
  s.sent[0]!.sink.onReply(R(':2\r\n'));
  s.sent[1]!.sink.onReply(R(':5\r\n'));
  assert.equal(s.out[6], ':7\r\n');
});

test('router as placement: unit = slot, backend per slot, masters, unsettled slots', () => {
  const r = new Router();
  assert.equal(r.backendOf(5), '');
  r.fill([
    { id: 5, backend_addr: A },
    { id: 6, backend_addr: B, migrate_from: A },
    { id: 7, backend_addr: B, locked: true },
  ]);
  const k = Buffer.from('xx{foo}yy');
  assert.equal(r.unitOf(k, 0, k.length), slotOf('foo'));
  assert.equal(r.backendOf(5), A);
  assert.deepEqual(r.masters().sort(), [A, B]);
  assert.equal(r.unsettled, 2);
  assert.equal(r.isUnsettled(6), true);
  assert.equal(r.isLocked(7), true);
  const g = r.generation(6);
  r.fill([{ id: 6, backend_addr: B }]);
  assert.equal(r.unsettled, 1);
  assert.equal(r.generation(6), g + 1);
  assert.equal(r.servedSlots(), 3);
});

test('split: one backend -> forward unchanged; several -> sub-requests and merges (sum, mset, mget)', () => {
  const ctx = makeCtx();
  const a1 = keyOn(ctx, A, 'p'),
    a2 = keyOn(ctx, A, 'q'),
    b1 = keyOn(ctx, B, 'r');
  assert.equal(planSplit('mget', req('MGET', a1, a2), ctx.placement), A);
  const sum = planSplit('sum', req('EXISTS', a1, b1, a2), ctx.placement);
  assert.ok(typeof sum === 'object' && !Buffer.isBuffer(sum));
  assert.deepEqual(
    partsOf(sum).map((p) => [p.addr, p.bytes]),
    [
      [ctx.router.backendOf(slotOf(a1)), encodeCommand(['EXISTS', a1, a2]).toString('latin1')],
      [B, encodeCommand(['EXISTS', b1]).toString('latin1')],
    ],
  );
  assert.equal(mergeWhole(sum, [R(':2\r\n'), R(':1\r\n')]).toString(), ':3\r\n');
  const mset = planSplit('mset', req('MSET', a1, '1', b1, '2'), ctx.placement);
  assert.ok(typeof mset === 'object' && !Buffer.isBuffer(mset));
  assert.deepEqual(
    partsOf(mset).map((p) => p.bytes),
    [encodeCommand(['MSET', a1, '1']).toString('latin1'), encodeCommand(['MSET', b1, '2']).toString('latin1')],
  );
  assert.equal(mergeWhole(mset, [R('+OK\r\n'), R('+OK\r\n')]).toString(), '+OK\r\n');
  assert.equal(mergeWhole(mset, [R('+OK\r\n'), R('-ERR oom\r\n')]).toString(), '-ERR oom\r\n');
  const mget = planSplit('mget', req('MGET', b1, a1), ctx.placement);
  assert.ok(typeof mget === 'object' && !Buffer.isBuffer(mget));
  assert.throws(() => mergeWhole(mget, [R('*1\r\n$1\r\nx\r\n'), R(':1\r\n')]), /unexpected MGET reply/);
  // Parts answered as ranges of bigger reads (other replies around them), in any order: the merge
  // reads exactly each range, in the client's key order.
  const got: string[] = [];
  const ranged = planSplit('mget', req('MGET', b1, a1, b1), ctx.placement);
  assert.ok(typeof ranged === 'object' && !Buffer.isBuffer(ranged));
  ranged.start({ onReply: (r) => got.push(r.toString()) });
  const readA = Buffer.from(':7\r\n*1\r\n$2\r\naa\r\n+OK\r\n');
  const readB = Buffer.from('*2\r\n$2\r\nb1\r\n$-1\r\n$3\r\nnot\r\n');
  const partOf = (addr: string): number => partsOf(ranged).findIndex((p) => p.addr === addr);
  ranged.onReplyAt(readA, 4, 4 + '*1\r\n$2\r\naa\r\n'.length, partOf(ctx.router.backendOf(slotOf(a1))));
  assert.deepEqual(got, []);
  ranged.onReplyAt(readB, 0, '*2\r\n$2\r\nb1\r\n$-1\r\n'.length, partOf(B));
  assert.deepEqual(got, ['*3\r\n$2\r\nb1\r\n$2\r\naa\r\n$-1\r\n']);
  // An error part inside a range is the reply, cut at its end.
  const failed = planSplit('mset', req('MSET', a1, '1', b1, '2'), ctx.placement);
  assert.ok(typeof failed === 'object' && !Buffer.isBuffer(failed));
  const errs: string[] = [];
  failed.start({ onReply: (r) => errs.push(r.toString()) });
  const readC = Buffer.from('+OK\r\n-ERR oom\r\n:1\r\n');
  failed.onReplyAt(readC, 0, 5, 0);
  failed.onReplyAt(readC, 5, 15, 1);
  assert.deepEqual(errs, ['-ERR oom\r\n']);
  // A slot without a backend: error reply.
  ctx.router.fill([{ id: slotOf(b1) }]);
  const none = planSplit('mget', req('MGET', a1, b1), ctx.placement);
  assert.ok(Buffer.isBuffer(none));
  assert.match(none.toString(), /is not served by any group/);
});

test('split sub-requests: for random key lists over two backends (RESP and inline), each part is exactly its keys in client order', () => {
  const ctx = makeCtx();
  let seed = 7;
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  const parse = (bytes: string): Request => {
    const p = new RequestParser();
    p.feed(Buffer.from(bytes, 'latin1'));
    const r = p.next();
    assert.ok(r);
    return r;
  };
  for (let round = 0; round < 400; round++) {
    const kind = (['mget', 'mset', 'sum'] as const)[round % 3]!;
    const name = kind === 'mget' ? 'MGET' : kind === 'mset' ? 'MSET' : 'DEL';
    const n = 2 + rand(12);
    // Keys of lengths 1..120 (so runs are copied by loop and by set()), some hash-tagged, values of any length.
    const keys = Array.from({ length: n }, (_, i) => (rand(4) === 0 ? `{t${rand(3)}}` : '') + `k${i}:` + 'x'.repeat(rand(120)));
    const values = keys.map((_, i) => 'v'.repeat(rand(3) === 0 ? 100 : rand(5)) + String(i));
    const args = kind === 'mset' ? keys.flatMap((k, i) => [k, values[i]!]) : keys;
    const inline = round % 5 === 0 && args.every((a) => !a.includes(' '));
    const r = inline ? parse(`${name} ${args.join(' ')}\r\n`) : parse(encodeCommand([name, ...args]).toString('latin1'));
    const plan = planSplit(kind, r, ctx.placement);
    const byAddr = new Map<string, string[]>();
    keys.forEach((k, i) => {
      const addr = ctx.router.backendOf(slotOf(k));
      const list = byAddr.get(addr) ?? [];
      list.push(...(kind === 'mset' ? [k, values[i]!] : [k]));
      byAddr.set(addr, list);
    });
    if (byAddr.size === 1) {
      assert.equal(plan, [...byAddr.keys()][0]);
      continue;
    }
    assert.ok(typeof plan === 'object' && !Buffer.isBuffer(plan));
    assert.deepEqual(
      partsOf(plan).map((p) => [p.addr, p.bytes]),
      [...byAddr].map(([addr, list]) => [addr, encodeCommand([name, ...list]).toString('latin1')]),
      `round ${round}`,
    );
  }
});

/** A socket stand-in: records writes, lets the test set writableLength and emit events. */
class FakeSocket extends EventEmitter {
  written: string[] = [];
  writableLength = 0;
  paused = false;
  ended = false;
  destroyed = false;
  corked = 0;
  setNoDelay(): this {
    return this;
  }
  setKeepAlive(): this {
    return this;
  }
  setTimeout(): this {
    return this;
  }
  pause(): this {
    this.paused = true;
    return this;
  }
  resume(): this {
    this.paused = false;
    return this;
  }
  cork(): void {
    this.corked++;
  }
  uncork(): void {
    /* flushed by write() already */
  }
  write(b: Buffer): boolean {
    this.written.push(b.toString('latin1'));
    return true;
  }
  end(cb?: () => void): this {
    this.ended = true;
    cb?.();
    return this;
  }
  destroy(): this {
    this.destroyed = true;
    return this;
  }
}

/** Owner whose requests stay pending until the test answers them, oldest first (an in-order queue in miniature). */
class PendingOwner implements ClientConnOwner {
  reqs: Request[] = [];
  /** Replies in request order; null = not answered yet. */
  private order: Array<string | null> = [];
  closedCount = 0;
  conn!: ClientConnection;
  get queued(): number {
    return this.order.length;
  }
  onRequest(r: Request): void {
    this.reqs.push(r);
    this.order.push(null);
  }
  onProtocolError(reply: Buffer): void {
    this.order.push(reply.toString('latin1'));
    this.flush();
  }
  onClosed(): void {
    this.closedCount++;
  }
  /** Answers the oldest unanswered request. */
  answer(text: string): void {
    this.reqs.shift();
    this.order[this.order.indexOf(null)] = text;
    this.flush();
  }
  private flush(): void {
    while (this.order.length > 0 && this.order[0] !== null) this.conn.write(R(this.order.shift()!));
    this.conn.afterReplies();
  }
}

async function tick(): Promise<void> {
  await new Promise((r) => process.nextTick(r));
}

function makeConn(config: Partial<ProxyConfig>): { sock: FakeSocket; owner: PendingOwner; conn: ClientConnection } {
  const sock = new FakeSocket();
  const owner = new PendingOwner();
  const cfg = { ...defaultProxyConfig(), ...config };
  owner.conn = new ClientConnection(sock as unknown as net.Socket, owner, cfg, new ProxyStats(), new OutputFlusher());
  return { sock, owner, conn: owner.conn };
}

test('client connection: pipeline limit pauses reading, resumes at half; replies of one turn are written together', async () => {
  const { sock, owner, conn } = makeConn({ sessionMaxPipeline: 4 });
  sock.emit('data', Buffer.concat(Array.from({ length: 10 }, (_, i) => encodeCommand(['GET', `k${i}`]))));
  assert.equal(owner.reqs.length, 4, 'parsing stops at the pipeline limit');
  assert.equal(conn.pausedFor, 'pipeline');
  assert.equal(sock.paused, true);
  owner.answer('+1\r\n');
  assert.equal(owner.reqs.length, 3, 'still above half the limit: not resumed');
  assert.equal(conn.pausedFor, 'pipeline');
  owner.answer('+2\r\n'); // 2 queued = half the limit: resumes and parses up to the limit again
  assert.equal(owner.reqs.length, 4);
  assert.equal(conn.pausedFor, 'pipeline');
  owner.answer('+3\r\n');
  assert.equal(owner.reqs.length, 3);
  await tick();
  assert.deepEqual(sock.written, ['+1\r\n+2\r\n+3\r\n'], 'several small replies: one write() call with all of them');
  assert.equal(sock.corked, 0, 'small batches are copied into one buffer, not corked');
});

test('client connection: output buffer over the limit pauses reading until the socket drains (partial writes)', async () => {
  const { sock, owner, conn } = makeConn({ sessionMaxOutbuf: 100 });
  sock.emit('data', encodeCommand(['GET', 'a']));
  sock.writableLength = 500; // the kernel took only part of what was written so far
  owner.answer('$3\r\nabc\r\n');
  await tick();
  assert.equal(conn.pausedFor, 'outbuf');
  sock.emit('data', encodeCommand(['GET', 'b']));
  assert.equal(owner.reqs.length, 0, 'bytes received while paused are not dispatched');
  sock.writableLength = 80; // above half the limit: still paused
  sock.emit('drain');
  assert.equal(conn.pausedFor, 'outbuf');
  sock.writableLength = 0;
  sock.emit('drain');
  assert.equal(conn.pausedFor, '');
  assert.equal(owner.reqs.length, 1, 'the held request is dispatched on resume');
});

test('client connection: EOF runs every complete request, writes every reply, then ends', async () => {
  const { sock, owner } = makeConn({ sessionMaxPipeline: 2 });
  sock.emit(
    'data',
    Buffer.concat([encodeCommand(['GET', 'a']), encodeCommand(['GET', 'b']), encodeCommand(['GET', 'c']), Buffer.from('*1\r\n$3\r\nGE')]),
  );
  sock.emit('end');
  assert.equal(sock.ended, false);
  owner.answer('+a\r\n');
  owner.answer('+b\r\n');
  assert.equal(owner.reqs.length, 1, 'the third request was read after the pause');
  assert.equal(sock.ended, false);
  owner.answer('+c\r\n');
  assert.equal(sock.ended, true, 'ended once the last complete request was answered; the cut one is dropped');
  assert.equal(sock.written.join(''), '+a\r\n+b\r\n+c\r\n', 'flushed before the end');
  assert.equal(owner.closedCount, 1);
});

test('client connection: holds keep later requests back until the task settles, and nest', async () => {
  const { sock, owner, conn } = makeConn({});
  let release1!: () => void, release2!: () => void;
  conn.hold(
    () =>
      new Promise<void>((r) => {
        release1 = r;
      }),
  );
  conn.hold(
    () =>
      new Promise<void>((r) => {
        release2 = r;
      }),
  );
  sock.emit('data', encodeCommand(['GET', 'x']));
  assert.equal(owner.reqs.length, 0);
  assert.equal(conn.pausedFor, 'migrate');
  release1();
  await new Promise((r) => setImmediate(r));
  assert.equal(owner.reqs.length, 0, 'one hold still open');
  release2();
  await new Promise((r) => setImmediate(r));
  assert.equal(owner.reqs.length, 1);
  assert.equal(sock.paused, false);
});

test('client connection: a protocol error is answered after earlier replies, then the connection ends', async () => {
  const { sock, owner } = makeConn({});
  sock.emit('data', Buffer.concat([encodeCommand(['GET', 'a']), Buffer.from('*x\r\n')]));
  assert.equal(owner.reqs.length, 1);
  assert.equal(sock.ended, false, 'waits for the earlier reply');
  owner.answer('+a\r\n');
  assert.equal(sock.ended, true);
  assert.equal(sock.written.join(''), '+a\r\n-ERR Protocol error: invalid multibulk length\r\n');
});

// ---- the write batching and the backend read path (static read buffer)

test('writeBatch: one buffer is written as is; small batches in one write() call; big batches corked, in order', () => {
  const one = R('+OK\r\n');
  const s1 = new FakeSocket();
  writeBatch(s1, [one], one.length);
  assert.deepEqual(s1.written, ['+OK\r\n']);
  assert.equal(s1.corked, 0);
  const s2 = new FakeSocket();
  writeBatch(s2, [R('+a\r\n'), R('+b\r\n'), R('+c\r\n')], 12);
  assert.deepEqual(s2.written, ['+a\r\n+b\r\n+c\r\n'], 'copied into one buffer');
  assert.equal(s2.corked, 0);
  const big = [Buffer.alloc(COALESCE_MAX, 97), R('+tail\r\n')];
  const s3 = new FakeSocket();
  writeBatch(s3, big, COALESCE_MAX + 7);
  assert.equal(s3.corked, 1, 'a batch over COALESCE_MAX is written corked (one writev), not copied');
  assert.equal(s3.written.length, 2);
  assert.equal(s3.written[1], '+tail\r\n');
});

test('client connection + reply queue: backends answering in reverse order still reach the client in request order, in one write', async () => {
  const { sock, owner, conn } = makeConn({});
  const q = new ReplyQueue({
    ctx: makeCtx(),
    remote: 'x',
    name: '',
    isClosed: () => conn.isClosed(),
    emit: (b, s, e) => conn.write(b, s, e),
    drain: () => conn.drain(),
    afterReplies: () => conn.afterReplies(),
  });
  sock.emit('data', Buffer.concat(Array.from({ length: 5 }, (_, i) => encodeCommand(['GET', `k${i}`]))));
  assert.equal(owner.reqs.length, 5);
  const slots = owner.reqs.map(() => q.defer(null, null));
  for (let i = slots.length - 1; i >= 1; i--) slots[i]!.onReply(R(`+${i}\r\n`));
  await tick();
  assert.deepEqual(sock.written, [], 'nothing is written while the first reply is missing');
  assert.equal(conn.pendingOutput(), 0);
  slots[0]!.onReply(R('+0\r\n'));
  assert.equal(conn.pendingOutput(), 20, 'queued reply bytes count as pending output before the flush');
  await tick();
  assert.deepEqual(sock.written, ['+0\r\n+1\r\n+2\r\n+3\r\n+4\r\n']);
  assert.equal(conn.pendingOutput(), 0);
});

/** A TCP server on 127.0.0.1 that records what it receives and lets the test write raw bytes back. */
async function rawServer(): Promise<{
  port: number;
  received: () => string;
  send: (b: Buffer) => Promise<void>;
  close: () => Promise<void>;
}> {
  let peer: net.Socket | null = null;
  let got = '';
  const srv = net.createServer((s) => {
    peer = s;
    s.on('data', (d: Buffer) => {
      got += d.toString('latin1');
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const addr = srv.address();
  assert.ok(addr !== null && typeof addr === 'object');
  return {
    port: addr.port,
    received: () => got,
    // Written alone and awaited, so that each piece reaches the proxy side in its own read.
    send: (b) =>
      new Promise<void>((r, j) => {
        if (peer === null) j(new Error('no peer'));
        else peer.write(b, () => r());
      }),
    close: () =>
      new Promise<void>((r) => {
        peer?.destroy();
        srv.close(() => r());
      }),
  };
}

async function until(what: string, cond: () => boolean, ms = 10000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** A backend connection to the raw server on `port` (no AUTH, PINGs or timeouts). */
const testBackend = (port: number): BackendConn =>
  new BackendConn(`127.0.0.1:${port}`, 0, 2, {
    auth: '',
    connectTimeout: 5000,
    recvTimeout: 0,
    pingPeriod: 0,
    maxPipeline: 1000,
    keepalive: 0,
  });

test('backend connection: requests (whole buffers and ranges of shared ones, batches over the coalescing size) arrive unchanged and in order; replies cut anywhere and kept across reads stay intact', async () => {
  const srv = await rawServer();
  const conn = testBackend(srv.port);
  try {
    const n = 300;
    const got: Array<Buffer | null> = new Array<Buffer | null>(n).fill(null);
    const reqs: Buffer[] = [];
    // Every third request is a range of a buffer holding other bytes around it (as split sub-requests
    // lie in a shared slab); request 150 is big enough to take its turn's batch over COALESCE_MAX.
    const shared = Buffer.alloc(256 * 1024, 0x78);
    let at = 0;
    for (let i = 0; i < n; i++) {
      const r = encodeCommand(i === 150 ? ['SET', `key${i}`, 'v'.repeat(COALESCE_MAX)] : ['GET', `key${i}`]);
      reqs.push(r);
      const sink = {
        onReply: (b: Buffer): void => {
          got[i] = b;
        },
      };
      if (i % 3 === 0) {
        at += 7;
        r.copy(shared, at);
        conn.sendRange(shared, at, at + r.length, sink);
        at += r.length;
      } else conn.send(r, sink);
    }
    const expected = Buffer.concat(reqs).toString('latin1');
    await until('every request at the server', () => srv.received().length >= expected.length);
    assert.equal(srv.received(), expected, 'request bytes arrive unchanged and in order');
    // Replies: values of growing size, the stream cut at irregular points, each piece its own read.
    const replies = Array.from({ length: n }, (_, i) => R(`$${i + 1}\r\n${String.fromCharCode(97 + (i % 26)).repeat(i + 1)}\r\n`));
    const stream = Buffer.concat(replies);
    let pos = 0,
      cut = 1;
    while (pos < stream.length) {
      const end = Math.min(stream.length, pos + cut);
      await srv.send(stream.subarray(pos, end));
      pos = end;
      cut = ((cut * 7 + 3) % 997) + 1;
    }
    await until('every reply', () => got.every((b) => b !== null));
    for (let i = 0; i < n; i++)
      assert.equal(
        got[i]!.toString('latin1'),
        replies[i]!.toString('latin1'),
        `reply ${i} intact after later reads reused the read buffer`,
      );
    assert.equal(conn.inflight, 0);
  } finally {
    conn.close();
    await srv.close();
  }
});

test('backend connection: each reply reaches its sink with the tag it was sent with (a fan-out tells its parts apart by it), also the errors of a lost or closed connection', async () => {
  const srv = await rawServer();
  const conn = testBackend(srv.port);
  try {
    const got: Array<[number, string]> = [];
    // One sink for every request, as a fan-out is; ranges and whole buffers alike.
    const sink: ReplySink = {
      onReply: (b, tag) => got.push([tag ?? -1, b.toString('latin1')]),
      onReplyAt: (b, s, e, tag) => got.push([tag ?? -1, b.toString('latin1', s, e)]),
    };
    const reqs = [0, 1, 2, 3].map((i) => encodeCommand(['GET', `k${i}`]));
    conn.sendRange(reqs[0]!, 0, reqs[0]!.length, sink, 7);
    conn.sendRange(reqs[1]!, 0, reqs[1]!.length, sink, 0);
    conn.sendRange(reqs[2]!, 0, reqs[2]!.length, sink, 3);
    conn.sendRange(reqs[3]!, 0, reqs[3]!.length, sink, 12);
    const expected = Buffer.concat(reqs).toString('latin1');
    await until('every request at the server', () => srv.received().length >= expected.length);
    await srv.send(R('$1\r\na\r\n$1\r\nb\r\n'));
    await until('two replies', () => got.length === 2);
    assert.deepEqual(got, [
      [7, '$1\r\na\r\n'],
      [0, '$1\r\nb\r\n'],
    ]);
    // The link dies with two requests in flight: each gets the error with its own tag.
    await srv.close();
    await until('the failed requests', () => got.length === 4);
    assert.deepEqual(
      got.slice(2).map(([t]) => t),
      [3, 12],
    );
    for (const [, r] of got.slice(2)) assert.match(r, /^-ERR backend .* connection lost/);
    conn.close();
    conn.sendRange(reqs[0]!, 0, reqs[0]!.length, sink, 5);
    assert.deepEqual(got[4], [5, `-ERR backend 127.0.0.1:${srv.port} connection closed\r\n`]);
  } finally {
    conn.close();
    await srv.close();
  }
});

test('split: MGET merge walks each backend reply in the client key order (values of any size, nulls, RESP3 nulls); a short reply is an error', () => {
  const ctx = makeCtx();
  const keys = [keyOn(ctx, B, 'm'), keyOn(ctx, A, 'n'), keyOn(ctx, B, 'o'), keyOn(ctx, A, 'p'), keyOn(ctx, A, 'q')];
  const plan = planSplit('mget', req('MGET', ...keys), ctx.placement);
  assert.ok(typeof plan === 'object' && !Buffer.isBuffer(plan));
  assert.deepEqual(
    partsOf(plan).map((p) => p.addr),
    [B, A],
    'one part per backend, in first-seen order',
  );
  assert.equal(partsOf(plan)[0]!.bytes, encodeCommand(['MGET', keys[0]!, keys[2]!]).toString('latin1'));
  assert.equal(partsOf(plan)[1]!.bytes, encodeCommand(['MGET', keys[1]!, keys[3]!, keys[4]!]).toString('latin1'));
  const big = 'v'.repeat(123456);
  const fromB = R(`*2\r\n$${big.length}\r\n${big}\r\n_\r\n`);
  const fromA = R('*3\r\n$1\r\na\r\n$-1\r\n$0\r\n\r\n');
  assert.equal(mergeWhole(plan, [fromB, fromA]).toString('latin1'), `*5\r\n$${big.length}\r\n${big}\r\n$1\r\na\r\n_\r\n$-1\r\n$0\r\n\r\n`);
  assert.throws(() => mergeWhole(plan, [fromB, R('*2\r\n$1\r\na\r\n$-1\r\n')]), /unexpected MGET reply/, 'fewer values than keys');
  // Sub-request headers for long arguments (multi-digit lengths) are written correctly.
  const longKey = `{${keyOn(ctx, A, 'r')}}${'k'.repeat(1000)}`; // hash tag: same slot as the short key
  const p2 = planSplit('mset', req('MSET', longKey, 'x'.repeat(12345), keys[0]!, ''), ctx.placement);
  assert.ok(typeof p2 === 'object' && !Buffer.isBuffer(p2));
  const raws = partsOf(p2)
    .map((p) => p.bytes)
    .sort();
  const want = [encodeCommand(['MSET', longKey, 'x'.repeat(12345)]), encodeCommand(['MSET', keys[0]!, ''])].map((b) =>
    b.toString('latin1'),
  );
  assert.deepEqual(raws, want.sort());
});

test('client connection: session_recv_timeout closes an idle client through the per-proxy sweep, never one waiting for a reply', async () => {
  const flusher = new OutputFlusher();
  const cfg = { ...defaultProxyConfig(), sessionRecvTimeout: 60 };
  const idleSock = new FakeSocket(),
    busySock = new FakeSocket();
  const idleOwner = new PendingOwner(),
    busyOwner = new PendingOwner();
  idleOwner.conn = new ClientConnection(idleSock as unknown as net.Socket, idleOwner, cfg, new ProxyStats(), flusher);
  busyOwner.conn = new ClientConnection(busySock as unknown as net.Socket, busyOwner, cfg, new ProxyStats(), flusher);
  assert.equal(flusher.idle.size, 2);
  busySock.emit('data', encodeCommand(['GET', 'slow'])); // stays unanswered for now
  await until('the idle client closed', () => idleSock.destroyed, 5000);
  assert.equal(idleOwner.closedCount, 1);
  assert.equal(flusher.idle.size, 1, 'a closed connection leaves the sweep');
  // Several sweep intervals later the busy one is still open: its request has no reply yet.
  const since = Date.now();
  await until('three sweep intervals', () => Date.now() - since > 100);
  assert.equal(busySock.destroyed, false);
  busyOwner.answer('+late\r\n');
  await until('the busy client closed once answered and idle', () => busySock.destroyed, 5000);
  assert.equal(busySock.written.join(''), '+late\r\n');
  assert.equal(flusher.idle.size, 0);
});
