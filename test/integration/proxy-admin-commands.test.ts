// CLIENT KILL / PAUSE / UNPAUSE of the proxy's own sessions, CONFIG GET of its own settings and
// LATENCY LATEST / HISTORY / RESET / DOCTOR of its latency monitor (src/proxy/admin-commands.ts),
// run side by side against the proxy and a direct redis-server: the same scenario must give the same
// replies (error texts included) where the command applies to both. Expected duration: ~5 s.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestCluster, type TestCluster } from '../helpers/proxy-cluster.js';
import { RawClient } from '../helpers/raw-client.js';
import { eventually, withDeadline } from '../helpers/poll.js';
import { startRedisServer, type RedisServer } from '../../src/util/redis-server.js';
import { ProxyServer } from '../../src/proxy/proxy.js';
import { defaultProxyConfig } from '../../src/proxy/config.js';

let c: TestCluster;
let direct: RedisServer;
let proxyB: ProxyServer;
let portB = 0;
const clients: RawClient[] = [];

before(async () => {
  c = await startTestCluster({ groups: 2, config: { slowlogSlowerThan: 15000 } });
  direct = await startRedisServer({});
  proxyB = new ProxyServer({ ...defaultProxyConfig(), proxyAddr: '127.0.0.1:0', adminAddr: '127.0.0.1:0' });
  portB = await proxyB.listen();
  proxyB.fillSlots(c.slots);
});
after(async () => {
  for (const x of clients) x.close();
  await proxyB?.shutdown();
  await direct?.stop();
  await c?.stop();
});

async function connect(port: number): Promise<RawClient> {
  const x = await RawClient.connect(port);
  clients.push(x);
  return x;
}

/** CLIENT INFO's id and addr of a connection. */
async function me(x: RawClient): Promise<{ id: string; addr: string }> {
  const r = await x.call('CLIENT', 'INFO');
  return { id: /id=(\d+)/.exec(r)![1]!, addr: /addr=(\S+)/.exec(r)![1]! };
}

const closed = (x: RawClient, what: string): Promise<string> => withDeadline(what, x.closedPromise, 5000).then(() => `${what} closed`);
/** 'held' if `x` gets no reply within `ms`, else the reply (a held request is answered later). */
const heldFor = (x: RawClient, ms: number): Promise<string> =>
  x.read(ms).then(
    (r) => `answered: ${r}`,
    () => 'held',
  );

async function killScenario(port: number): Promise<string[]> {
  const out: string[] = [];
  const [a, b, sub, d] = await Promise.all([connect(port), connect(port), connect(port), connect(port)]);
  const [ia, ib, , id] = await Promise.all([me(a), me(b), me(sub), me(d)]);
  for (const args of [
    ['1.2.3.4:5'],
    ['ID', 'abc'],
    ['ID', '0'],
    ['ID', '99999999'],
    ['TYPE', 'foo'],
    ['TYPE', 'master'],
    ['USER', 'nobody'],
    ['SKIPME', 'maybe'],
    ['ADDR', 'x', 'ID'],
    ['MAXAGE', '5'],
    ['LADDR', '1.1.1.1:1'],
  ])
    out.push(await a.call('CLIENT', 'KILL', ...args));
  out.push(await sub.call('SUBSCRIBE', 'adm-ch'));
  out.push(await a.call('CLIENT', 'KILL', 'ID', ib.id));
  out.push(await closed(b, 'b'));
  out.push(await a.call('CLIENT', 'KILL', 'TYPE', 'pubsub'));
  out.push(await closed(sub, 'subscriber'));
  out.push(await a.call('CLIENT', 'KILL', 'ADDR', ia.addr), 'skipme yes: not killed');
  out.push(await a.call('CLIENT', 'KILL', id.addr));
  out.push(await closed(d, 'd (old form)'));
  out.push(await a.call('CLIENT', 'KILL', 'ADDR', ia.addr, 'SKIPME', 'no'));
  out.push(await closed(a, 'a (itself, after its reply)'));
  return out;
}

test('CLIENT KILL (old form, ID, TYPE, ADDR, SKIPME, its errors) answers as redis-server and closes the sessions', async () => {
  const viaProxy = await killScenario(c.port);
  const viaRedis = await killScenario(direct.port);
  assert.deepEqual(viaProxy, viaRedis);
  assert.ok(viaProxy.includes(':1\r\n') && viaProxy.includes('+OK\r\n'), JSON.stringify(viaProxy));
});

