// Commands through a Twemproxy-mode pool (in-process runTwemproxy over two password-protected
// redis-servers): redis_auth required from clients and sent to servers, redis_db used on every
// server connection, SELECT refused, split MGET/MSET/DEL/EXISTS merged in key order, multi-key
// commands across servers refused with CROSSSLOT while keys under one hash_tag run (EVAL too),
// commands answered over every server of the pool (DBSIZE), RESP3, and the stats/metrics counters;
// a second pool for client_connections, preconnect and timeout (a server that never answers).
// Expected duration: ~3-5 s.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startRedisServer, type RedisServer } from '../../src/util/redis-server.js';
import { freePort } from '../../src/util/free-port.js';
import { defaultProxyConfig } from '../../src/proxy/config.js';
import { parseNutcrackerConfig, type NutPool } from '../../src/twemproxy/config.js';
import { PoolDistribution } from '../../src/twemproxy/distribution.js';
import { runTwemproxy, type TwemproxyRunning } from '../../src/twemproxy/run.js';
import { parseStats } from '../../src/twemproxy/stats-json.js';
import { readStatsPort } from '../../src/util/nutcracker-server.js';
import { httpJson } from '../../src/util/http-json.js';
import { RawClient } from '../helpers/raw-client.js';
import net from 'node:net';
import { encodeCommand } from '../../src/resp/encode.js';

const PW = 'pool-secret';
let servers: RedisServer[] = [];
let running: TwemproxyRunning | undefined;
let pool: NutPool;
let port = 0;
let c: RawClient;
let blackHole: net.Server;
const holeSockets = new Set<net.Socket>();
let limitedPort = 0;

before(async () => {
  servers = await Promise.all([0, 1].map(() => startRedisServer({ password: PW })));
  port = await freePort();
  limitedPort = await freePort();
  // A server that accepts connections, reads, and never answers.
  blackHole = net.createServer((sock) => {
    holeSockets.add(sock);
    sock.resume();
    sock.on('error', () => {});
    sock.on('close', () => holeSockets.delete(sock));
  });
  await new Promise<void>((r) => blackHole.listen(0, '127.0.0.1', () => r()));
  const holePort = (blackHole.address() as net.AddressInfo).port;
  const pools = parseNutcrackerConfig(
    [
      'p:',
      `  listen: 127.0.0.1:${port}`,
      '  hash: fnv1a_64',
      '  hash_tag: "{}"',
      '  distribution: ketama',
      '  redis: true',
      `  redis_auth: ${PW}`,
      '  redis_db: 5',
      '  servers:',
      ...servers.map((s, i) => `   - ${s.addr}:1 s${i}`),
      'limited:',
      `  listen: 127.0.0.1:${limitedPort}`,
      '  redis: true',
      '  client_connections: 1',
      '  preconnect: true',
      '  timeout: 300',
      '  servers:',
      `   - 127.0.0.1:${holePort}:1 hole`,
      '',
    ].join('\n'),
  );
  pool = pools.find((x) => x.name === 'p')!;
  running = await runTwemproxy({
    pools,
    base: defaultProxyConfig(),
    stats: { host: '127.0.0.1', port: 0 },
    adminAddr: '127.0.0.1:0',
    log: () => {},
  });
  c = await RawClient.connect(port);
});

after(async () => {
  c?.close();
  await running?.shutdown();
  for (const sock of holeSockets) sock.destroy();
  await new Promise<void>((r) => blackHole.close(() => r()));
  await Promise.all(servers.map((s) => s.stop()));
});

const dist = (): PoolDistribution =>
  new PoolDistribution({ hash: pool.hash, distribution: pool.distribution, hashTag: pool.hashTag, servers: pool.servers });
/** Two keys on different servers. */
function keysOnTwoServers(): [string, string] {
  const d = dist();
  const a = 'a0';
  for (let i = 1; i < 1000; i++) if (d.serverOfKey(`a${i}`) !== d.serverOfKey(a)) return [a, `a${i}`];
  throw new Error('no two keys on different servers');
}

test('redis_auth: clients must AUTH with it; the proxy authenticates to the servers and selects redis_db', async () => {
  assert.match(await c.call('GET', 'x'), /^-NOAUTH/);
  assert.match(await c.call('AUTH', 'wrong'), /^-/);
  assert.equal(await c.call('AUTH', PW), '+OK\r\n');
  assert.equal(await c.call('SET', 'dbkey', 'v'), '+OK\r\n');
  const holder = servers[dist().serverOfKey('dbkey')]!;
  const d = await RawClient.connect(holder.port);
  try {
    await d.call('AUTH', PW);
    assert.equal(await d.call('EXISTS', 'dbkey'), ':0\r\n', 'not in DB 0');
    await d.call('SELECT', '5');
    assert.equal(await d.call('EXISTS', 'dbkey'), ':1\r\n', 'in redis_db 5');
  } finally {
    d.close();
  }
  assert.match(await c.call('SELECT', '1'), /^-ERR SELECT is not supported by pool 'p'/);
});

