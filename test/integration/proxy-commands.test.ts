// Through the proxy over two real redis servers: data-type basics, placement by slot, split and
// merged multi-key commands, CROSSSLOT, SELECT isolation, AUTH/HELLO, local commands, refusals.
// Expected duration: about 5 s on a quiet 2-core machine.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { startTestCluster, type TestCluster } from '../helpers/proxy-cluster.js';
import { withDeadline } from '../helpers/poll.js';
import { RawClient } from '../helpers/raw-client.js';
import { slotOf } from '../../src/slots/hash.js';

let c: TestCluster;
let r: Redis;
const direct = new Map<string, Redis>();
const directFor = (key: string, db = 0): Redis => {
  const s = c.serverOfSlot(slotOf(key));
  const k = `${s.addr}/${db}`;
  let d = direct.get(k);
  if (!d) {
    d = new Redis({ host: s.host, port: s.port, db, lazyConnect: false });
    direct.set(k, d);
  }
  return d;
};

before(async () => {
  c = await startTestCluster({ groups: 2 });
  r = new Redis({ port: c.port, host: '127.0.0.1', maxRetriesPerRequest: 0 });
});
after(async () => {
  r.disconnect();
  for (const d of direct.values()) d.disconnect();
  await c.stop();
});

test('strings, hashes, lists, sets, sorted sets and streams work through the proxy', async () => {
  assert.equal(await r.set('s1', 'v1'), 'OK');
  assert.equal(await r.get('s1'), 'v1');
  assert.equal(await r.incrby('n1', 5), 5);
  assert.equal(await r.append('s1', 'x'), 3);
  assert.equal(await r.hset('h1', 'a', '1', 'b', '2'), 2);
  assert.deepEqual(await r.hgetall('h1'), { a: '1', b: '2' });
  assert.equal(await r.rpush('l1', 'a', 'b', 'c'), 3);
  assert.deepEqual(await r.lrange('l1', 0, -1), ['a', 'b', 'c']);
  assert.equal(await r.sadd('set1', 'x', 'y'), 2);
  assert.deepEqual((await r.smembers('set1')).sort(), ['x', 'y']);
  assert.equal(await r.zadd('z1', 1, 'one', 2, 'two'), 2);
  assert.deepEqual(await r.zrange('z1', 0, -1, 'WITHSCORES'), ['one', '1', 'two', '2']);
  const id = await r.xadd('st1', '*', 'f', 'v');
  assert.match(String(id), /^\d+-\d+$/);
  assert.equal(await r.xlen('st1'), 1);
  assert.equal(await r.set('ttl1', 'v', 'EX', 100), 'OK');
  const ttl = await r.ttl('ttl1');
  assert.ok(ttl > 90 && ttl <= 100);
  assert.equal(await r.call('OBJECT', 'ENCODING', 'l1'), await directFor('l1').call('OBJECT', 'ENCODING', 'l1'));
  assert.equal(await r.type('z1'), 'zset');
});

test('keys land on the server that owns their slot', async () => {
  const keys = Array.from({ length: 200 }, (_, i) => `place:${i}`);
  for (const k of keys) await r.set(k, k);
  const servers = new Set<string>();
  for (const k of keys) {
    const owner = c.serverOfSlot(slotOf(k));
    servers.add(owner.addr);
    assert.equal(await directFor(k).get(k), k, `${k} should be on ${owner.addr}`);
    const other = c.servers.find((s) => s !== owner)!;
    const od = new Redis({ host: other.host, port: other.port });
    assert.equal(await od.exists(k), 0, `${k} must not be on ${other.addr}`);
    od.disconnect();
  }
  assert.equal(servers.size, 2, 'keys should spread over both groups');
});

async function commandCalls(name: string): Promise<number> {
  let total = 0;
  for (const s of c.servers) {
    const d = new Redis({ host: s.host, port: s.port });
    const info = await d.info('commandstats');
    d.disconnect();
    const m = new RegExp(`cmdstat_${name}:calls=(\\d+)`).exec(info);
    total += m ? Number(m[1]) : 0;
  }
  return total;
}

