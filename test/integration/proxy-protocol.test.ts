// Protocol-level behaviour through the proxy: AUTH and HELLO (RESP2/RESP3), deep pipelines answered
// in order, malformed input, clients vanishing mid-pipeline, a backend dying mid-pipeline, and
// unchanged ioredis / node-redis clients.
// Expected duration: about 15 s on a quiet 2-core machine.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { createClient, RESP_TYPES } from 'redis';
import { startTestCluster, type TestCluster } from '../helpers/proxy-cluster.js';
import { RawClient } from '../helpers/raw-client.js';
import { encodeCommand } from '../../src/resp/encode.js';
import { slotOf } from '../../src/slots/hash.js';
import { rawCommand } from '../../src/util/redis-server.js';
import { eventually, withDeadline } from '../helpers/poll.js';

const clusters: TestCluster[] = [];
after(async () => {
  for (const c of clusters) await c.stop();
});
async function cluster(o: Parameters<typeof startTestCluster>[0] = {}): Promise<TestCluster> {
  const c = await startTestCluster(o);
  clusters.push(c);
  return c;
}

test('AUTH with session_auth, AUTH user pass, HELLO AUTH; backends get the product password', async () => {
  const c = await cluster({ config: { sessionAuth: 's3cret' }, redisPassword: 'backendpw' });
  const cl = await RawClient.connect(c.port);
  assert.match(await cl.call('GET', 'a'), /^-NOAUTH/);
  assert.match(await cl.call('AUTH', 'wrong'), /^-WRONGPASS/);
  assert.equal(await cl.call('PING'), '+PONG\r\n'.replace('+PONG', '-NOAUTH Authentication required.'));
  assert.equal(await cl.call('AUTH', 's3cret'), '+OK\r\n');
  assert.equal(await cl.call('SET', 'a', '1'), '+OK\r\n');
  assert.equal(await cl.call('GET', 'a'), '$1\r\n1\r\n');
  cl.close();
  const cl2 = await RawClient.connect(c.port);
  assert.match(await cl2.call('AUTH', 'bob', 's3cret'), /^-WRONGPASS/);
  assert.equal(await cl2.call('AUTH', 'default', 's3cret'), '+OK\r\n');
  cl2.close();
  const cl3 = await RawClient.connect(c.port);
  assert.match(await cl3.call('HELLO', '3'), /^-NOAUTH/);
  const hello = await cl3.call('HELLO', '3', 'AUTH', 'default', 's3cret', 'SETNAME', 'h3');
  assert.match(hello, /^%8\r\n/);
  assert.match(hello, /\$5\r\nproto\r\n:3\r\n/);
  assert.match(await cl3.call('CLIENT', 'GETNAME'), /^\$2\r\nh3/);
  cl3.close();
  const io = new Redis({ port: c.port, password: 's3cret' });
  assert.equal(await io.set('b', '2'), 'OK');
  io.disconnect();
});

test('HELLO 3 switches the session to RESP3 replies, HELLO 2 back', async () => {
  const c = await cluster();
  const cl = await RawClient.connect(c.port);
  assert.match(await cl.call('HELLO', '4'), /^-NOPROTO/);
  const h = await cl.call('HELLO', '3');
  assert.match(h, /^%8\r\n\$6\r\nserver\r\n\$5\r\nredis\r\n/);
  await cl.call('HSET', 'h', 'f', 'v');
  assert.equal(await cl.call('HGETALL', 'h'), '%1\r\n$1\r\nf\r\n$1\r\nv\r\n');
  assert.equal(await cl.call('GET', 'nope'), '_\r\n');
  await cl.call('ZADD', 'z', '1.5', 'm');
  assert.equal(await cl.call('ZSCORE', 'z', 'm'), ',1.5\r\n');
  assert.match(await cl.call('HELLO', '2'), /^\*16\r\n/);
  assert.equal(await cl.call('HGETALL', 'h'), '*2\r\n$1\r\nf\r\n$1\r\nv\r\n');
  assert.equal(await cl.call('GET', 'nope'), '$-1\r\n');
  cl.close();
});

test('10 000 pipelined commands are answered in order', async () => {
  const c = await cluster();
  const cl = await RawClient.connect(c.port);
  const parts: Buffer[] = [];
  for (let i = 0; i < 5000; i++) parts.push(encodeCommand(['SET', `p:${i}`, String(i)]), encodeCommand(['GET', `p:${i}`]));
  cl.write(Buffer.concat(parts));
  for (let i = 0; i < 5000; i++) {
    assert.equal(await cl.read(), '+OK\r\n');
    const v = String(i);
    assert.equal(await cl.read(), `$${v.length}\r\n${v}\r\n`);
  }
  // Mixed local, split and forwarded commands stay in order too.
  cl.write(
    Buffer.concat([
      encodeCommand(['PING']),
      encodeCommand(['MGET', 'p:1', 'p:2', 'p:3']),
      encodeCommand(['ECHO', 'z']),
      encodeCommand(['GET', 'p:4']),
    ]),
  );
  assert.equal(await cl.read(), '+PONG\r\n');
  assert.equal(await cl.read(), '*3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n');
  assert.equal(await cl.read(), '$1\r\nz\r\n');
  assert.equal(await cl.read(), '$1\r\n4\r\n');
  cl.close();
});