test('a MULTI this mode cannot honour never runs piecemeal: the commands after it are refused and EXEC aborts', async () => {
  // Pipelined, as redis-py's transaction=True sends it (the session is authenticated by the test above).
  c.write(encodeCommand(['MULTI']));
  c.write(encodeCommand(['INCR', 'tx:counter']));
  c.write(encodeCommand(['EXEC']));
  assert.match(await c.read(), /^-ERR 'multi' is not available in Twemproxy mode/);
  assert.match(await c.read(), /^-ERR command not run/);
  assert.match(await c.read(), /^-EXECABORT/);
  assert.equal(await c.call('EXISTS', 'tx:counter'), ':0\r\n');
});

test('split commands merge in key order across servers; cross-server multi-key commands get CROSSSLOT', async () => {
  const [k1, k2] = keysOnTwoServers();
  assert.equal(await c.call('MSET', k1, '1', k2, '2'), '+OK\r\n');
  assert.equal(await c.call('MGET', k2, 'missing', k1), '*3\r\n$1\r\n2\r\n$-1\r\n$1\r\n1\r\n');
  assert.equal(await c.call('EXISTS', k1, k2, 'missing'), ':2\r\n');
  assert.match(await c.call('SINTER', k1, k2), /^-CROSSSLOT Keys in request don't hash to the same server of pool 'p'.*hash_tag "\{\}"/);
  assert.match(await c.call('EVAL', 'return redis.call("GET", KEYS[1])', '2', k1, k2), /^-CROSSSLOT/);
  assert.equal(await c.call('SADD', '{t}:a', 'x', 'y'), ':2\r\n');
  assert.equal(await c.call('SADD', '{t}:b', 'y'), ':1\r\n');
  assert.equal(await c.call('SINTER', '{t}:a', '{t}:b'), '*1\r\n$1\r\ny\r\n');
  assert.equal(await c.call('EVAL', 'return redis.call("SCARD", KEYS[1]) + redis.call("SCARD", KEYS[2])', '2', '{t}:a', '{t}:b'), ':3\r\n');
  assert.equal(await c.call('DEL', k1, k2, '{t}:a', '{t}:b'), ':4\r\n');
});

test('commands over every server of the pool, RESP3, and counters in the stats document and /metrics', async () => {
  const [k1, k2] = keysOnTwoServers();
  await c.call('SET', k1, '1');
  await c.call('SET', k2, '2');
  assert.equal(await c.call('DBSIZE'), ':3\r\n'); // dbkey, k1, k2 in redis_db 5 over both servers
  assert.equal(await c.call('PING'), '+PONG\r\n');
  assert.match(await c.call('HELLO', '3'), /^%/);
  assert.equal(await c.call('GET', k1), '$1\r\n1\r\n');
  const doc = parseStats(await readStatsPort('127.0.0.1', running!.statsPort));
  const p = doc.pools.get('p')!;
  assert.equal(p.counters.client_connections, 1);
  const served = [...p.servers.values()];
  assert.ok(served.every((s) => s.requests > 0 && s.responses === s.requests && s.server_connections >= 1));
  const metrics = (await httpJson('GET', `127.0.0.1:${running!.adminPort}`, '/metrics', { timeoutMs: 3000 })).text;
  assert.match(metrics, /shardis_twemproxy_server_requests_total\{pool="p",server="s0"\} [1-9]/);
  assert.match(metrics, /shardis_twemproxy_server_live\{pool="p",server="s1"\} 1/);
});

test('client_connections, preconnect and timeout of a pool', async () => {
  // preconnect: the pool's server connection is up before any client asked for anything.
  const { waitFor } = await import('../../src/util/processes.js');
  await waitFor(
    'preconnected server connection',
    async () =>
      parseStats(await readStatsPort('127.0.0.1', running!.statsPort))
        .pools.get('limited')!
        .servers.get('hole')!.server_connections === 1,
    5000,
  );
  const first = await RawClient.connect(limitedPort);
  const second = await RawClient.connect(limitedPort);
  try {
    assert.match(await second.read(), /^-ERR max number of clients reached/);
    // timeout: 300 ms — a server that never answers fails the request (checked once a second).
    const t0 = Date.now();
    assert.match(await first.call('GET', 'x'), /^-ERR backend .* no reply for 300 ms/);
    assert.ok(Date.now() - t0 < 3000, 'timed out within timeout + the 1 s check period');
    const st = parseStats(await readStatsPort('127.0.0.1', running!.statsPort)).pools.get('limited')!;
    assert.equal(st.servers.get('hole')!.server_timedout, 1);
    assert.ok(st.counters.forward_error >= 1);
  } finally {
    first.close();
    second.close();
  }
});