test('CLIENT KILL of a session blocked in BLPOP releases its backend call: nothing is popped for it later', async () => {
  const [a, b] = await Promise.all([connect(c.port), connect(c.port)]);
  const ib = await me(b);
  b.send('BLPOP', '{adm}list', '0');
  await eventually('the BLPOP to block', () => c.proxy.ctx.apps.blocked.size === 1, 5000, 10);
  assert.equal(await a.call('CLIENT', 'KILL', 'ID', ib.id), ':1\r\n');
  await closed(b, 'b');
  await eventually('the blocked call to end', () => c.proxy.ctx.apps.blocked.size === 0, 5000, 10);
  assert.equal(await a.call('RPUSH', '{adm}list', 'x'), ':1\r\n');
  assert.equal(await a.call('LPOP', '{adm}list'), '$1\r\nx\r\n');
});

async function pauseScenario(port: number): Promise<string[]> {
  const out: string[] = [];
  const [a, b, p, e] = await Promise.all([connect(port), connect(port), connect(port), connect(port)]);
  for (const args of [['abc'], ['-1'], ['10', 'FOO'], ['10', 'WRITE', 'x']]) out.push(await a.call('CLIENT', 'PAUSE', ...args));
  out.push(await a.call('CLIENT', 'UNPAUSE', 'x'));
  await b.call('SET', '{adm}pk', '1');
  out.push(await a.call('CLIENT', 'PAUSE', '60000', 'WRITE'));
  out.push(await b.call('GET', '{adm}pk'), 'reads go on');
  b.send('SET', '{adm}pk', '2');
  b.send('GET', '{adm}pk');
  p.send('PUBLISH', 'adm-ch', 'm');
  e.send('EVAL', 'return 1', '1', '{adm}pk');
  out.push(await heldFor(b, 300), await heldFor(p, 50), await heldFor(e, 50));
  out.push(await a.call('GET', '{adm}pk'));
  out.push(await a.call('CLIENT', 'UNPAUSE'));
  out.push(await b.read(5000), await b.read(5000), await p.read(5000), await e.read(5000));
  out.push(await a.call('CLIENT', 'PAUSE', '1500', 'ALL'));
  b.send('PING');
  out.push(await heldFor(b, 300));
  out.push(await b.read(10000), 'answered after the pause');
  return out;
}

test('CLIENT PAUSE WRITE / ALL and CLIENT UNPAUSE hold the same commands as redis-server, in order, and release them', async () => {
  const viaProxy = await pauseScenario(c.port);
  const viaRedis = await pauseScenario(direct.port);
  assert.deepEqual(viaProxy, viaRedis);
  assert.deepEqual(viaProxy.slice(-4), ['+OK\r\n', 'held', '+PONG\r\n', 'answered after the pause']);
});

test("CLIENT PAUSE pauses this proxy's sessions only: another proxy and the backends go on", async () => {
  const [a, b, other] = await Promise.all([connect(c.port), connect(c.port), connect(portB)]);
  assert.equal(await a.call('CLIENT', 'PAUSE', '60000', 'ALL'), '+OK\r\n');
  try {
    b.send('SET', '{adm}x', '1');
    assert.equal(await heldFor(b, 300), 'held');
    assert.equal(await other.call('SET', '{adm}x', '2'), '+OK\r\n', 'another proxy is not paused');
  } finally {
    c.proxy.ctx.pause?.unpause(); // CLIENT UNPAUSE would itself wait under ALL, as in Redis 7.0
  }
  assert.equal(await b.read(5000), '+OK\r\n');
});

