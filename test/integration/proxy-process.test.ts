// The proxy as a real process (`shardis proxy`): admin API (health, stats, slot table read/replace,
// /metrics), graceful SIGTERM, --workers N sharing one port, and bounded memory under a client that
// pipelines far faster than it reads. Expected duration: about 20 s.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { startRedisServer, type RedisServer } from '../../src/util/redis-server.js';
import { SHARDIS_BIN, SHARDIS_NODE_FLAGS, startProxyProcess } from '../../src/util/shardis-process.js';
import { spawnTracked } from '../../src/util/processes.js';
import { evenSlots } from '../../src/models/layout.js';
import { proxyXAuth, type ProxyModel } from '../../src/models/proxy.js';
import { RawClient } from '../helpers/raw-client.js';
import { encodeCommand } from '../../src/resp/encode.js';
import { slotOf } from '../../src/slots/hash.js';
import { eventually, withDeadline } from '../helpers/poll.js';
import { productBearer } from '../helpers/admin-auth.js';

const dir = mkdtempSync(join(tmpdir(), 'shardis-proxy-proc-'));
const servers: RedisServer[] = [];
const stops: Array<() => Promise<void>> = [];
after(async () => {
  for (const s of stops.reverse()) await s();
  for (const s of servers) await s.stop();
});

async function setup(
  extra: string[] = [],
): Promise<{ port: number; admin: string; pid: number; stop: () => Promise<void>; exited: Promise<number | string> }> {
  if (servers.length === 0) {
    servers.push(await startRedisServer(), await startRedisServer());
  }
  const file = join(dir, 'slots.json');
  writeFileSync(file, JSON.stringify(evenSlots(servers.map((s, i) => ({ id: i + 1, addr: s.addr })))));
  const p = await startProxyProcess(
    ['--fillslots', file, '--proxy-addr', '127.0.0.1:0', '--admin-addr', '127.0.0.1:0', ...extra],
    join(dir, 'proxy.log'),
  );
  stops.push(() => p.proc.stop());
  return { port: p.port, admin: `127.0.0.1:${p.adminPort}`, pid: p.proc.pid, stop: () => p.proc.stop(), exited: p.proc.exited };
}

/** The node options of a running process (its command line before the script). */
function nodeFlagsOf(pid: number): string[] {
  const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  const script = argv.findIndex((a) => a.endsWith('shardis.js'));
  assert.ok(script > 0, `pid ${pid} runs shardis.js: ${argv.join(' ')}`);
  return argv.slice(1, script);
}

const rssOf = (pid: number): number => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))![1]) * 1024;

test('admin API: health, model, stats, slot table read and replace, metrics', async () => {
  const p = await setup();
  const get = async (path: string): Promise<Response> => fetch(`http://${p.admin}${path}`, { headers: productBearer('shardis-demo') });
  const health = (await (await get('/health')).json()) as { status: string; online: boolean };
  assert.deepEqual([health.status, health.online], ['ok', true]);
  const model = (await (await get('/api/proxy/model')).json()) as ProxyModel;
  assert.equal(model.proxy_addr, `127.0.0.1:${p.port}`);
  const r = new Redis({ port: p.port });
  await r.set('m1', 'x');
  await r.get('m1');
  await r.get('m1');
  const stats = (await (await get('/proxy/stats')).json()) as { ops: { total: number; cmd: Array<{ opstr: string; calls: number }> } };
  assert.ok(stats.ops.total >= 3);
  assert.equal(stats.ops.cmd.find((c) => c.opstr === 'GET')?.calls, 2);
  const metrics = await (await get('/metrics')).text();
  assert.match(metrics, /shardis_proxy_command_calls_total\{product="shardis-demo",command="get"\} 2/);
  assert.match(metrics, /shardis_proxy_command_duration_seconds_bucket\{product="shardis-demo",command="get",le="\+Inf"\} 2/);
  assert.match(metrics, /shardis_proxy_sessions_alive\{product="shardis-demo"\} 1/);
  assert.match(metrics, /shardis_proxy_backend_connections_up\{product="shardis-demo",backend="127\.0\.0\.1:\d+"\} \d/);

  // Replace the table: move every slot to the second server.
  const xauth = proxyXAuth('shardis-demo', '', model.token);
  const bad = await fetch(`http://${p.admin}/api/proxy/fillslots/wrong`, {
    method: 'PUT',
    body: '[]',
    headers: { 'content-type': 'application/json' },
  });
  assert.equal(bad.status, 403);
  const malformed = await fetch(`http://${p.admin}/api/proxy/fillslots/${xauth}`, {
    method: 'PUT',
    body: JSON.stringify([{ id: 5000 }]),
    headers: { 'content-type': 'application/json' },
  });
  assert.equal(malformed.status, 400);
  const all = Array.from({ length: 1024 }, (_, id) => ({ id, backend_addr: servers[1]!.addr, backend_addr_group_id: 2 }));
  const ok = await fetch(`http://${p.admin}/api/proxy/fillslots/${xauth}`, {
    method: 'PUT',
    body: JSON.stringify(all),
    headers: { 'content-type': 'application/json' },
  });
  assert.equal(ok.status, 200);
  const slots = (await (await get('/proxy/slots')).json()) as Array<{ backend_addr: string }>;
  assert.ok(slots.every((s) => s.backend_addr === servers[1]!.addr));
  const key = Array.from({ length: 100 }, (_, i) => `mv${i}`).find((k) => slotOf(k) < 512)!; // first half was on server 0
  await r.set(key, 'moved');
  const d = new Redis({ port: servers[1]!.port });
  assert.equal(await d.get(key), 'moved');
  // Unassign a slot: requests for it get an error naming the slot.
  await fetch(`http://${p.admin}/api/proxy/fillslots/${xauth}`, {
    method: 'PUT',
    body: JSON.stringify([{ id: slotOf(key) }]),
    headers: { 'content-type': 'application/json' },
  });
  await assert.rejects(r.get(key), new RegExp(`slot ${slotOf(key)} is not served`));
  d.disconnect();
  r.disconnect();
  await p.stop();
});