test('malformed frames get a protocol error and then the connection closes', async () => {
  const c = await cluster();
  for (const bad of ['*2\r\n$3\r\nGET\r\n:1\r\n', '*1\r\n$-7\r\n', '*x\r\n', `*1\r\n$${600 * 1024 * 1024}\r\n`, 'SET "a\r\n']) {
    const cl = await RawClient.connect(c.port);
    cl.write(encodeCommand(['SET', 'before', 'ok']));
    cl.write(bad);
    assert.equal(await cl.read(), '+OK\r\n', 'requests before the bad frame are answered');
    assert.match(await cl.read(), /^-ERR Protocol error: /);
    await withDeadline('the proxy to close the connection', cl.closedPromise, 10000);
  }
  const ok = await RawClient.connect(c.port);
  assert.equal(await ok.call('PING'), '+PONG\r\n');
  ok.close();
  assert.ok(c.proxy.ctx.stats.protocolErrors >= 5);
});

test('lengths in every form Redis rejects or accepts get the same reply as from redis-server', async () => {
  const c = await cluster();
  const server = c.servers[0]!;
  const frames = [
    '*2\r\n$4\r\nECHO\r\n$03\r\nabc\r\n', // leading zero in a bulk length
    '*02\r\n$4\r\nECHO\r\n$3\r\nabc\r\n', // leading zero in a multibulk length
    '*2\r\n$4\r\nECHO\r\n$-0\r\nabc\r\n',
    '*-0\r\n',
    '*2\r\n$4\r\nECHO\r\n$+3\r\nabc\r\n',
    '*+2\r\n$4\r\nECHO\r\n$3\r\nabc\r\n',
    '*2\r\n$4\r\nECHO\r\n$ 3\r\nabc\r\n',
    '*2\r\n$4\r\nECHO\r\n$0\r\n\r\n', // accepted: an empty argument
    '*0\r\n*1\r\n$4\r\nPING\r\n', // accepted: an empty array is skipped
    '*-1\r\n*1\r\n$4\r\nPING\r\n',
  ];
  for (const f of frames) {
    const replies: string[] = [];
    for (const port of [server.port, c.port]) {
      const cl = await RawClient.connect(port);
      cl.write(f);
      replies.push(await cl.read());
      cl.close();
    }
    assert.equal(replies[1], replies[0], `proxy and redis-server answer ${JSON.stringify(f)} alike`);
  }
});

test('a client vanishing mid-pipeline does not disturb the proxy or other clients', async () => {
  const c = await cluster();
  const other = await RawClient.connect(c.port);
  for (let round = 0; round < 5; round++) {
    const cl = await RawClient.connect(c.port);
    const parts: Buffer[] = [];
    for (let i = 0; i < 20000; i++) parts.push(encodeCommand(['INCR', `vanish:${i % 100}`]));
    const all = Buffer.concat(parts);
    cl.write(all.subarray(0, Math.floor(all.length * 0.7) + 3)); // cut mid-frame
    // Mid-pipeline: the proxy is answering it (first reply read) when the client goes away.
    assert.match(await cl.read(5000), /^:\d+\r\n$/);
    cl.socket.destroy();
    assert.equal(await other.call('PING'), '+PONG\r\n');
  }
  assert.equal(await other.call('SET', 'after', 'x'), '+OK\r\n');
  // Every session's state is gone.
  await eventually('the vanished sessions to be gone', () => c.proxy.ctx.sessions.size === 1, 5000, 20);
  other.close();
});

