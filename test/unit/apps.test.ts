// The application families without sockets: transaction state on a fake host (queueing, EXECABORT,
// cross-slot refusal, nothing sent before EXEC), blocking-command timeouts and the slot-move
// unblocker, pub/sub frames (RESP2/RESP3), SCAN cursors, CRC16 of the cluster façade, the
// borrowed-connection bound. Expected duration: <1 s.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Router } from '../../src/proxy/router.js';
import { BackendPool } from '../../src/proxy/backend-pool.js';
import { ProxyStats, type CommandStats } from '../../src/proxy/stats.js';
import { MigrationState } from '../../src/proxy/migrate-on-access.js';
import { OutputFlusher } from '../../src/proxy/output-flusher.js';
import { defaultProxyConfig } from '../../src/proxy/config.js';
import type { ProxyContext } from '../../src/proxy/context.js';
import type { ReplySink } from '../../src/proxy/backend-conn.js';
import { AppsRuntime } from '../../src/proxy/apps/runtime.js';
import type { AppsHost } from '../../src/proxy/apps/host.js';
import { TxState } from '../../src/proxy/apps/transactions.js';
import { isTimeoutReply, timeoutArg, timeoutMs, unblockMoved } from '../../src/proxy/apps/blocking.js';
import { confirmFrame, messageFrame } from '../../src/proxy/apps/pubsub/session-subs.js';
import { joinCursor, splitCursor } from '../../src/proxy/apps/keyspace.js';
import { clusterKeySlot, crc16 } from '../../src/proxy/apps/cluster-facade.js';
import { BorrowedConn, BorrowedPool } from '../../src/proxy/borrowed-pool.js';
import { BackendConn } from '../../src/proxy/backend-conn.js';
import { freePort } from '../../src/util/free-port.js';
import { commandByName } from '../../src/commands/table.js';
import { RequestParser, type Request } from '../../src/resp/request-parser.js';
import { encodeCommand } from '../../src/resp/encode.js';
import { evenSlots } from '../../src/models/layout.js';
import { AclUsers } from '../../src/acl/users.js';

const A = '10.0.0.1:6379',
  B = '10.0.0.2:6379';
const closers: Array<{ close(): void }> = [];
after(() => {
  for (const c of closers) c.close();
});

function req(...args: string[]): Request {
  const p = new RequestParser();
  p.feed(encodeCommand(args));
  const r = p.next();
  assert.ok(r);
  return r;
}

function makeCtx(): ProxyContext {
  const router = new Router();
  router.fill(
    evenSlots([
      { id: 1, addr: A },
      { id: 2, addr: B },
    ]),
  );
  const backend = { auth: '', connectTimeout: 1000, recvTimeout: 0, pingPeriod: 0, maxPipeline: 100, keepalive: 0 };
  const pool = new BackendPool(backend, 1);
  const apps = new AppsRuntime(backend, { maxPerServer: 2, maxIdle: 1, idleMs: 1000 }, router, pool);
  closers.push(pool, apps);
  return {
    config: defaultProxyConfig(),
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
    apps,
    acl: new AclUsers(),
  };
}

class FakeHost implements AppsHost {
  readonly id = 1;
  readonly aclUser = null;
  db = 0;
  proto: 2 | 3 = 2;
  readonly out: string[] = [];
  readonly sent: string[] = [];
  held = 0;
  queued = 0;
  constructor(readonly ctx: ProxyContext) {}
  reply(_c: CommandStats | null, r: Buffer): void {
    this.out.push(r.toString('latin1'));
  }
  defer(): ReplySink {
    return { onReply: (r) => this.out.push(r.toString('latin1')) };
  }
  forward(addr: string, raw: Buffer): void {
    this.sent.push(`${addr} ${raw.toString('latin1')}`);
  }
  isClosed(): boolean {
    return false;
  }
  hold(): void {
    this.held++;
  }
  push(f: Buffer): void {
    this.out.push(f.toString('latin1'));
  }
  pendingOutput(): number {
    return 0;
  }
  close(): void {
    /* not used */
  }
}

