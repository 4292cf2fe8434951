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
import { decodeScanCursor, encodeScanCursor, ScanPasses, scanStep } from '../../src/proxy/apps/scan-walk.js';
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

test('SCAN cursors pack backend cursor, group id, pass kind and token; garbage is refused', () => {
  assert.deepEqual(decodeScanCursor('0'), { backend: 0n, unit: 0, filtered: false, token: 0 });
  const big = 18446744073709551615n;
  for (const c of [
    { backend: big, unit: 9999, filtered: true, token: 65535 },
    { backend: 1n, unit: 100003, filtered: false, token: 7 },
  ])
    assert.deepEqual(decodeScanCursor(encodeScanCursor(c)), c);
  assert.equal(decodeScanCursor('12a'), null);
  assert.equal(decodeScanCursor('-1'), null);
});

/** Two groups (ids 1 and 2, masters m1/m2): slots 0-511 on group 1, 512-1023 on group 2. */
function twoGroups(): Router {
  const r = new Router();
  r.fill(
    Array.from({ length: 1024 }, (_, id) =>
      id < 512
        ? { id, backend_addr: '127.0.0.1:1', backend_addr_group_id: 1 }
        : { id, backend_addr: '127.0.0.1:2', backend_addr_group_id: 2 },
    ),
  );
  return r;
}

test('SCAN walk: groups in id order, one pass when nothing moves; a failover keeps the walk on the group', () => {
  const r = twoGroups();
  const passes = new ScanPasses();
  const s1 = scanStep(r, passes, decodeScanCursor('0')!);
  assert.equal(s1.addr, '127.0.0.1:1');
  assert.equal(s1.slots, null);
  const c2 = s1.after(5n); // the backend is not done
  const s2 = scanStep(r, passes, decodeScanCursor(c2)!);
  assert.deepEqual([s2.addr, s2.backend], ['127.0.0.1:1', 5n]);
  // Group 1 fails over to another address mid-walk: same group, same backend cursor.
  r.fill(Array.from({ length: 512 }, (_, id) => ({ id, backend_addr: '127.0.0.1:11', backend_addr_group_id: 1 })));
  const s3 = scanStep(r, passes, decodeScanCursor(c2)!);
  assert.deepEqual([s3.addr, s3.backend], ['127.0.0.1:11', 5n]);
  const s4 = scanStep(r, passes, decodeScanCursor(s3.after(0n))!);
  assert.deepEqual([s4.addr, s4.backend], ['127.0.0.1:2', 0n]);
  // The failover changed group 1's slots: a second pass walks group 1 for those slots only.
  const again = s4.after(0n);
  assert.notEqual(again, '0');
  const s5 = scanStep(r, passes, decodeScanCursor(again)!);
  assert.equal(s5.addr, '127.0.0.1:11');
  assert.equal(s5.slots?.size, 512);
  assert.equal(s5.after(0n), '0', 'nothing moved during the second pass: done');
  // Without any change, one pass.
  const q = twoGroups();
  const t1 = scanStep(q, passes, decodeScanCursor('0')!);
  const t2 = scanStep(q, passes, decodeScanCursor(t1.after(0n))!);
  assert.equal(t2.addr, '127.0.0.1:2');
  assert.equal(t2.after(0n), '0');
});

test('SCAN walk: a slot migrating from a group not yet walked into one already walked gets a second pass', () => {
  const r = twoGroups();
  const passes = new ScanPasses();
  const s1 = scanStep(r, passes, decodeScanCursor('0')!);
  const c = s1.after(0n); // group 1 walked
  // Slot 700 starts migrating from group 2 to group 1, then finishes.
  r.fill([{ id: 700, backend_addr: '127.0.0.1:1', backend_addr_group_id: 1, migrate_from: '127.0.0.1:2', migrate_from_group_id: 2 }]);
  const s2 = scanStep(r, passes, decodeScanCursor(c)!);
  assert.equal(s2.addr, '127.0.0.1:2');
  r.fill([{ id: 700, backend_addr: '127.0.0.1:1', backend_addr_group_id: 1 }]);
  const s3 = scanStep(r, passes, decodeScanCursor(s2.after(0n))!);
  assert.equal(s3.addr, '127.0.0.1:1', 'the target of the moved slot is walked again');
  assert.deepEqual([...(s3.slots ?? [])], [700], '... for the moved slot only');
  assert.equal(s3.after(0n), '0');
});

test('SCAN walk: a cursor whose pass this proxy does not know ends with a full extra pass', () => {
  const r = twoGroups();
  const passes = new ScanPasses();
  const foreign = encodeScanCursor({ backend: 0n, unit: 2, filtered: false, token: 4242 });
  const s1 = scanStep(r, passes, decodeScanCursor(foreign)!);
  assert.equal(s1.addr, '127.0.0.1:2');
  const s2 = scanStep(r, passes, decodeScanCursor(s1.after(0n))!);
  assert.equal(s2.addr, '127.0.0.1:1');
  assert.equal(s2.slots?.size, 1024, 'every slot walked again');
  const s3 = scanStep(r, passes, decodeScanCursor(s2.after(0n))!);
  assert.equal(s3.addr, '127.0.0.1:2');
  assert.equal(s3.after(0n), '0');
});

test('cluster façade: CRC16 (XModem) and Redis Cluster hash tags', () => {
  assert.equal(crc16(Buffer.from('123456789')), 0x31c3);
  assert.equal(clusterKeySlot(Buffer.from('foo')), 12182);
  assert.equal(clusterKeySlot(Buffer.from('{user1000}.following')), clusterKeySlot(Buffer.from('user1000')));
  assert.equal(clusterKeySlot(Buffer.from('foo{}{bar}')), crc16(Buffer.from('foo{}{bar}')) % 16384, 'an empty tag is no tag');
});