test('a backend killed mid-pipeline: its requests get errors at once, the other group keeps serving', async () => {
  const c = await cluster();
  const victim = c.servers[0]!;
  const survivor = c.servers[1]!;
  const keyOn = (addr: string, prefix: string): string => {
    for (let i = 0; ; i++) if (c.slots[slotOf(`${prefix}${i}`)]!.backend_addr === addr) return `${prefix}${i}`;
  };
  const kv = keyOn(victim.addr, 'v'),
    ks = keyOn(survivor.addr, 's');
  const cl = await RawClient.connect(c.port);
  assert.equal(await cl.call('SET', kv, '1'), '+OK\r\n');
  // A slow Lua script holds the victim busy, so requests queue behind it; then kill -9.
  cl.send(
    'EVAL',
    'local t = redis.call("TIME"); while true do local n = redis.call("TIME"); if (n[1]-t[1])*1000000 + (n[2]-t[2]) > 3000000 then break end end return 1',
    '1',
    kv,
  );
  for (let i = 0; i < 100; i++) cl.send('GET', kv);
  // The script runs on the victim once a direct PING gets no answer (redis is single-threaded).
  await eventually(
    'the slow script to run on the victim',
    () =>
      rawCommand(victim.host, victim.port, 'PING', undefined, 150).then(
        () => false,
        () => true,
      ),
    5000,
    20,
  );
  await victim.kill9();
  // "At once": the deadlines below are far shorter than the 3 s script, or any backend timeout.
  const first = await cl.read(2000);
  assert.match(first, /^-ERR backend .* connection lost/);
  for (let i = 0; i < 100; i++) assert.match(await cl.read(1000), /^-ERR backend/);
  assert.equal(await cl.call('SET', ks, '2'), '+OK\r\n');
  assert.equal(await cl.call('GET', ks), '$1\r\n2\r\n');
  assert.match(await cl.call('GET', kv), /^-ERR backend/);
  const mget = await cl.call('MGET', ks, kv);
  assert.match(mget, /^-ERR backend/);
  cl.close();
});

test('ioredis and node-redis work unchanged through the proxy', async () => {
  const c = await cluster();
  const io = new Redis({ port: c.port });
  const pipe = io.pipeline();
  for (let i = 0; i < 100; i++) pipe.set(`io:${i}`, String(i));
  const results = await pipe.exec();
  assert.deepEqual(
    results,
    Array.from({ length: 100 }, () => [null, 'OK']),
    'every pipelined SET succeeded',
  );
  assert.equal(await io.get('io:42'), '42');
  assert.deepEqual(await io.mget('io:1', 'io:2'), ['1', '2']);
  io.disconnect();

  const nr = createClient({ socket: { port: c.port, host: '127.0.0.1' } });
  await nr.connect();
  await nr.set('nr:1', 'x');
  assert.equal(await nr.get('nr:1'), 'x');
  await nr.hSet('nr:h', { a: '1', b: '2' });
  assert.deepEqual({ ...(await nr.hGetAll('nr:h')) }, { a: '1', b: '2' });
  assert.deepEqual(await nr.mGet(['io:3', 'nr:1']), ['3', 'x']);
  await nr.quit();

  const nr3 = createClient({ socket: { port: c.port, host: '127.0.0.1' }, RESP: 3 });
  await nr3.connect();
  await nr3.hSet('nr3:h', { a: '1' });
  const h = await nr3.withTypeMapping({ [RESP_TYPES.MAP]: Map }).hGetAll('nr3:h');
  assert.ok(h instanceof Map);
  assert.equal(await nr3.ping(), 'PONG');
  await nr3.quit();
});

test('SLOWLOG: commands slower than the threshold are logged, newest first, with their arguments', async () => {
  const c = await cluster({ config: { slowlogSlowerThan: 50_000, slowlogMaxLen: 2 } });
  const cl = await RawClient.connect(c.port);
  const busy = (ms: number): string =>
    `local t = redis.call("TIME"); while true do local n = redis.call("TIME"); if (n[1]-t[1])*1000000 + (n[2]-t[2]) > ${ms * 1000} then break end end return 1`;
  assert.equal(await cl.call('SET', 'fast', '1'), '+OK\r\n');
  assert.equal(await cl.call('EVAL', busy(80), '0'), ':1\r\n');
  assert.equal(await cl.call('SLOWLOG', 'LEN'), ':1\r\n');
  const entry = await cl.call('SLOWLOG', 'GET');
  assert.match(entry, /^\*1\r\n\*6\r\n:0\r\n:\d+\r\n:(\d+)\r\n\*3\r\n\$4\r\nEVAL\r\n/);
  assert.ok(Number(/:(\d+)\r\n\*3/.exec(entry)![1]) >= 80_000);
  await cl.call('EVAL', busy(60), '0');
  await cl.call('EVAL', busy(60), '0');
  assert.equal(await cl.call('SLOWLOG', 'LEN'), ':2\r\n', 'bounded by slowlog_max_len');
  assert.match(await cl.call('SLOWLOG', 'GET', '1'), /^\*1\r\n\*6\r\n:2\r\n/);
  assert.equal(await cl.call('SLOWLOG', 'RESET'), '+OK\r\n');
  assert.equal(await cl.call('SLOWLOG', 'LEN'), ':0\r\n');
  cl.close();
});
