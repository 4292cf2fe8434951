// Hostile clients cannot hurt the proxy (a separate `shardis proxy` process, RSS read from /proc):
// thousands of connections that each declare a 512 MB bulk and then trickle one byte at a time keep
// the proxy's RSS under a stated bound while another client is served normally; a client whose
// partial request passes session_max_querybuf is told why and disconnected, and others are not; a
// client that keeps sending after a protocol error still reads the error (no reset discards it).
// Expected duration: about 20 s (opening the connections dominates).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRedisServer, type RedisServer } from '../../src/util/redis-server.js';
import { evenSlots } from '../../src/models/layout.js';
import { startProxyProcess } from '../../src/util/shardis-process.js';
import type { Spawned } from '../../src/util/processes.js';
import { RawClient } from '../helpers/raw-client.js';

let dir: string;
const servers: RedisServer[] = [];
let proxy: { proc: Spawned; port: number; adminPort: number };

/** How many connections this machine's file-descriptor limit allows the test (up to 10 000). */
function connectionBudget(): number {
  const soft = Number(execFileSync('sh', ['-c', 'ulimit -n']).toString().trim());
  return Number.isFinite(soft) ? Math.max(500, Math.min(10000, soft - 300)) : 1000;
}

const rssKb = (pid: number): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN);

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'shardis-hostile-'));
  for (let i = 0; i < 2; i++) servers.push(await startRedisServer());
  const slotsFile = join(dir, 'slots.json');
  writeFileSync(slotsFile, JSON.stringify(evenSlots(servers.map((s, i) => ({ id: i + 1, addr: s.addr })))));
  proxy = await startProxyProcess(
    [
      '--fillslots',
      slotsFile,
      '--proxy-addr',
      '127.0.0.1:0',
      '--admin-addr',
      '127.0.0.1:0',
      '--proxy-max-clients',
      '20000',
      '--session-max-querybuf',
      '4mb',
    ],
    join(dir, 'proxy.log'),
  );
});
after(async () => {
  await proxy?.proc.stop();
  await Promise.all(servers.map((s) => s.stop()));
  rmSync(dir, { recursive: true, force: true });
});

function open(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1' }, () => resolve(s));
    s.once('error', reject);
  });
}

test('slow loris: connections declaring 512 MB bulks and trickling bytes keep the proxy RSS bounded and others served', async () => {
  const n = connectionBudget();
  const c = await RawClient.connect(proxy.port);
  assert.equal(await c.call('SET', 'probe', 'before'), '+OK\r\n');
  const base = rssKb(proxy.proc.pid);
  const socks: net.Socket[] = [];
  try {
    for (let i = 0; i < n; i += 200) {
      const batch = await Promise.all(Array.from({ length: Math.min(200, n - i) }, () => open(proxy.port)));
      for (const s of batch) {
        s.on('error', () => {});
        s.write(`*3\r\n$3\r\nSET\r\n$4\r\nslow\r\n$${512 * 1024 * 1024}\r\n`);
      }
      socks.push(...batch);
    }
    let peak = rssKb(proxy.proc.pid);
    // Five rounds of one more byte on every connection, with normal traffic in between.
    for (let round = 0; round < 5; round++) {
      for (const s of socks) s.write('x');
      assert.equal(
        await c.call('SET', 'probe', `round${round}`),
        '+OK\r\n',
        'another client is served while the loris connections trickle',
      );
      assert.equal(await c.call('GET', 'probe'), `$6\r\nround${round}\r\n`);
      peak = Math.max(peak, rssKb(proxy.proc.pid));
    }
    const perConnKb = (peak - base) / n;
    console.log(`# ${n} slow-loris connections: proxy RSS ${base} kB -> peak ${peak} kB (${perConnKb.toFixed(1)} kB per connection)`);
    // The stated bound: 16 kB per held connection on top of the idle proxy (a 512 MB declaration costs nothing up front).
    assert.ok(peak - base < 16 * n + 20 * 1024, `RSS grew by ${peak - base} kB for ${n} connections`);
  } finally {
    for (const s of socks) s.destroy();
    c.close();
  }
});

test('a client that keeps sending after a protocol error still reads the error: the proxy half-closes and lingers instead of resetting', async () => {
  const s = net.connect(proxy.port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => s.once('connect', resolve).once('error', reject));
  const got: Buffer[] = [];
  let failure: Error | null = null;
  s.on('data', (b: Buffer) => got.push(b));
  s.on('error', (e) => (failure = e));
  const ended = new Promise<void>((resolve) => s.once('close', () => resolve()));
  try {
    // Not read yet: the reply waits in the kernel, as with a client busy writing a big request.
    s.pause();
    s.write('*1\r\n$abc\r\n');
    // Keep sending for 300 ms (bounded): a proxy that closed at once would answer these with a reset,
    // and a reset discards the unread error reply.
    const junk = Buffer.alloc(16 * 1024, 0x61);
    const until = Date.now() + 300;
    for (let i = 0; i < 10000 && Date.now() < until && !s.destroyed; i++) {
      if (!s.write(junk)) await new Promise((r) => setTimeout(r, 5));
      else await new Promise((r) => setImmediate(r));
    }
    s.resume();
    s.end();
    await Promise.race([ended, new Promise((_r, rej) => setTimeout(() => rej(new Error('not closed within 5 s')), 5000))]);
    assert.equal(failure, null, 'the client saw an error (a reset?)');
    assert.match(Buffer.concat(got).toString('latin1'), /^-ERR Protocol error: invalid bulk length\r\n$/);
  } finally {
    s.destroy();
  }
});

test('a partial request larger than session_max_querybuf is refused with a reason and the connection closed; others unaffected', async () => {
  const bad = await RawClient.connect(proxy.port);
  const good = await RawClient.connect(proxy.port);
  try {
    bad.write(`*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$${64 * 1024 * 1024}\r\n`);
    const chunk = Buffer.alloc(256 * 1024, 0x61);
    for (let i = 0; i < 20 && !bad.closed; i++) bad.write(chunk);
    const reply = await bad.read(10000);
    assert.match(reply, /^-ERR Protocol error: client query buffer over session_max_querybuf/);
    await Promise.race([bad.closedPromise, new Promise((_r, rej) => setTimeout(() => rej(new Error('not closed')), 10000))]);
    assert.equal(await good.call('PING'), '+PONG\r\n');
    assert.equal(await good.call('EXISTS', 'k'), ':0\r\n', 'the oversized SET never ran');
  } finally {
    bad.close();
    good.close();
  }
});
