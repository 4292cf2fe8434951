// `shardis admin` as a real process against a running dashboard: tables by default, --json for
// scripts, error messages on stderr and the documented exit codes (1 API error, 2 usage, 3
// unreachable), the admin token derived from --product/--product-auth or given with --token, and
// the coordinator-direct list-products.
// Expected duration: about 10 s on a quiet 2-core machine.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { startRedisServer, type RedisServer } from '../../src/util/redis-server.js';
import { closedPort } from '../helpers/ports.js';
import { eventually } from '../helpers/poll.js';
import { SHARDIS_BIN, startDashboard, tempDir, type TestDashboard } from '../helpers/dashboard.js';

const servers: RedisServer[] = [];
let dash: TestDashboard | null = null;
after(async () => {
  await dash?.stop();
  for (const s of servers) await s.stop();
});

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `node bin/shardis.js admin ARGS` without blocking this process (the dashboard runs here). */
function admin(args: string[]): Promise<Run> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [SHARDIS_BIN, 'admin', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '',
      stderr = '';
    c.stdout.on('data', (d: Buffer) => {
      stdout += d.toString();
    });
    c.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    c.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

test('admin CLI: operations, tables, --json, exit codes', async () => {
  const P = 'cli-test';
  const [a, b] = [await startRedisServer({ password: 'sekret' }), await startRedisServer({ password: 'sekret' })];
  servers.push(a, b);
  const coordDir = join(tempDir('shardis-admin-cli-'), 'coord');
  dash = await startDashboard({ coordinator: `filesystem:${coordDir}`, product_name: P, product_auth: 'sekret', stats_period: '200ms' });
  // The token is derived from --product and --product-auth, as the dashboard does.
  const base = ['--dashboard', dash.addr, '--product', P, '--product-auth', 'sekret'];
  const ok = async (...args: string[]): Promise<Run> => {
    const r = await admin([...base, ...args]);
    assert.equal(r.code, 0, `admin ${args.join(' ')} failed: ${r.stderr}`);
    return r;
  };

  assert.match((await ok('group', 'create', '1')).stdout, /^group 1 created$/m);
  await ok('group', 'create', '2');
  assert.match((await ok('group', 'add-server', '1', a.addr)).stdout, new RegExp(`server ${a.addr} added to group 1 as master \\(redis 7`));
  await ok('group', 'add-server', '2', b.addr, '--datacenter', 'dc2');
  assert.match(
    (await ok('slots', 'assign', '--range', '0-511', '--group', '1')).stdout,
    /^512 slot\(s\) changed\nslot tables pushed to 0\/0 proxies$/m,
  );
  await ok('slots', 'assign', '--range', '512-1023', '--group', '2');

  // Tables.
  const show = (await ok('slots', 'show')).stdout;
  assert.match(show, /^GROUP\s+SLOTS\s+RANGES$/m);
  assert.match(show, /^1\s+512\s+0-511$/m);
  assert.match(show, /^2\s+512\s+512-1023$/m);
  // Wait for a stats round so the server columns are filled.
  const groups = await eventually(
    'a stats round to fill the server columns',
    async () => {
      const out = (await ok('group', 'list')).stdout;
      return new RegExp(`^1\\s+${a.addr}\\s+master\\s`, 'm').test(out) ? out : null;
    },
    15000,
    200,
  );
  assert.match(groups, /^GROUP\s+SERVER\s+ROLE\s+DC\s+MEMORY\s+KEYS\s+REPLICAS\s+SLOTS\s+STATUS$/m);
  assert.match(groups, new RegExp(`^1\\s+${a.addr}\\s+master\\s+-\\s+\\S+\\s+0\\s+0\\s+512\\s+up$`, 'm'));
  assert.match(groups, new RegExp(`^2\\s+${b.addr}\\s+master\\s+dc2\\s+`, 'm'));
  assert.match((await ok('proxy', 'list')).stdout, /^no proxies$/m);
  const overview = (await ok('overview')).stdout;
  assert.match(overview, /^product:\s+cli-test$/m);
  assert.match(overview, /^slots:\s+1024\/1024 assigned$/m);

  // --json.
  const j = JSON.parse((await ok('--json', 'group', 'list')).stdout);
  assert.deepEqual(
    j.models.map((g: { id: number }) => g.id),
    [1, 2],
  );
  assert.equal(j.models[1].servers[0].datacenter, 'dc2');
  const js = JSON.parse((await ok('slots', 'show', '--json')).stdout);
  assert.equal(js.length, 1024);
  assert.equal(js[600].group_id, 2);
  const jc = JSON.parse((await ok('--json', 'group', 'create', '3')).stdout);
  assert.equal(jc.ok, true);
  assert.equal(jc.group.id, 3);

  // API errors: exit 1 with the dashboard's message.
  let r = await admin([...base, 'group', 'remove', '1']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^shardis admin: group 1 still has 1 server\(s\)/m);
  r = await admin([...base, 'group', 'del-server', '1', a.addr]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /group 1 still owns 512 slots \(0-511\); move them before removing the master/);
  r = await admin(['--dashboard', dash.addr, '--token', 'not-the-token', 'group', 'create', '9']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /invalid admin token/);
  // Without --product-auth the derived token is wrong for this product.
  r = await admin(['--dashboard', dash.addr, 'group', 'create', '9']);
  assert.equal(r.code, 1);
  // With the explicit token it works.
  assert.equal((await admin(['--dashboard', dash.addr, '--token', dash.token, 'group', 'remove', '3'])).code, 0);

  // Usage errors: exit 2.
  for (const args of [
    ['slots', 'assign', '--range', 'x-y', '--group', '1'],
    ['group', 'create', 'abc'],
    ['group', 'frobnicate'],
    ['slots', 'assign', '--range', '1-2'],
    ['group', 'create'],
  ]) {
    r = await admin([...base, ...args]);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.notEqual(r.stderr, '');
  }
  r = await admin(['group', 'list']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--dashboard HOST:PORT is required/);

  // Unreachable dashboard: exit 3.
  r = await admin(['--dashboard', `127.0.0.1:${await closedPort()}`, '--token', 'x'.repeat(32), 'overview']);
  assert.equal(r.code, 3);
  assert.match(r.stderr, /cannot reach the dashboard at 127\.0\.0\.1:\d+: connect ECONNREFUSED/);

  // Coordinator-direct: products and their dashboards; the dashboard can also be found there.
  const lp = await admin(['--coordinator', `filesystem:${coordDir}`, 'list-products']);
  assert.equal(lp.code, 0, lp.stderr);
  assert.match(lp.stdout, new RegExp(`^cli-test\\s+${dash.addr}$`, 'm'));
  const lpj = JSON.parse((await admin(['--coordinator', `filesystem:${coordDir}`, '--json', 'list-products'])).stdout);
  assert.deepEqual(lpj, [{ name: P, dashboard: dash.addr }]);
  r = await admin(['--coordinator', `filesystem:${coordDir}`, '--product', P, '--product-auth', 'sekret', 'slots', 'show']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^1\s+512\s+0-511$/m);

  // Shutdown.
  assert.match((await ok('shutdown')).stdout, /dashboard shutting down/);
  await dash.d.done;
  dash = null;
});