test('MSET/MGET/DEL/UNLINK/EXISTS/TOUCH are split by group and merged in order', async () => {
  const keys = Array.from({ length: 20 }, (_, i) => `split:${i}`);
  const before = await commandCalls('mset');
  assert.equal(await r.mset(...keys.flatMap((k) => [k, `v-${k}`])), 'OK');
  assert.equal((await commandCalls('mset')) - before, 2, 'one MSET per group, not one per key');
  const mgetBefore = await commandCalls('mget');
  const got = await r.mget(...keys, 'split:missing');
  assert.deepEqual(got, [...keys.map((k) => `v-${k}`), null]);
  assert.equal((await commandCalls('mget')) - mgetBefore, 2);
  for (const k of keys) assert.equal(await directFor(k).get(k), `v-${k}`);
  assert.equal(await r.exists(...keys, 'split:missing', keys[0]!), 21);
  assert.equal(await r.touch(...keys.slice(0, 5)), 5);
  assert.equal(await r.del(...keys.slice(0, 10), 'split:missing'), 10);
  assert.equal(await r.unlink(...keys.slice(10)), 10);
  assert.equal(await r.exists(...keys), 0);
  // Errors from any part surface; wrong arity is caught by the proxy.
  await assert.rejects(r.call('MSET', 'a', '1', 'b'), /wrong number of arguments for 'mset'/);
  await assert.rejects(r.call('MGET'), /wrong number of arguments for 'mget'/);
});

test('multi-key commands need one slot: CROSSSLOT otherwise, hash tags keep keys together', async () => {
  await r.set('{user1}:a', '1');
  assert.equal(await r.rename('{user1}:a', '{user1}:b'), 'OK');
  assert.equal(await r.get('{user1}:b'), '1');
  await assert.rejects(r.rename('{user1}:b', 'elsewhere'), /CROSSSLOT/);
  await assert.rejects(r.sunionstore('dst', 'src1', 'src2'), /CROSSSLOT/);
  await r.sadd('{t}s1', 'a', 'b');
  await r.sadd('{t}s2', 'b', 'c');
  assert.equal(await r.sunionstore('{t}dst', '{t}s1', '{t}s2'), 3);
  assert.equal(await r.sintercard(2, '{t}s1', '{t}s2'), 1);
  await assert.rejects(r.call('SINTERCARD', '2', 'x1', 'x2'), /CROSSSLOT/);
  assert.equal(await r.eval("return redis.call('SET', KEYS[1], ARGV[1])", 1, '{t}k', 'v'), 'OK');
  assert.equal(await r.get('{t}k'), 'v');
  assert.equal(await r.eval('return 7', 0), 7);
  await r.rpush('{q}a', '1', '2');
  assert.deepEqual(await r.call('LMPOP', '2', '{q}a', '{q}b', 'LEFT'), ['{q}a', ['1']]);
  await assert.rejects(r.call('LMPOP', '2', 'qa', 'qb', 'LEFT'), /CROSSSLOT/);
  await r.xadd('{x}s', '*', 'a', '1');
  const xr = (await r.call('XREAD', 'COUNT', '5', 'STREAMS', '{x}s', '0')) as unknown[];
  assert.equal(xr.length, 1);
  await assert.rejects(r.call('XREAD', 'BLOCK', '10', 'STREAMS', '{x}s', 'xs', '0', '0'), /CROSSSLOT/);
  await assert.rejects(r.call('EVAL', 'return 1', '5', 'a'), /Number of keys|greater than/);
});

test('SELECT keeps databases apart per session', async () => {
  const a = new Redis({ port: c.port, db: 3 });
  const b = new Redis({ port: c.port, db: 0 });
  await a.set('dbkey', 'in3');
  await b.set('dbkey', 'in0');
  assert.equal(await a.get('dbkey'), 'in3');
  assert.equal(await b.get('dbkey'), 'in0');
  assert.equal(await directFor('dbkey', 3).get('dbkey'), 'in3');
  assert.equal(await directFor('dbkey', 0).get('dbkey'), 'in0');
  await assert.rejects(a.select(16), /out of range/);
  await assert.rejects(a.call('SELECT', 'x'), /not an integer/);
  a.disconnect();
  b.disconnect();
});