test('transaction state: commands are checked and queued at the proxy; errors flag the transaction; nothing is sent before EXEC', () => {
  const h = new FakeHost(makeCtx());
  const tx = new TxState();
  const stats = h.ctx.stats.command('multi');
  tx.handle(h, commandByName('multi')!, req('MULTI'), stats);
  assert.equal(tx.queues('incr'), true);
  assert.equal(tx.queues('exec'), false);
  tx.enqueue(h, req('INCR', '{a}x'));
  tx.enqueue(h, req('GET', '{a}y'));
  tx.enqueue(h, req('GET', '{b}y'));
  tx.enqueue(h, req('PING'));
  tx.enqueue(h, req('CLIENT', 'SETNAME', 'x'));
  assert.deepEqual(h.out.slice(0, 3), ['+OK\r\n', '+QUEUED\r\n', '+QUEUED\r\n']);
  assert.match(h.out[3]!, /^-CROSSSLOT .*transaction's other keys/);
  assert.equal(h.out[4], '+QUEUED\r\n', 'PING may be queued');
  assert.match(h.out[5]!, /cannot be used inside MULTI/);
  assert.equal(tx.dirty, true);
  tx.handle(h, commandByName('exec')!, req('EXEC'), h.ctx.stats.command('exec'));
  assert.equal(h.out[6], '-EXECABORT Transaction discarded because of previous errors.\r\n');
  assert.equal(h.sent.length, 0, 'nothing reached a backend');
  assert.equal(tx.multi, false);
  tx.handle(h, commandByName('exec')!, req('EXEC'), h.ctx.stats.command('exec'));
  assert.equal(h.out[7], '-ERR EXEC without MULTI\r\n');
  tx.handle(h, commandByName('multi')!, req('MULTI'), stats);
  tx.handle(h, commandByName('exec')!, req('EXEC'), h.ctx.stats.command('exec'));
  assert.equal(h.out[9], '*0\r\n', 'an empty transaction answers an empty array');
});

test('blocking commands: where the timeout is, its unit, and what a timeout reply looks like', () => {
  const at = (...a: string[]) => timeoutArg(commandByName(a[0]!.toLowerCase())!, req(...a));
  assert.deepEqual(at('BLPOP', 'a', 'b', '1.5'), { index: 3, ms: false });
  assert.deepEqual(at('BLMOVE', 'a', 'b', 'LEFT', 'RIGHT', '2'), { index: 5, ms: false });
  assert.deepEqual(at('BZMPOP', '1', '1', 'z', 'MIN'), { index: 1, ms: false });
  assert.deepEqual(at('XREAD', 'COUNT', '2', 'BLOCK', '100', 'STREAMS', 's', '$'), { index: 4, ms: true });
  assert.equal(at('XREAD', 'STREAMS', 's', '$'), undefined);
  assert.equal(timeoutMs('1.5', false), 1500);
  assert.equal(timeoutMs('250', true), 250);
  assert.ok(Number.isNaN(timeoutMs('-1', false)) && Number.isNaN(timeoutMs('abc', false)));
  assert.ok(isTimeoutReply(Buffer.from('*-1\r\n')) && isTimeoutReply(Buffer.from('$-1\r\n')) && isTimeoutReply(Buffer.from('_\r\n')));
  assert.ok(!isTimeoutReply(Buffer.from(':1\r\n')));
});

test('slot moves unblock exactly the calls whose slot changed, once, with CLIENT UNBLOCK on their server', () => {
  // Connections built directly: nothing connects until a request is sent.
  const opts = { auth: '', connectTimeout: 1000, recvTimeout: 0, pingPeriod: 0, maxPipeline: 10, keepalive: 0 };
  const c1 = new BorrowedConn(`${A}/0/2`, new BackendConn(A, 0, 2, opts));
  const c2 = new BorrowedConn(`${B}/0/2`, new BackendConn(B, 0, 2, opts));
  c1.clientId = 7;
  c2.clientId = 8;
  const calls = [
    { conn: c1, slot: 3, gen: 1, movedByProxy: false },
    { conn: c2, slot: 900, gen: 5, movedByProxy: false },
  ];
  const sent: string[] = [];
  const gen = (s: number): number => (s === 3 ? 2 : 5);
  assert.equal(
    unblockMoved(calls, gen, (addr, raw) => sent.push(`${addr} ${raw.toString('latin1').replace(/\r\n/g, ' ')}`)),
    1,
  );
  assert.deepEqual(sent, [`${A} *3 $6 CLIENT $7 UNBLOCK $1 7 `]);
  assert.equal(
    unblockMoved(calls, gen, () => sent.push('again')),
    0,
    'not twice',
  );
});

test('borrowed pool: bounded per server, a discard counts once, a closed connection is not kept', async () => {
  // A local port nothing listens on: borrowing sends CLIENT ID, which fails fast, locally.
  const addr = `127.0.0.1:${await freePort()}`;
  const pool = new BorrowedPool(
    { auth: '', connectTimeout: 1000, recvTimeout: 0, pingPeriod: 0, maxPipeline: 10, keepalive: 0 },
    { maxPerServer: 2, maxIdle: 2, idleMs: 1000 },
  );
  closers.push(pool);
  const a = pool.borrow(addr, 0, 2),
    b = pool.borrow(addr, 0, 2);
  assert.ok(typeof a !== 'string' && typeof b !== 'string');
  assert.match(pool.borrow(addr, 0, 2) as string, /too many dedicated connections to backend .*backend_max_borrowed = 2/);
  pool.discard(a);
  pool.discard(a);
  assert.equal(pool.openTo(addr), 1, 'a discard counts once');
  b.conn.close();
  pool.giveBack(b);
  assert.equal(pool.openTo(addr), 0, 'a closed connection is dropped, not kept');
});

test('pub/sub frames: RESP2 arrays and RESP3 pushes, as Redis writes them', () => {
  assert.equal(
    messageFrame(2, 'c', null, Buffer.from('ch'), Buffer.from('hi')).toString(),
    '*3\r\n$7\r\nmessage\r\n$2\r\nch\r\n$2\r\nhi\r\n',
  );
  assert.equal(
    messageFrame(3, 'p', Buffer.from('c*'), Buffer.from('ch'), Buffer.from('hi')).toString(),
    '>4\r\n$8\r\npmessage\r\n$2\r\nc*\r\n$2\r\nch\r\n$2\r\nhi\r\n',
  );
  assert.equal(messageFrame(2, 's', null, Buffer.from('s'), Buffer.from('')).toString(), '*3\r\n$8\r\nsmessage\r\n$1\r\ns\r\n$0\r\n\r\n');
  assert.equal(confirmFrame(2, 'unsubscribe', null, 0).toString(), '*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n');
  assert.equal(confirmFrame(3, 'subscribe', Buffer.from('a'), 1).toString(), '>3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n');
});

test('SCAN cursors pack the group index and the backend cursor (64-bit safe)', () => {
  assert.deepEqual(splitCursor('0'), { group: 0, backend: 0n });
  const big = 18446744073709551615n;
  assert.deepEqual(splitCursor(joinCursor(3, big)), { group: 3, backend: big });
  assert.equal(splitCursor('12a'), null);
  assert.equal(splitCursor('-1'), null);
});

test('cluster façade: CRC16 (XModem) and Redis Cluster hash tags', () => {
  assert.equal(crc16(Buffer.from('123456789')), 0x31c3);
  assert.equal(clusterKeySlot(Buffer.from('foo')), 12182);
  assert.equal(clusterKeySlot(Buffer.from('{user1000}.following')), clusterKeySlot(Buffer.from('user1000')));
  assert.equal(clusterKeySlot(Buffer.from('foo{}{bar}')), crc16(Buffer.from('foo{}{bar}')) % 16384, 'an empty tag is no tag');
});
