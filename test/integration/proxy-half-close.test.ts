// A client that sends a pipeline and then half-closes its socket (shutdown(SHUT_WR), what
// `printf ... | nc -q1` does) gets every reply, like from a direct redis-server: small and large
// pipelines, RESP2 multibulk and inline, and while the proxy has stopped reading from the client
// (pipeline limit or output-buffer limit) when the EOF arrives. Each case runs against the proxy and a
// direct redis-server with the same key names and compares the replies one by one (except the
// output-buffer case, where redis itself drops replies; there the exact replies are checked).
// Expected duration: ~2 s quiet, ~6 s on a loaded 2-core machine.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startTestCluster, type TestCluster } from '../helpers/proxy-cluster.js';
import { startRedisServer, type RedisServer } from '../../src/util/redis-server.js';
import { encodeCommand } from '../../src/resp/encode.js';
import { scanReply } from '../../src/resp/reply-scanner.js';
import { readFileSync } from 'node:fs';

let c: TestCluster;
let small: TestCluster;
let direct: RedisServer;
before(async () => {
  c = await startTestCluster();
  // Tiny limits: the session is paused (pipeline or outbuf) when the client's EOF arrives.
  small = await startTestCluster({ config: { sessionMaxPipeline: 8, sessionMaxOutbuf: 64 * 1024 } });
  direct = await startRedisServer();
});
after(async () => {
  await c?.stop();
  await small?.stop();
  await direct?.stop();
});

/**
 * Connects, writes `payload`, half-closes, and collects every reply until the server closes.
 * `holdReading`: do not read until `ready()` resolves (the client is slow to read its replies).
 */
function halfClose(port: number, payload: Buffer, holdReading?: () => Promise<void>): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error(`no close within 20 s (got ${Buffer.concat(chunks).length} bytes)`));
    }, 20000);
    s.on('data', (d) => chunks.push(d));
    s.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    s.on('close', () => {
      clearTimeout(timer);
      const buf = Buffer.concat(chunks);
      const out: string[] = [];
      let p = 0;
      while (p < buf.length) {
        const e = scanReply(buf, p);
        if (e < 0) {
          reject(new Error(`truncated reply at byte ${p} of ${buf.length}`));
          return;
        }
        out.push(buf.toString('latin1', p, e));
        p = e;
      }
      resolve(out);
    });
    s.on('connect', () => {
      if (holdReading) s.pause();
      s.end(payload);
      if (holdReading)
        void holdReading().then(
          () => s.resume(),
          (e: Error) => {
            s.destroy();
            reject(e);
          },
        );
    });
  });
}

const resp = (cmds: string[][]): Buffer => Buffer.concat(cmds.map((a) => encodeCommand(a)));
const inline = (cmds: string[][]): Buffer => Buffer.from(cmds.map((a) => a.join(' ') + '\r\n').join(''), 'latin1');

/** Runs `build(prefix)` against the proxy at `port` and against the direct server; replies must be equal. */
async function same(port: number, build: (prefix: string) => Buffer, expectCount: number, hold?: () => Promise<void>): Promise<void> {
  const tag = Math.random().toString(36).slice(2, 8);
  const viaProxy = await halfClose(port, build(`hc:${tag}:`), hold);
  const viaRedis = await halfClose(direct.port, build(`hc:${tag}:`));
  assert.equal(viaRedis.length, expectCount, 'direct redis answers every request');
  assert.equal(viaProxy.length, viaRedis.length, 'the proxy answers as many requests as redis');
  assert.deepEqual(viaProxy, viaRedis);
}

const selectSetGet = (p: string): string[][] => [
  ['SELECT', '1'],
  ['SET', `${p}k`, 'v1'],
  ['SELECT', '0'],
  ['GET', `${p}k`],
];
const incrs = (p: string, n: number): string[][] => Array.from({ length: n }, (_, i) => ['INCR', `${p}n${i % 50}`]);

