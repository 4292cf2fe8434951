// Applications through the proxy (issue 12): transactions, blocking commands, pub/sub across two
// proxies (RESP2 and RESP3), SCAN/KEYS/RANDOMKEY, SCRIPT/FUNCTION fan-out, MOVE/COPY DB, the cluster
// façade — compared reply-by-reply with a direct redis-server doing the same work, over two groups.
// Bad cases: cross-slot MULTI, blocking with keys in two slots, a slow subscriber flooded, a client
// killed while blocked. Expected duration: ~15 s.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Redis, Cluster } from 'ioredis';
import { startTestCluster, type TestCluster } from '../helpers/proxy-cluster.js';
import { RawClient } from '../helpers/raw-client.js';
import { startRedisServer, type RedisServer } from '../../src/util/redis-server.js';
import { ProxyServer } from '../../src/proxy/proxy.js';
import { defaultProxyConfig } from '../../src/proxy/config.js';
import { slotOf } from '../../src/slots/hash.js';
import net from 'node:net';

let c: TestCluster;
let direct: RedisServer;
let proxyB: ProxyServer;
let portB = 0;
const clients: Array<{ close(): void } | Redis | Cluster> = [];

async function raw(port: number): Promise<RawClient> {
  const r = await RawClient.connect(port);
  clients.push(r);
  return r;
}

/** Runs the same commands on the proxy and on the direct server, one at a time; asserts equal raw replies. */
async function same(cmds: string[][], proto: 2 | 3 = 2): Promise<string[]> {
  const p = await raw(c.port),
    d = await raw(direct.port);
  if (proto === 3) {
    await p.call('HELLO', '3');
    await d.call('HELLO', '3');
  }
  const out: string[] = [];
  for (const cmd of cmds) {
    const [rp, rd] = [await p.call(...cmd), await d.call(...cmd)];
    assert.equal(rp, rd, `reply to ${cmd.join(' ')}`);
    out.push(rp);
  }
  return out;
}

/** Same, but the whole list is written at once (pipelined), then every reply read. */
async function samePipelined(cmds: string[][]): Promise<void> {
  const p = await raw(c.port),
    d = await raw(direct.port);
  for (const cmd of cmds) {
    p.send(...cmd);
    d.send(...cmd);
  }
  for (const cmd of cmds) assert.equal(await p.read(), await d.read(), `reply to ${cmd.join(' ')}`);
}

