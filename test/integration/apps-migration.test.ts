// Applications while a slot moves between groups (issue 12): a blocked BLPOP follows its slot to the
// new owner and gets the element pushed there (none lost); a subscription follows its channel's slot;
// a transaction on a migrating slot runs whole on the target after its keys moved; a WATCH that spans
// a slot move fails like a conflicting write. Two groups, two proxies, the slot table changed by hand
// the way the dashboard pushes it (migrating, then finished); a failover is a table push that replaces a
// group's master by its promoted replica. Expected duration: ~5 s.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { startTestCluster, type TestCluster } from '../helpers/proxy-cluster.js';
import { RawClient } from '../helpers/raw-client.js';
import { ProxyServer } from '../../src/proxy/proxy.js';
import { defaultProxyConfig } from '../../src/proxy/config.js';
import { slotOf } from '../../src/slots/hash.js';
import type { Slot } from '../../src/models/slot.js';
import { startRedisServer } from '../../src/util/redis-server.js';
import { decodeScanCursor } from '../../src/proxy/apps/scan-walk.js';

let c: TestCluster;
let proxyB: ProxyServer;
let portB = 0;
const closers: Array<() => void> = [];
const extraServers: Array<{ stop(): Promise<void> }> = [];

async function until(what: string, f: () => Promise<boolean> | boolean, ms = 10000): Promise<void> {
  const deadline = Date.now() + ms;
  for (let i = 0; i < 10000; i++) {
    if (await f()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Pushes a slot entry to both proxies, as the dashboard does at each migration step. */
async function push(s: Slot): Promise<void> {
  await c.proxy.fillSlotsAndDrain([s]);
  await proxyB.fillSlotsAndDrain([s]);
}

/** Moves `slot` to the other group: first "migrating" (target + migrate_from), then returns a finisher. */
async function startMove(slot: number): Promise<{ from: string; to: string; finish: () => Promise<void> }> {
  const from = c.slots[slot]!.backend_addr!;
  const to = c.servers.find((s) => s.addr !== from)!.addr;
  await push({ id: slot, backend_addr: to, migrate_from: from });
  return { from, to, finish: () => push({ id: slot, backend_addr: to }) };
}

const directTo = (addr: string): Redis => {
  const i = addr.lastIndexOf(':');
  const r = new Redis({ host: addr.slice(0, i), port: Number(addr.slice(i + 1)) });
  closers.push(() => r.disconnect());
  return r;
};

before(async () => {
  c = await startTestCluster({ groups: 2 });
  proxyB = new ProxyServer({ ...defaultProxyConfig(), proxyAddr: '127.0.0.1:0', adminAddr: '127.0.0.1:0' });
  portB = await proxyB.listen();
  proxyB.fillSlots(c.slots);
});
after(async () => {
  for (const f of closers) f();
  await proxyB?.shutdown();
  await Promise.all(extraServers.map((x) => x.stop()));
  await c?.stop();
});

test('a BLPOP blocked on a slot that starts migrating is re-issued on the target and gets the element', async () => {
  const key = '{mig1}list';
  const slot = slotOf(key);
  const p = await RawClient.connect(c.port);
  closers.push(() => p.close());
  const q = await RawClient.connect(portB);
  closers.push(() => q.close());
  p.send('BLPOP', key, '0');
  await until('the BLPOP to block', () => c.proxy.ctx.apps.blocked.size === 1);
  await until('the backend client id to be known', () => [...c.proxy.ctx.apps.blocked][0]!.conn.clientId >= 0);
  const move = await startMove(slot);
  await until('the call to be moved', () => c.proxy.ctx.apps.movedCalls === 1);
  await until('the BLPOP to block again on the target', () => [...c.proxy.ctx.apps.blocked].some((b) => b.conn.addr === move.to));
  assert.equal(await q.call('RPUSH', key, 'v'), ':1\r\n');
  assert.equal(await p.read(), `*2\r\n$${key.length}\r\n${key}\r\n$1\r\nv\r\n`);
  await move.finish();
  assert.equal(await directTo(move.from).exists(key), 0);
  assert.equal(await directTo(move.to).exists(key), 0, 'popped, nothing left behind');
});

test("a subscription follows its channel to the slot's new owner; every later message arrives once", async () => {
  const ch = 'chan{mig2}';
  const slot = slotOf(ch);
  const sub = new Redis({ port: c.port, host: '127.0.0.1' }),
    pub = new Redis({ port: portB, host: '127.0.0.1' });
  closers.push(
    () => sub.disconnect(),
    () => pub.disconnect(),
  );
  const got: string[] = [];
  sub.on('message', (_c: string, m: string) => got.push(m));
  await sub.subscribe(ch);
  await pub.publish(ch, 'before');
  await until('the first message', () => got.includes('before'));
  const move = await startMove(slot);
  await move.finish();
  // At-most-once during the switch: publish probes until one arrives, then every message must arrive once.
  for (let i = 0; i < 200 && !got.some((g) => g.startsWith('probe')); i++) {
    await pub.publish(ch, `probe${i}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.ok(
    got.some((g) => g.startsWith('probe')),
    'subscribed again on the new owner',
  );
  for (let i = 0; i < 20; i++) await pub.publish(ch, `after${i}`);
  await until('20 messages after the move', () => got.filter((g) => g.startsWith('after')).length >= 20);
  for (let i = 0; i < 20; i++) assert.equal(got.filter((g) => g === `after${i}`).length, 1);
  assert.equal(
    await directTo(move.to)
      .call('PUBSUB', 'NUMSUB', ch)
      .then((r) => (r as [string, number])[1]),
    1,
  );
  assert.equal(
    await directTo(move.from)
      .call('PUBSUB', 'NUMSUB', ch)
      .then((r) => (r as [string, number])[1]),
    0,
  );
});

test('a transaction on a migrating slot moves its keys first and runs whole on the target', async () => {
  const p = new Redis({ port: c.port, host: '127.0.0.1' });
  closers.push(() => p.disconnect());
  const a = '{mig3}a',
    b = '{mig3}b';
  await p.set(a, '10');
  await p.set(b, '20');
  const move = await startMove(slotOf(a));
  const res = await p.multi().incr(a).incrby(b, 5).get(a).exec();
  assert.deepEqual(res, [
    [null, 11],
    [null, 25],
    [null, '11'],
  ]);
  const src = directTo(move.from),
    dst = directTo(move.to);
  assert.deepEqual([await src.exists(a), await src.exists(b)], [0, 0]);
  assert.deepEqual([await dst.get(a), await dst.get(b)], ['11', '25']);
  await move.finish();
});

test('a WATCH that spans a move of its slot makes EXEC return null (the client retries)', async () => {
  const p = new Redis({ port: c.port, host: '127.0.0.1' });
  closers.push(() => p.disconnect());
  const k = '{mig4}k';
  await p.set(k, '1');
  await p.watch(k);
  const move = await startMove(slotOf(k));
  const res = await p.multi().incr(k).exec();
  assert.equal(res, null);
  await move.finish();
  await p.set(k, '1'); // (no dashboard here to move the slot's remaining keys)
  await p.watch(k);
  assert.deepEqual(await p.multi().incr(k).exec(), [[null, 2]]);
});

test('after a failover (master replaced by its promoted replica) subscriptions and a blocked BLPOP follow the new master', async () => {
  const old = c.servers[0]!;
  const replica = await startRedisServer({});
  extraServers.push(replica);
  const rr = directTo(replica.addr);
  await rr.replicaof(old.host, old.port);
  await until('the replica to sync', async () => (await rr.info('replication')).includes('master_link_status:up'));
  const ch = 'fo{ch}',
    key = 'fo{list}';
  // Pick names on the old master's slots.
  const onOld = (n: string): boolean => c.proxy.ctx.router.backendOf(slotOf(n)) === old.addr;
  let chan = ch,
    list = key;
  for (let i = 0; !onOld(chan) && i < 1000; i++) chan = `fo{ch${i}}`;
  for (let i = 0; !onOld(list) && i < 1000; i++) list = `fo{list${i}}`;
  assert.ok(onOld(chan) && onOld(list));
  const sub = new Redis({ port: c.port, host: '127.0.0.1' }),
    pub = new Redis({ port: portB, host: '127.0.0.1' });
  closers.push(
    () => sub.disconnect(),
    () => pub.disconnect(),
  );
  const got: string[] = [];
  sub.on('message', (_c: string, m: string) => got.push(`c:${m}`));
  sub.on('pmessage', (_p: string, _c: string, m: string) => got.push(`p:${m}`));
  await sub.subscribe(chan);
  await sub.psubscribe('fo{*');
  const popper = await RawClient.connect(c.port);
  closers.push(() => popper.close());
  const moved = c.proxy.ctx.apps.movedCalls;
  popper.send('BLPOP', list, '0');
  await until('the BLPOP to block', () => c.proxy.ctx.apps.blocked.size === 1 && [...c.proxy.ctx.apps.blocked][0]!.conn.clientId >= 0);
  // The failover: promote the replica, push the table with the new master for the old master's slots.
  await rr.replicaof('NO', 'ONE');
  const table = c.proxy.ctx.router
    .slots()
    .filter((x) => x.backend_addr === old.addr)
    .map((x) => ({ id: x.id, backend_addr: replica.addr }));
  await c.proxy.fillSlotsAndDrain(table);
  await proxyB.fillSlotsAndDrain(table);
  await until('the blocked call to move', () => c.proxy.ctx.apps.movedCalls > moved);
  await until('the BLPOP to block on the new master', () => [...c.proxy.ctx.apps.blocked].some((b) => b.conn.addr === replica.addr));
  const q = await RawClient.connect(portB);
  closers.push(() => q.close());
  assert.equal(await q.call('RPUSH', list, 'after-failover'), ':1\r\n');
  assert.equal(await popper.read(), `*2\r\n$${list.length}\r\n${list}\r\n$14\r\nafter-failover\r\n`);
  // At-most-once during the switch; afterwards every message exactly once, on the channel and the pattern.
  for (let i = 0; i < 200 && !(got.some((g) => g.startsWith('c:probe')) && got.some((g) => g.startsWith('p:probe'))); i++) {
    await pub.publish(chan, `probe${i}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  for (let i = 0; i < 10; i++) await pub.publish(chan, `m${i}`);
  await until('20 deliveries after the failover', () => got.filter((g) => /^[cp]:m\d$/.test(g)).length >= 20);
  for (let i = 0; i < 10; i++) for (const k of ['c', 'p']) assert.equal(got.filter((g) => g === `${k}:m${i}`).length, 1, `${k}:m${i}`);
  assert.equal(await rr.call('PUBSUB', 'NUMSUB', chan).then((r) => (r as [string, number])[1]), 1, 'subscribed on the new master');
});

test('SCAN misses no key when a slot moves into a group the scan already walked', async () => {
  const p = new Redis({ port: c.port, host: '127.0.0.1' });
  closers.push(() => p.disconnect());
  await p.flushall();
  // Keys on both groups, and a batch in one slot of group 2 (the one that will move to group 1).
  const want = new Set<string>();
  for (let i = 0; i < 200; i++) want.add(`scan:${i}`);
  for (let i = 0; i < 50; i++) want.add(`{scanmove}:${i}`);
  for (const k of want) await p.set(k, 'v');
  const slot = slotOf('{scanmove}');
  const g1 = c.slots[0]!.backend_addr_group_id!;
  const src = c.slots[slot]!;
  assert.notEqual(src.backend_addr_group_id, g1, 'the moving slot starts on the group walked second');
  const dst = c.slots[0]!;
  const seen = new Set<string>();
  let cursor = '0',
    moved = false;
  for (let rounds = 0; rounds < 1000; rounds++) {
    const [next, keys] = await p.scan(cursor, 'COUNT', '20');
    for (const k of keys) seen.add(k);
    cursor = next;
    if (cursor === '0') break;
    // Once the walk is past group 1, the slot moves from group 2 to group 1 (keys first, then the table).
    if (!moved && decodeScanCursor(cursor)!.unit !== g1) {
      moved = true;
      const source = directTo(src.backend_addr!);
      const [host, port] = [
        dst.backend_addr!.slice(0, dst.backend_addr!.lastIndexOf(':')),
        dst.backend_addr!.slice(dst.backend_addr!.lastIndexOf(':') + 1),
      ];
      const keys = Array.from({ length: 50 }, (_, i) => `{scanmove}:${i}`);
      assert.equal(await source.call('MIGRATE', host, port, '', '0', '5000', 'KEYS', ...keys), 'OK');
      await push({ id: slot, backend_addr: dst.backend_addr, backend_addr_group_id: g1 });
      c.slots[slot] = { id: slot, backend_addr: dst.backend_addr, backend_addr_group_id: g1 };
    }
  }
  assert.equal(cursor, '0', 'the scan ended');
  assert.ok(moved, 'the slot moved during the scan');
  const missing = [...want].filter((k) => !seen.has(k));
  assert.deepEqual(missing, [], `${missing.length} keys missed`);
});