test('half-close after SELECT/SET/SELECT/GET: all 4 replies (RESP2 and inline)', async () => {
  await same(c.port, (p) => resp(selectSetGet(p)), 4);
  await same(c.port, (p) => inline(selectSetGet(p)), 4);
});

test('half-close after 10 000 pipelined INCRs: 10 000 replies (RESP2 and inline)', async () => {
  await same(c.port, (p) => resp(incrs(p, 10000)), 10000);
  await same(c.port, (p) => inline(incrs(p, 10000)), 10000);
});

test('half-close after a pipeline mixing local, split and keyed commands', async () => {
  const mixed = (p: string): string[][] => [
    ['PING'],
    ['MSET', `${p}a`, '1', `${p}b`, '2', `${p}c`, '3'],
    ['ECHO', 'x'],
    ['MGET', `${p}a`, `${p}b`, `${p}c`],
    ['DEL', `${p}a`, `${p}b`],
    ['GET', `${p}c`],
    ['EXISTS', `${p}a`, `${p}c`],
  ];
  await same(c.port, (p) => resp(mixed(p)), 7);
});

test('half-close while the proxy has paused the client at its pipeline limit (8): every reply', async () => {
  await same(small.port, (p) => resp(incrs(p, 3000)), 3000);
  await same(small.port, (p) => inline(incrs(p, 3000)), 3000);
});

test('half-close while the proxy has paused the client for its output buffer: every reply', async () => {
  const big = 'x'.repeat(100 * 1024);
  // More reply bytes than this machine's loopback socket buffers can absorb (tcp_rmem + tcp_wmem maxima),
  // so that the proxy's own output buffer fills and it stops reading the client.
  const maxOf = (f: string): number => Number(readFileSync(f, 'utf8').trim().split(/\s+/)[2] ?? 6291456);
  const kernel = maxOf('/proc/sys/net/ipv4/tcp_rmem') + maxOf('/proc/sys/net/ipv4/tcp_wmem');
  const n = Math.ceil((kernel * 1.5) / big.length) + 10;
  const build = (p: string): Buffer =>
    resp([['SET', `${p}big`, big], ...Array.from({ length: n }, () => ['GET', `${p}big`]), ['DEL', `${p}big`]]);
  // The client reads nothing until the proxy has stopped reading from it for its output buffer.
  const waitPaused = async (): Promise<void> => {
    const deadline = Date.now() + 10000;
    for (;;) {
      if ([...small.proxy.ctx.sessions].some((s) => s.pausedFor === 'outbuf')) return;
      if (Date.now() > deadline) throw new Error('the session never paused for its output buffer');
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  // Not compared with a direct redis-server: redis frees a client as soon as it reads the EOF, and with
  // megabytes of replies still unsent it drops them. The replies are known, so check them exactly.
  const tag = Math.random().toString(36).slice(2, 8);
  const got = await halfClose(small.port, build(`hc:${tag}:`), waitPaused);
  const value = `$${big.length}\r\n${big}\r\n`;
  assert.equal(got.length, n + 2);
  assert.ok(
    got.every((r, i) => r === (i === 0 ? '+OK\r\n' : i === n + 1 ? ':1\r\n' : value)),
    'every reply, in order',
  );
});

test('a request cut off by the half-close is dropped; the complete ones before it are answered', async () => {
  const tag = Math.random().toString(36).slice(2, 8);
  const payload = Buffer.concat([
    resp([
      ['SET', `hc:${tag}:x`, '1'],
      ['GET', `hc:${tag}:x`],
    ]),
    Buffer.from('*2\r\n$3\r\nGET\r\n$5\r\nabc'),
  ]);
  const viaProxy = await halfClose(c.port, payload);
  const viaRedis = await halfClose(direct.port, payload);
  assert.deepEqual(viaProxy, ['+OK\r\n', '$1\r\n1\r\n']);
  assert.deepEqual(viaProxy, viaRedis);
});
