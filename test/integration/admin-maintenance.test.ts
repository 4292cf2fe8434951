// `shardis admin` maintenance tools: config-dump / config-restore through the coordinator, and
// proxy-admin talking to one proxy's admin API directly — run as the real CLI.
// Expected duration: about 10 s on a quiet 2-core machine.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startRedisServer, type RedisServer } from '../../src/util/redis-server.js';
import { startProxyProcess, SHARDIS_BIN } from '../../src/util/shardis-process.js';
import { evenSlots } from '../../src/models/layout.js';
import { closedPort } from '../helpers/ports.js';
import { Redis } from 'ioredis';
import { startDashboard, tempDir, call, type TestDashboard } from '../helpers/dashboard.js';
import { bearer } from '../helpers/admin-auth.js';

const dir = tempDir('shardis-admin-maint-');
const coordinator = `filesystem:${join(dir, 'coord')}`;
let redis: RedisServer;
let dash: TestDashboard | null = null;
const stops: Array<() => Promise<void>> = [];
after(async () => {
  for (const s of stops.reverse()) await s();
});

function cli(...args: string[]): { code: number; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [SHARDIS_BIN, 'admin', ...args], { encoding: 'utf8', timeout: 30000 });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

test('config-dump writes the product metadata; config-restore loads it into an empty product only', async () => {
  redis = await startRedisServer();
  stops.push(() => redis.stop());
  dash = await startDashboard({ coordinator, product_name: 'src' });
  stops.push(() => dash!.stop());
  const t = dash.token;
  assert.equal((await call('PUT', dash.addr, `/api/topom/group/create/${t}/1`)).status, 200);
  assert.equal((await call('PUT', dash.addr, `/api/topom/group/add/${t}/1/${redis.addr}`)).status, 200);
  assert.equal((await call('PUT', dash.addr, `/api/topom/slots/assign-range/${t}/0/1023/1`)).status, 200);

  const dump = cli('--coordinator', coordinator, '--product', 'src', 'config-dump');
  assert.equal(dump.code, 0, dump.stderr);
  const d = JSON.parse(dump.stdout) as { slots: Array<{ group_id: number }>; group: Array<{ servers: Array<{ server: string }> }> };
  assert.equal(d.slots.length, 1024);
  assert.ok(d.slots.every((s) => s.group_id === 1));
  assert.equal(d.group[0]!.servers[0]!.server, redis.addr);
  const file = join(dir, 'dump.json');
  writeFileSync(file, dump.stdout);

  // A product with a running dashboard, or with data, is refused; a dry run writes nothing.
  assert.equal(cli('--coordinator', coordinator, '--product', 'src', 'config-restore', file, '--confirm').code, 1);
  const dry = cli('--coordinator', coordinator, '--product', 'copy', 'config-restore', file);
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(dry.stdout, /would write 1025 entries/);
  assert.equal(JSON.parse(cli('--coordinator', coordinator, '--product', 'copy', 'config-dump').stdout).slots.length, 0);
  const ok = cli('--coordinator', coordinator, '--product', 'copy', 'config-restore', file, '--confirm');
  assert.equal(ok.code, 0, ok.stderr);
  const copy = JSON.parse(cli('--coordinator', coordinator, '--product', 'copy', 'config-dump').stdout) as typeof d;
  assert.deepEqual(copy.slots, d.slots);
  assert.deepEqual(copy.group, d.group);
  assert.equal(
    cli('--coordinator', coordinator, '--product', 'copy', 'config-restore', file, '--confirm').code,
    1,
    'not into a non-empty product',
  );
  // A dashboard for the restored product serves it.
  const d2 = await startDashboard({ coordinator, product_name: 'copy' });
  stops.push(() => d2.stop());
  const slots = await call('GET', d2.addr, '/topom/slots', undefined, bearer(d2.token));
  assert.equal((slots.body as Array<{ backend_addr: string }>).filter((s) => s.backend_addr === redis.addr).length, 1024);
});

test('proxy-admin: model, stats, slots, fillslots, reset-stats against one proxy', async () => {
  const file = join(dir, 'slots.json');
  writeFileSync(file, JSON.stringify(evenSlots([{ id: 1, addr: redis.addr }])));
  const p = await startProxyProcess(
    ['--fillslots', file, '--proxy-addr', '127.0.0.1:0', '--admin-addr', '127.0.0.1:0', '--product-auth', ''],
    join(dir, 'proxy.log'),
  );
  stops.push(() => p.proc.stop());
  const admin = `127.0.0.1:${p.adminPort}`;
  const model = cli('proxy-admin', 'model', admin, '--json');
  assert.equal(model.code, 0, model.stderr);
  assert.equal(JSON.parse(model.stdout).proxy_addr, `127.0.0.1:${p.port}`);
  assert.match(cli('proxy-admin', 'slots', admin).stdout, new RegExp(`${redis.addr}: 1024 slots`));
  const half = join(dir, 'half.json');
  writeFileSync(half, JSON.stringify(Array.from({ length: 512 }, (_, id) => ({ id }))));
  const fill = cli('proxy-admin', 'fillslots', admin, half);
  assert.equal(fill.code, 0, fill.stderr);
  assert.match(cli('proxy-admin', 'slots', admin).stdout, /\(none\): 512 slots/);
  // Traffic through the proxy shows in its stats; reset-stats sets them back to zero.
  const client = new Redis({ port: p.port, host: '127.0.0.1', maxRetriesPerRequest: 0 });
  try {
    for (let i = 0; i < 5; i++) assert.equal(await client.ping(), 'PONG');
  } finally {
    client.disconnect();
  }
  const opsOf = (): number => Number(/^ops (\d+) \(errors \d+\)/m.exec(cli('proxy-admin', 'stats', admin).stdout)?.[1] ?? NaN);
  assert.ok(opsOf() >= 5, 'the pings are counted');
  assert.equal(cli('proxy-admin', 'reset-stats', admin).code, 0);
  assert.equal(opsOf(), 0, 'reset-stats zeroes the counters');
  assert.equal(cli('proxy-admin', 'stats', admin, '--product-auth', 'wrong').code, 1, 'a wrong product_auth gives a wrong xauth');
  assert.equal(cli('proxy-admin', 'model', `127.0.0.1:${await closedPort()}`).code, 3);
});