test('SIGTERM: in-flight replies are finished, then the proxy exits 0', async () => {
  const p = await setup();
  const cl = await RawClient.connect(p.port);
  // Slow request in flight (DEBUG is refused by the proxy, so use a Lua busy loop of ~300 ms).
  cl.send(
    'EVAL',
    'local t = redis.call("TIME"); while true do local n = redis.call("TIME"); if (n[1]-t[1])*1000000 + (n[2]-t[2]) > 1000000 then break end end return 1',
    '0',
  );
  // In flight: the proxy has sent it to a backend and waits for the reply.
  await eventually(
    'the script to be in flight',
    async () =>
      /^shardis_proxy_backend_inflight\{[^}]*\} [1-9]/m.test(
        await (await fetch(`http://${p.admin}/metrics`, { headers: productBearer('shardis-demo') })).text(),
      ),
    5000,
    20,
  );
  process.kill(p.pid, 'SIGTERM');
  assert.equal(await cl.read(5000), ':1\r\n');
  await withDeadline('the proxy to close the connection', cl.closedPromise, 10000);
  assert.equal(await withDeadline('the proxy to exit', p.exited, 30000), 0);
  await assert.rejects(RawClient.connect(p.port));
});

test('--workers 2: two processes share the port and the slot table', async () => {
  const p = await setup(['--workers', '2']);
  const clients = await Promise.all(Array.from({ length: 8 }, () => RawClient.connect(p.port)));
  const ids = new Set<string>();
  for (const [i, cl] of clients.entries()) {
    assert.equal(await cl.call('SET', `w${i}`, String(i)), '+OK\r\n');
    assert.equal(await cl.call('GET', `w${i}`), `$1\r\n${i}\r\n`);
    const info = await cl.call('INFO', 'server');
    ids.add(/process_id:(\d+)/.exec(info)![1]!);
  }
  assert.equal(ids.size, 2, 'connections are spread over both workers');
  for (const id of ids) assert.deepEqual(nodeFlagsOf(Number(id)), SHARDIS_NODE_FLAGS, `worker ${id} runs with the shardis heap settings`);
  const stats = (await (await fetch(`http://${p.admin}/proxy/stats`, { headers: productBearer('shardis-demo') })).json()) as {
    ops: { cmd: Array<{ opstr: string; calls: number }> };
  };
  assert.equal(stats.ops.cmd.find((c) => c.opstr === 'SET')?.calls, 8, 'stats are summed over workers');
  // A table replaced through the API is in force on every worker once the call returns.
  const model = (await (await fetch(`http://${p.admin}/api/proxy/model`)).json()) as ProxyModel;
  const all = Array.from({ length: 1024 }, (_, id) => ({ id, backend_addr: servers[1]!.addr, backend_addr_group_id: 2 }));
  const put = await fetch(`http://${p.admin}/api/proxy/fillslots/${proxyXAuth('shardis-demo', '', model.token)}`, {
    method: 'PUT',
    body: JSON.stringify(all),
    headers: { 'content-type': 'application/json' },
  });
  assert.equal(put.status, 200);
  const d1 = new Redis({ port: servers[1]!.port });
  for (const [i, cl] of clients.entries()) {
    assert.equal(await cl.call('SET', `w2:${i}`, 'x'), '+OK\r\n');
    assert.equal(await d1.get(`w2:${i}`), 'x', `worker of connection ${i} uses the new table`);
  }
  d1.disconnect();
  for (const cl of clients) cl.close();
  await p.stop();
  assert.equal(await withDeadline('the proxy to exit', p.exited, 30000), 0);
});