test("CONFIG GET answers the proxy's own settings in redis-server's reply shape; other names match nothing; CONFIG SET is refused", async () => {
  const [p, d] = await Promise.all([connect(c.port), connect(direct.port)]);
  for (const args of [['maxclients'], ['databases'], ['MAXCLIENTS'], ['nonexistent'], ['maxmemory-nope*'], []]) {
    assert.equal(await p.call('CONFIG', 'GET', ...args), await d.call('CONFIG', 'GET', ...args), `CONFIG GET ${args.join(' ')}`);
  }
  const names = (r: string): string[] =>
    r
      .split('\r\n')
      .filter((_, i) => i % 4 === 2)
      .sort();
  assert.deepEqual(names(await p.call('CONFIG', 'GET', 'slowlog*')), names(await d.call('CONFIG', 'GET', 'slowlog*')));
  assert.match(
    await p.call('CONFIG', 'GET', 'timeout'),
    new RegExp(`\\$7\\r\\ntimeout\\r\\n\\$\\d+\\r\\n${c.proxy.ctx.config.sessionRecvTimeout / 1000}\\r\\n`),
  );
  assert.match(await p.call('CONFIG', 'GET', 'latency-monitor-threshold'), /\r\n15\r\n$/, 'the slow-log threshold (15000 us) in ms');
  const all = await p.call('CONFIG', 'GET', '*');
  assert.match(all, /^\*12\r\n/, 'six settings');
  assert.doesNotMatch(all, /requirepass|masterauth|dir\r\n/, 'no backend setting leaks');
  // RESP3: a map, as redis-server.
  await p.call('HELLO', '3');
  await d.call('HELLO', '3');
  assert.equal(await p.call('CONFIG', 'GET', 'maxclients'), await d.call('CONFIG', 'GET', 'maxclients'));
  assert.match(await p.call('CONFIG', 'GET', 'maxclients', 'databases'), /^%2\r\n/);
  assert.match(await p.call('CONFIG', 'SET', 'maxclients', '5'), /^-ERR command 'CONFIG SET' is not allowed: only CONFIG GET/);
});

/** ~40 ms of work at the server (a Lua busy loop on TIME), on key k. */
const SLOW = [
  'EVAL',
  "local t0 = redis.call('TIME') local s = t0[1] * 1000000 + t0[2] while true do local t = redis.call('TIME') if t[1] * 1000000 + t[2] - s > 40000 then break end end return 1",
  '1',
  '{adm}slow',
];

test('LATENCY LATEST / HISTORY / RESET / DOCTOR of the proxy answer in the shapes of redis-server; GRAPH and HISTOGRAM are refused', async () => {
  const [p, d] = await Promise.all([connect(c.port), connect(direct.port)]);
  assert.equal(await d.call('CONFIG', 'SET', 'latency-monitor-threshold', '15'), '+OK\r\n');
  await p.call('LATENCY', 'RESET');
  await d.call('LATENCY', 'RESET');
  for (const x of [p, d]) {
    assert.equal(await x.call('LATENCY', 'HISTORY', 'nosuchevent'), '*0\r\n');
    assert.equal(await x.call(...SLOW), ':1\r\n');
  }
  // Every entry is [event, time, latest, max]; a loaded machine may add other spikes (Redis: fast-command).
  const entries = /^\*[1-9]\r\n(\*4\r\n\$\d+\r\n[a-z-]+\r\n:\d+\r\n:\d+\r\n:\d+\r\n)+$/;
  const latest = /\*4\r\n\$7\r\ncommand\r\n:\d+\r\n:\d+\r\n:(\d+)\r\n/;
  for (const x of [p, d]) {
    const r = await x.call('LATENCY', 'LATEST');
    assert.match(r, entries);
    assert.match(r, latest);
    assert.ok(Number(latest.exec(r)![1]) >= 40, r);
    assert.match(await x.call('LATENCY', 'HISTORY', 'command'), /^\*[1-9]\d*\r\n(\*2\r\n:\d+\r\n:\d+\r\n)+$/);
    assert.match(await x.call('LATENCY', 'DOCTOR'), /^\$\d+\r\n/);
  }
  assert.match(await p.call('LATENCY', 'DOCTOR'), /latency spike/);
  assert.equal(await p.call('LATENCY', 'RESET', 'command', 'nosuchevent'), await d.call('LATENCY', 'RESET', 'command', 'nosuchevent'));
  // The 40 ms spike is gone (another slow command may have been recorded since, on a loaded machine).
  for (const x of [p, d]) assert.ok(Number(latest.exec(await x.call('LATENCY', 'LATEST'))?.[1] ?? 0) < 40, 'reset');
  assert.equal(await p.call('LATENCY', 'HISTORY'), await d.call('LATENCY', 'HISTORY'), 'arity error');
  await p.call('HELLO', '3');
  await d.call('HELLO', '3');
  for (const x of [p, d]) assert.match(await x.call('LATENCY', 'DOCTOR'), /^=\d+\r\ntxt:/);
  assert.match(await p.call('LATENCY', 'GRAPH', 'command'), /^-ERR command 'LATENCY GRAPH' is not allowed: only LATENCY LATEST/);
  assert.match(await p.call('LATENCY', 'HISTOGRAM'), /^-ERR command 'LATENCY HISTOGRAM' is not allowed/);
});