async function until(what: string, f: () => Promise<boolean> | boolean, ms = 10000): Promise<void> {
  const deadline = Date.now() + ms;
  for (let i = 0; i < 10000; i++) {
    if (await f()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

before(async () => {
  direct = await startRedisServer({});
  c = await startTestCluster({ groups: 2, config: { clusterFacade: true, sessionMaxPubsubOutbuf: 1024 * 1024 } });
  proxyB = new ProxyServer({ ...defaultProxyConfig(), proxyAddr: '127.0.0.1:0', adminAddr: '127.0.0.1:0' });
  portB = await proxyB.listen();
  proxyB.fillSlots(c.slots);
});
after(async () => {
  for (const x of clients) {
    if ('disconnect' in x) x.disconnect();
    else x.close();
  }
  await proxyB?.shutdown();
  await c?.stop();
  await direct?.stop();
});

test('transactions: queued replies, EXEC, EXECABORT, nesting and errors as Redis answers them', async () => {
  await same([
    ['DEL', '{t}a'],
    ['MULTI'],
    ['INCR', '{t}a'],
    ['INCR', '{t}a'],
    ['GET', '{t}a'],
    ['EXEC'],
    ['MULTI'],
    ['NOSUCH', 'x'],
    ['INCR', '{t}a'],
    ['EXEC'],
    ['GET', '{t}a'],
    ['MULTI'],
    ['GET'],
    ['EXEC'],
    ['MULTI'],
    ['MULTI'],
    ['DISCARD'],
    ['EXEC'],
    ['DISCARD'],
    ['MULTI'],
    ['EXEC'],
    ['MULTI'],
    ['SET', '{t}s', 'x'],
    ['INCR', '{t}s'],
    ['PING'],
    ['EXEC'],
    ['MULTI'],
    ['WATCH', '{t}a'],
    ['DISCARD'],
  ]);
  await same([['MULTI'], ['INCR', '{t}a'], ['HGETALL', '{t}none'], ['EXEC']], 3);
});

test('a pipelined MULTI ... EXEC (redis-py transaction=True style) runs exactly once, atomically', async () => {
  await samePipelined([['DEL', '{p}n'], ['MULTI'], ['INCR', '{p}n'], ['INCR', '{p}n'], ['EXEC'], ['GET', '{p}n']]);
  // A refused transaction never runs piecemeal: an error inside MULTI, then EXEC → nothing ran.
  await samePipelined([['MULTI'], ['INCR', '{p}n'], ['BADCMD'], ['INCR', '{p}n'], ['EXEC'], ['GET', '{p}n']]);
});

test('cross-slot MULTI: the key outside the slot is refused, EXEC aborts, nothing runs', async () => {
  const p = await raw(c.port);
  const a = 'x1',
    b = 'y1';
  assert.notEqual(slotOf(a), slotOf(b));
  await p.call('DEL', a);
  await p.call('DEL', b);
  assert.equal(await p.call('MULTI'), '+OK\r\n');
  assert.equal(await p.call('SET', a, '1'), '+QUEUED\r\n');
  assert.match(await p.call('SET', b, '1'), /^-CROSSSLOT /);
  assert.match(await p.call('EXEC'), /^-EXECABORT /);
  assert.equal(await p.call('EXISTS', a), ':0\r\n');
  assert.equal(await p.call('EXISTS', b), ':0\r\n');
  assert.match(await p.call('MGET', a, b), /^\*2/); // the session is usable afterwards
});

test('WATCH: a conflicting write from another client makes EXEC return null; without one EXEC runs', async () => {
  const p = await raw(c.port),
    other = await raw(portB);
  const d = await raw(direct.port),
    dother = await raw(direct.port);
  for (const [x, y] of [
    [p, other],
    [d, dother],
  ] as const) {
    await x.call('SET', '{w}k', '1');
    assert.equal(await x.call('WATCH', '{w}k'), '+OK\r\n');
    await y.call('SET', '{w}k', '2');
    await x.call('MULTI');
    await x.call('INCR', '{w}k');
  }
  assert.equal(await p.call('EXEC'), await d.call('EXEC'));
  for (const x of [p, d]) {
    assert.equal(await x.call('WATCH', '{w}k'), '+OK\r\n');
    await x.call('MULTI');
    await x.call('INCR', '{w}k');
  }
  assert.equal(await p.call('EXEC'), await d.call('EXEC'));
  assert.equal(await p.call('GET', '{w}k'), '$1\r\n3\r\n');
  // Own writes between WATCH and EXEC count as a conflict, as in Redis.
  for (const x of [p, d]) {
    await x.call('WATCH', '{w}k');
    await x.call('SET', '{w}k', '9');
    await x.call('MULTI');
    await x.call('INCR', '{w}k');
  }
  assert.equal(await p.call('EXEC'), await d.call('EXEC'));
});

test('blocking: BLPOP/BLMOVE/BZPOPMIN/XREAD BLOCK get what another proxy pushes; timeouts are honoured', async () => {
  const p = await raw(c.port),
    q = await raw(portB);
  await p.call('DEL', '{b}l', '{b}m', '{b}z', '{b}s');
  p.send('BLPOP', '{b}l', '0');
  await until('the BLPOP to block', () => c.proxy.ctx.apps.blocked.size === 1);
  assert.equal(await q.call('RPUSH', '{b}l', 'v1'), ':1\r\n');
  assert.equal(await p.read(), '*2\r\n$4\r\n{b}l\r\n$2\r\nv1\r\n');
  p.send('BLMOVE', '{b}l', '{b}m', 'LEFT', 'RIGHT', '0');
  await until('the BLMOVE to block', () => c.proxy.ctx.apps.blocked.size === 1);
  await q.call('RPUSH', '{b}l', 'v2');
  assert.equal(await p.read(), '$2\r\nv2\r\n');
  p.send('BZPOPMIN', '{b}z', '0');
  await until('the BZPOPMIN to block', () => c.proxy.ctx.apps.blocked.size === 1);
  await q.call('ZADD', '{b}z', '1', 'm');
  assert.equal(await p.read(), '*3\r\n$4\r\n{b}z\r\n$1\r\nm\r\n$1\r\n1\r\n');
  p.send('XREAD', 'BLOCK', '0', 'STREAMS', '{b}s', '$');
  await until('the XREAD to block', () => c.proxy.ctx.apps.blocked.size === 1);
  await q.call('XADD', '{b}s', '1-1', 'f', 'v');
  assert.match(await p.read(), /^\*1\r\n\*2\r\n\$4\r\n\{b\}s\r\n/);
  // Timeouts: same reply as direct Redis, not before the timeout.
  const t0 = Date.now();
  await same([
    ['BLPOP', '{b}empty', '0.3'],
    ['BRPOP', '{b}empty', '0.1'],
    ['XREAD', 'BLOCK', '100', 'STREAMS', '{b}s', '$'],
    ['BLMPOP', '0.1', '1', '{b}empty', 'LEFT'],
  ]);
  assert.ok(Date.now() - t0 >= 600, 'the four timeouts (0.3 s + 3 × 0.1 s on each side) elapsed');
  await same([
    ['BLPOP', '{b}empty', 'notanumber'],
    ['BLPOP', '{b}empty', '-1'],
  ]);
});

test('blocking with keys in two slots is refused with CROSSSLOT', async () => {
  const p = await raw(c.port);
  assert.notEqual(slotOf('la'), slotOf('lb'));
  assert.match(await p.call('BLPOP', 'la', 'lb', '1'), /^-CROSSSLOT /);
});

test('a blocked client never delays other sessions, and a killed blocked client consumes nothing', async () => {
  const blocked = await raw(c.port),
    other = await raw(c.port);
  await other.call('DEL', '{k}list');
  blocked.send('BLPOP', '{k}list', '0');
  await until('the BLPOP to block', () => c.proxy.ctx.apps.blocked.size === 1);
  for (let i = 0; i < 50; i++) other.send('SET', `{k}x${i}`, String(i));
  for (let i = 0; i < 50; i++) assert.equal(await other.read(2000), '+OK\r\n');
  blocked.close();
  await until('the blocked call to be released', () => c.proxy.ctx.apps.blocked.size === 0);
  const srv = c.serverOfSlot(slotOf('{k}list'));
  const d = new Redis({ port: srv.port, host: '127.0.0.1' });
  clients.push(d);
  await until('the backend to drop the blocked client', async () => (await d.info('clients')).includes('blocked_clients:0'));
  assert.equal(await other.call('RPUSH', '{k}list', 'e'), ':1\r\n');
  assert.equal(await other.call('LLEN', '{k}list'), ':1\r\n', 'the element stays: nobody left was served it');
});

test('pub/sub across two proxies: channel and pattern messages reach every subscriber exactly once (ioredis)', async () => {
  const subA = new Redis({ port: c.port, host: '127.0.0.1' }),
    subB = new Redis({ port: portB, host: '127.0.0.1' });
  const pub = new Redis({ port: portB, host: '127.0.0.1' });
  clients.push(subA, subB, pub);
  const got: string[] = [];
  subA.on('message', (ch: string, m: string) => got.push(`A ${ch} ${m}`));
  subA.on('pmessage', (pat: string, ch: string, m: string) => got.push(`A ${pat} ${ch} ${m}`));
  subB.on('message', (ch: string, m: string) => got.push(`B ${ch} ${m}`));
  await subA.subscribe('news', 'sport');
  await subA.psubscribe('n*');
  await subB.subscribe('news');
  for (let i = 0; i < 20; i++) await pub.publish(i % 2 ? 'news' : 'sport', `m${i}`);
  await until('40 deliveries', () => got.length >= 40);
  await new Promise((r) => setImmediate(r));
  const count = (s: string): number => got.filter((g) => g === s).length;
  for (let i = 0; i < 20; i++) {
    if (i % 2) {
      assert.equal(count(`A news m${i}`), 1);
      assert.equal(count(`A n* news m${i}`), 1);
      assert.equal(count(`B news m${i}`), 1);
    } else assert.equal(count(`A sport m${i}`), 1);
  }
  assert.equal(got.length, 40);
  const q = new Redis({ port: c.port, host: '127.0.0.1' });
  clients.push(q);
  assert.deepEqual(((await q.pubsub('CHANNELS', '*')) as string[]).sort(), ['news', 'sport']);
  assert.equal(await q.pubsub('NUMPAT'), 1);
});

test('pub/sub in RESP2 subscribed mode and RESP3 push frames match a direct server', async () => {
  for (const proto of [2, 3] as const) {
    const p = await raw(c.port),
      d = await raw(direct.port);
    const pubP = await raw(portB),
      pubD = await raw(direct.port);
    if (proto === 3) {
      await p.call('HELLO', '3');
      await d.call('HELLO', '3');
    }
    for (const cmd of [['SUBSCRIBE', 'c1', 'c2'], ['PSUBSCRIBE', 'p*'], ['PING'], ['PING', 'hi'], ['SSUBSCRIBE', 's1']]) {
      p.send(...cmd);
      d.send(...cmd);
      const n = cmd[0] === 'SUBSCRIBE' ? 2 : 1;
      for (let i = 0; i < n; i++) assert.equal(await p.read(), await d.read(), `${proto}: ${cmd.join(' ')}`);
    }
    if (proto === 2) assert.equal(await p.call('GET', 'x'), await d.call('GET', 'x'));
    else assert.equal(await p.call('GET', '{nokey}'), await d.call('GET', '{nokey}'));
    await pubP.call('PUBLISH', 'c2', 'hello');
    await pubD.call('PUBLISH', 'c2', 'hello');
    assert.equal(await p.read(), await d.read(), 'message');
    await pubP.call('SPUBLISH', 's1', 'sharded');
    await pubD.call('SPUBLISH', 's1', 'sharded');
    assert.equal(await p.read(), await d.read(), 'smessage');
    await pubP.call('PUBLISH', 'pat', 'viapattern');
    await pubD.call('PUBLISH', 'pat', 'viapattern');
    assert.equal(await p.read(), await d.read(), 'pmessage');
    for (const cmd of [['UNSUBSCRIBE'], ['PUNSUBSCRIBE', 'p*'], ['SUNSUBSCRIBE']]) {
      p.send(...cmd);
      d.send(...cmd);
      const n = cmd[0] === 'UNSUBSCRIBE' ? 2 : 1;
      const rp: string[] = [],
        rd: string[] = [];
      for (let i = 0; i < n; i++) {
        rp.push(await p.read());
        rd.push(await d.read());
      }
      // UNSUBSCRIBE without arguments: Redis walks its own hash table; compare the channels and counts as sets.
      const norm = (l: string[]): string[] => l.map((x) => x.replace(/:\d+\r\n$/, '')).sort();
      assert.deepEqual(norm(rp), norm(rd), `${proto}: ${cmd.join(' ')}`);
      assert.equal(rp[n - 1]!.slice(-4), rd[n - 1]!.slice(-4), 'last count');
    }
    assert.equal(await p.call('GET', 'x'), await d.call('GET', 'x'), 'normal commands again after the last UNSUBSCRIBE');
  }
});

test('SUBSCRIBE flood to a reader that does not read: it is disconnected, others keep receiving', async () => {
  const slow = net.connect({ port: c.port, host: '127.0.0.1' });
  await new Promise<void>((r) => slow.once('connect', () => r()));
  slow.write('*2\r\n$9\r\nSUBSCRIBE\r\n$5\r\nflood\r\n');
  const closed = new Promise<void>((r) => slow.once('close', () => r()));
  slow.on('error', () => {});
  await new Promise<void>((r) => slow.once('data', () => r()));
  slow.pause();
  const fast = new Redis({ port: c.port, host: '127.0.0.1' });
  clients.push(fast);
  let fastGot = 0;
  fast.on('message', () => {
    fastGot++;
  });
  await fast.subscribe('flood');
  const pub = new Redis({ port: portB, host: '127.0.0.1' });
  clients.push(pub);
  const big = 'x'.repeat(32 * 1024);
  const before = c.proxy.ctx.apps.slowSubscribersClosed;
  let sent = 0;
  for (let i = 0; i < 3000 && c.proxy.ctx.apps.slowSubscribersClosed === before; i++) {
    await pub.publish('flood', big);
    sent++;
  }
  await until('the slow subscriber to be disconnected', () => c.proxy.ctx.apps.slowSubscribersClosed > before);
  assert.equal(c.proxy.ctx.apps.slowSubscribersClosed, before + 1, 'only the slow subscriber was disconnected');
  // A paused socket sees its end only when it reads again: drain what was buffered, then the close comes.
  let isClosed = false;
  void closed.then(() => {
    isClosed = true;
  });
  slow.resume();
  await until('the proxy to have closed the slow connection', () => isClosed);
  await until(`the fast subscriber to get every message (${sent})`, () => fastGot === sent);
  slow.destroy();
});

test('SCAN walks every group (with MATCH/COUNT/TYPE), KEYS and RANDOMKEY see every key', async () => {
  const p = new Redis({ port: c.port, host: '127.0.0.1' });
  clients.push(p);
  await p.flushdb();
  const want = new Set<string>();
  for (let i = 0; i < 300; i++) {
    await p.set(`sk:${i}`, 'v');
    want.add(`sk:${i}`);
  }
  await p.sadd('sk:set', 'a');
  const seen = new Set<string>();
  let cursor = '0',
    rounds = 0;
  do {
    const [next, keys] = await p.scan(cursor, 'MATCH', 'sk:*', 'COUNT', '50', 'TYPE', 'string');
    for (const k of keys) seen.add(k);
    cursor = next;
  } while (cursor !== '0' && ++rounds < 1000);
  assert.deepEqual([...seen].sort(), [...want].sort());
  assert.equal((await p.keys('sk:*')).length, 301);
  assert.match((await p.randomkey()) ?? '', /^sk:/);
  assert.match(
    await new Promise<string>((resolve) => {
      void p.call('SCAN', 'abc').catch((e: Error) => resolve(e.message));
    }),
    /invalid cursor/,
  );
});

test('SCRIPT LOAD and FUNCTION LOAD reach every group: EVALSHA and FCALL work on any slot', async () => {
  const p = new Redis({ port: c.port, host: '127.0.0.1' });
  clients.push(p);
  const sha = (await p.script('LOAD', 'return redis.call("GET", KEYS[1])')) as string;
  const all = Array.from({ length: 40 }, (_, i) => `sc${i}`);
  const g1 = all.filter((k) => c.serverOfSlot(slotOf(k)) === c.servers[0]).slice(0, 3);
  const g2 = all.filter((k) => c.serverOfSlot(slotOf(k)) === c.servers[1]).slice(0, 3);
  const keys = [...g1, ...g2];
  assert.equal(keys.length, 6, 'three keys on each group');
  for (const k of keys) {
    await p.set(k, `v${k}`);
    assert.equal(await p.evalsha(sha, 1, k), `v${k}`);
  }
  assert.deepEqual(await p.script('EXISTS', sha, '0'.repeat(40)), [1, 0]);
  await p.call('FUNCTION', 'FLUSH');
  assert.equal(
    await p.call(
      'FUNCTION',
      'LOAD',
      "#!lua name=apps\nredis.register_function('getit', function(keys) return redis.call('GET', keys[1]) end)",
    ),
    'apps',
  );
  for (const k of keys) assert.equal(await p.call('FCALL', 'getit', '1', k), `v${k}`);
  await p.call('FUNCTION', 'DELETE', 'apps');
  await p.script('FLUSH');
  assert.deepEqual(await p.script('EXISTS', sha), [0]);
});

test('MOVE and COPY ... DB between databases match a direct server', async () => {
  await same(
    [
      ['SELECT', '0'],
      ['SET', 'mv', '1'],
      ['MOVE', 'mv', '1'],
      ['EXISTS', 'mv'],
      ['SELECT', '1'],
      ['GET', 'mv'],
      ['DEL', 'mv'],
      ['SELECT', '0'],
      ['SET', '{c}a', 'x'],
      ['COPY', '{c}a', '{c}b', 'DB', '2'],
      ['COPY', '{c}a', '{c}b', 'DB', '2'],
      ['COPY', '{c}a', '{c}b', 'DB', '2', 'REPLACE'],
      ['SELECT', '2'],
      ['GET', '{c}b'],
      ['DEL', '{c}b'],
      ['SELECT', '0'],
      ['SWAPDB', '0', '1'].slice(0, 0),
    ].filter((x) => x.length > 0),
  );
  const p = await raw(c.port);
  assert.match(await p.call('SWAPDB', '0', '1'), /^-ERR .*SWAPDB cannot be atomic/);
});

test('cluster façade: ioredis Cluster connects and works; CLUSTER KEYSLOT uses CRC16', async () => {
  const p = await raw(c.port);
  // Values from the Redis Cluster documentation / specification.
  assert.equal(await p.call('CLUSTER', 'KEYSLOT', 'foo'), ':12182\r\n');
  assert.equal(await p.call('CLUSTER', 'KEYSLOT', 'somekey'), ':11058\r\n');
  assert.equal(await p.call('CLUSTER', 'KEYSLOT', '{user1000}.following'), await p.call('CLUSTER', 'KEYSLOT', 'user1000'));
  assert.notEqual(
    await p.call('CLUSTER', 'KEYSLOT', 'a{}b'),
    await p.call('CLUSTER', 'KEYSLOT', ''),
    'an empty {} is not a hash tag in Redis Cluster',
  );
  // No dashboard pushed a node list: a one-node cluster, this proxy owning every slot.
  assert.match(
    await p.call('CLUSTER', 'SLOTS'),
    new RegExp(`^\\*1\r\n\\*3\r\n:0\r\n:16383\r\n\\*4\r\n\\$9\r\n127\\.0\\.0\\.1\r\n:${c.port}\r\n`),
  );
  const cl = new Cluster([{ host: '127.0.0.1', port: c.port }], { enableReadyCheck: true });
  clients.push(cl);
  await cl.set('{u}a', '1');
  await cl.mset('{u}b', '2', '{u}c', '3');
  assert.deepEqual(await cl.mget('{u}a', '{u}b', '{u}c'), ['1', '2', '3']);
  const res = await cl.multi().incr('{u}a').incr('{u}a').exec();
  assert.deepEqual(res, [
    [null, 2],
    [null, 3],
  ]);
});