test('commands the proxy answers itself', async () => {
  const cl = await RawClient.connect(c.port);
  assert.equal(await cl.call('PING'), '+PONG\r\n');
  assert.equal(await cl.call('PING', 'hi'), '$2\r\nhi\r\n');
  assert.equal(await cl.call('ECHO', 'e'), '$1\r\ne\r\n');
  assert.match(await cl.call('CLIENT', 'ID'), /^:\d+\r\n$/);
  assert.equal(await cl.call('CLIENT', 'SETNAME', 'tester'), '+OK\r\n');
  assert.equal(await cl.call('CLIENT', 'GETNAME'), '$6\r\ntester\r\n');
  assert.match(await cl.call('CLIENT', 'LIST'), /name=tester/);
  assert.match(await cl.call('CLIENT', 'INFO'), /name=tester .*db=0/);
  assert.match(await cl.call('CLIENT', 'KILL', 'x'), /^-ERR/);
  assert.match(await cl.call('TIME'), /^\*2\r\n\$\d+\r\n\d+\r\n/);
  await cl.call('SET', 'dbs1', 'x');
  const dbsize = Number((await cl.call('DBSIZE')).slice(1));
  let direct = 0;
  for (const s of c.servers) {
    const d = new Redis({ host: s.host, port: s.port });
    direct += await d.dbsize();
    d.disconnect();
  }
  assert.equal(dbsize, direct);
  const info = await cl.call('INFO');
  assert.match(info, /# Server/);
  assert.match(info, /# Clients\r\nconnected_clients:\d+/);
  assert.match(info, /# Keyspace\r\ndb0:keys=\d+/);
  assert.match(await cl.call('INFO', 'commandstats'), /cmdstat_set:calls=\d+/);
  assert.match(await cl.call('COMMAND', 'COUNT'), /^:\d+\r\n$/);
  assert.match(await cl.call('COMMAND', 'GETKEYS', 'MSET', 'a', '1', 'b', '2'), /^\*2\r\n\$1\r\na\r\n\$1\r\nb\r\n$/);
  assert.match(await cl.call('SLOTSHASHKEY', 'a', 'b'), /^\*2\r\n:\d+\r\n:\d+\r\n$/);
  const m = await cl.call('SLOTSMAPPING', '5');
  assert.ok(m.includes(c.slots[5]!.backend_addr!));
  assert.equal(await cl.call('QUIT'), '+OK\r\n');
  await withDeadline('the proxy to close the connection', cl.closedPromise, 10000);
});

test('refused and unknown commands get errors that name them; the connection stays open', async () => {
  const cl = await RawClient.connect(c.port);
  assert.match(await cl.call('SWAPDB', '0', '1'), /^-ERR command 'SWAPDB' is not allowed: .*atomic/);
  assert.match(await cl.call('SCRIPT', 'KILL'), /^-ERR command 'SCRIPT KILL' is not allowed/);
  assert.match(await cl.call('MONITOR'), /^-ERR command 'MONITOR' is not allowed/);
  assert.match(await cl.call('CONFIG', 'SET', 'x', 'y'), /^-ERR command 'CONFIG SET' is not allowed: only CONFIG GET/);
  assert.match(await cl.call('FOOBAR', 'x'), /^-ERR unknown command 'FOOBAR'/);
  assert.match(await cl.call('GET'), /^-ERR wrong number of arguments for 'get' command/);
  assert.match(await cl.call('X'.repeat(200)), /^-ERR command name longer than/);
  assert.equal(await cl.call('PING'), '+PONG\r\n');
  cl.close();
});

test('FLUSHDB goes to every group master', async () => {
  const a = new Redis({ port: c.port, db: 7 });
  const direct = c.servers.map((s) => new Redis({ port: s.port, host: '127.0.0.1', db: 7 }));
  try {
    // Keys on every group (chosen by slot owner), written through the proxy.
    const keys = c.servers.flatMap((s) => {
      const mine: string[] = [];
      for (let i = 0; mine.length < 3; i++) if (c.serverOfSlot(slotOf(`f${i}`)) === s) mine.push(`f${i}`);
      return mine;
    });
    assert.equal(await a.mset(...keys.flatMap((k) => [k, k])), 'OK');
    for (const d of direct) assert.equal(await d.dbsize(), 3, 'each group master holds its keys');
    assert.equal(await a.flushdb(), 'OK');
    for (const [i, d] of direct.entries()) assert.equal(await d.dbsize(), 0, `group master ${c.servers[i]!.addr} was flushed`);
    assert.equal(await a.dbsize(), 0);
  } finally {
    a.disconnect();
    for (const d of direct) d.disconnect();
  }
});

test('inline commands work as over telnet', async () => {
  const cl = await RawClient.connect(c.port);
  cl.write('PING\r\n');
  assert.equal(await cl.read(), '+PONG\r\n');
  cl.write('set inl "hello world"\r\nget inl\n');
  assert.equal(await cl.read(), '+OK\r\n');
  assert.equal(await cl.read(), '$11\r\nhello world\r\n');
  cl.close();
});