test('a client pipelining far faster than it reads is paused, not disconnected, and memory stays bounded', async () => {
  const p = await setup();
  const big = 'x'.repeat(64 * 1024);
  const w = new Redis({ port: p.port });
  await w.set('bigval', big);
  const cl = await RawClient.connect(p.port);
  cl.socket.pause(); // never read
  const req = encodeCommand(['GET', 'bigval']);
  const batch = Buffer.concat(Array.from({ length: 1000 }, () => req));
  const rss0 = rssOf(p.pid);
  const batches = 10; // 10 000 GETs of 64 KB: 640 MB of replies the client does not read
  for (let i = 0; i < batches; i++) cl.socket.write(batch);
  // The proxy stops reading the client (its GET count stops short of 10 000 between two polls);
  // the proxy's RSS is sampled all the way.
  const getCalls = async (): Promise<number> => {
    const st = (await (await fetch(`http://${p.admin}/proxy/stats`, { headers: productBearer('shardis-demo') })).json()) as {
      ops: { cmd: Array<{ opstr: string; calls: number }> };
    };
    return st.ops.cmd.find((c) => c.opstr === 'GET')?.calls ?? 0;
  };
  const rss: number[] = [];
  let last = -1;
  const served = await eventually(
    'the proxy to pause the client that does not read',
    async () => {
      rss.push(rssOf(p.pid));
      const n = await getCalls();
      const stalled = n === last;
      last = n;
      return stalled && n > 0 && n < batches * 1000 ? n : null;
    },
    30000,
    250,
  );
  for (let i = 0; i < 5; i++) rss.push(rssOf(p.pid));
  const grew = Math.max(...rss) - rss0;
  assert.ok(grew < 200 * 1024 * 1024, `proxy RSS grew by ${Math.round(grew / 1e6)} MB (paused after ${served} GETs)`);
  // Other clients are still served meanwhile.
  assert.equal(await w.get('bigval').then((v) => v?.length), big.length);
  // The slow client gets every reply once it reads.
  const want = batches * 1000 * (big.length + '$65536\r\n\r\n'.length);
  let got = 0;
  cl.socket.removeAllListeners('data');
  await new Promise<void>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`only ${got} of ${want} bytes`)), 30000);
    cl.socket.on('data', (d: Buffer) => {
      got += d.length;
      if (got >= want) {
        clearTimeout(t);
        resolve();
      }
    });
    cl.socket.resume();
  });
  assert.equal(got, want);
  assert.equal(cl.closed, false);
  cl.close();
  w.disconnect();
});

test('every proxy runs with the shardis heap settings: as the `shardis` command (shebang) and when started by shardis', async () => {
  assert.deepEqual(SHARDIS_NODE_FLAGS, [
    '--max-semi-space-size=4',
    '--heap-growing-percent=50',
    '--no-allocation-site-pretenuring',
    '--no-parallel-scavenge',
  ]);
  const shebang = readFileSync(SHARDIS_BIN, 'utf8').split('\n')[0]!;
  assert.equal(shebang, `#!/usr/bin/env -S node ${SHARDIS_NODE_FLAGS.join(' ')}`, 'bin/shardis.js passes the same flags');
  const p = await setup();
  assert.deepEqual(nodeFlagsOf(p.pid), SHARDIS_NODE_FLAGS, 'started by shardis (up, benches, tests)');
  // Run as an executable, as the installed `shardis` command is.
  const file = join(dir, 'slots.json');
  const cmd = spawnTracked(SHARDIS_BIN, ['proxy', '--fillslots', file, '--proxy-addr', '127.0.0.1:0', '--admin-addr', '127.0.0.1:0'], {
    logFile: join(dir, 'proxy-cmd.log'),
  });
  stops.push(() => cmd.stop());
  await eventually('the shardis command to start node', () => {
    try {
      // env(1) reads the shebang, then becomes node (same pid).
      return readFileSync(`/proc/${cmd.pid}/cmdline`, 'utf8').split('\0')[0]?.endsWith('node') === true;
    } catch {
      return false;
    }
  });
  assert.deepEqual(nodeFlagsOf(cmd.pid), SHARDIS_NODE_FLAGS, 'the shardis command');
  await cmd.stop();
});
