// One active dashboard per product: dashboards run as real processes (`node bin/shardis.js
// dashboard`) on a filesystem coordinator. A second one stands by (503 on its API), takes over within
// seconds after the first is killed with SIGKILL and serves the same state; a clean stop (SIGTERM or
// the shutdown API) releases the lock at once. In-process: a dashboard whose lease is taken away
// stops acting immediately and becomes active again once the lock is free.
// Expected duration: about 15 s.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startRedisServer, type RedisServer } from '../../src/util/redis-server.js';
import { openStore, topomPath } from '../../src/coordinator/index.js';
import { defaultAdminToken } from '../../src/models/auth.js';
import {
  call,
  startDashboard,
  startDashboardProcess,
  tempDir,
  waitState,
  type DashboardProcess,
  type TestDashboard,
} from '../helpers/dashboard.js';
import { eventually } from '../helpers/poll.js';
import { bearer } from '../helpers/admin-auth.js';

const servers: RedisServer[] = [];
const procs: DashboardProcess[] = [];
const inproc: TestDashboard[] = [];
after(async () => {
  for (const d of inproc) await d.stop().catch(() => undefined);
  for (const p of procs) await p.proc.kill9();
  for (const s of servers) await s.stop();
});

async function within<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      p,
      new Promise<T>((_, rej) => {
        t = setTimeout(() => rej(new Error(`${what} did not happen within ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(t);
  }
}

test('standby takes over after kill -9, clean stop releases at once', async () => {
  const P = 'lease-test';
  const token = defaultAdminToken(P, '');
  const redis = await startRedisServer();
  servers.push(redis);
  const dir = tempDir('shardis-dash-lease-');
  const coord = `filesystem:${join(dir, 'coord')}`;
  const args = [
    '--coordinator',
    coord,
    '--product-name',
    P,
    '--admin-addr',
    '127.0.0.1:0',
    '--lock-ttl',
    '3s',
    '--stats-period',
    '300ms',
    '--log-level',
    'info',
  ];
  const start = async (name: string): Promise<DashboardProcess> => {
    const p = await startDashboardProcess(args, join(dir, `${name}.log`));
    procs.push(p);
    return p;
  };

  const d1 = await start('d1');
  await d1.waitReady(10000);
  const d2 = await start('d2');
  await d2.waitStandby(10000);
  const h = await call('GET', d2.addr, '/health');
  assert.equal(h.status, 503);
  assert.equal(h.body.status, 'standby');
  assert.match(h.body.reason, new RegExp(`held by the dashboard at ${d1.addr.replace(/\./g, '\\.')}`));
  const refused = await call('PUT', d2.addr, `/api/topom/group/create/${token}/1`);
  assert.equal(refused.status, 503);
  assert.match(refused.body.error, /standby/);

  // State made through d1.
  assert.equal((await call('PUT', d1.addr, `/api/topom/group/create/${token}/1`)).status, 200);
  assert.equal((await call('PUT', d1.addr, `/api/topom/group/add/${token}/1/${redis.addr}`)).status, 200);
  assert.equal((await call('PUT', d1.addr, `/api/topom/slots/init-even/${token}`)).status, 200);
  const before = (await call('GET', d1.addr, '/topom', undefined, bearer(token))).body.stats;

  // kill -9 the active one: the standby takes over within seconds and serves the same state.
  await d1.proc.kill9();
  await d2.waitReady(3000 + 10000); // lock ttl 3 s + a generous deadline (timings: bench/)
  const o = (await call('GET', d2.addr, '/topom', undefined, bearer(token))).body;
  assert.deepEqual(o.stats.group.models, before.group.models);
  assert.deepEqual(o.stats.slots, before.slots);
  assert.equal(o.model.admin_addr, d2.addr);
  assert.equal(o.model.pid, d2.proc.pid);

  // Clean stop (SIGTERM) releases the lock at once: a standby becomes active within ~one retry.
  const d3 = await start('d3');
  await d3.waitStandby(10000);
  await d2.proc.stop();
  assert.equal(await within(d2.proc.exited, 10000, 'd2 exit'), 0);
  // Released at once: when d2 has exited its lock node is already gone (or already d3's), with no
  // ttl to wait out.
  const lockStore = await openStore(coord);
  try {
    const holder = await lockStore.read(topomPath(P));
    assert.ok(holder === null || !String(holder).includes(d2.addr), `the lock still names d2 after it exited: ${String(holder)}`);
  } finally {
    await lockStore.close();
  }
  await d3.waitReady(10000);
  assert.equal((await call('GET', d3.addr, '/topom', undefined, bearer(token))).body.stats.slot_counts['1'], 1024);

  // The shutdown API also releases the lock and exits 0.
  assert.equal((await call('PUT', d3.addr, `/api/topom/shutdown/${token}`)).status, 200);
  assert.equal(await within(d3.proc.exited, 5000, 'd3 exit'), 0);
  const store = await openStore(coord);
  assert.equal(await store.read(topomPath(P)), null);
  await store.close();
  for (const [i, line] of [d1, d2, d3].map((d) => d.lines.join('|')).entries())
    assert.match(line, /shardis dashboard (ready|standby) admin_port=\d+/, `d${i + 1}`);
});

test('a dashboard that loses its lease stops acting, then becomes active again when the lock is free', async () => {
  const P = 'fence-test';
  const coord = `filesystem:${join(tempDir('shardis-dash-fence-'), 'coord')}`;
  const dash = await startDashboard({ coordinator: coord, product_name: P, lock_ttl: '3s', lock_retry: '200ms' });
  inproc.push(dash);
  const put = (path: string) => call('PUT', dash.addr, path.replace('{t}', dash.token));
  assert.equal((await put('/api/topom/group/create/{t}/1')).status, 200);

  // Someone else takes the lock (an operator's remove-lock followed by another dashboard).
  const store = await openStore(coord);
  await store.delete(topomPath(P));
  const lease = await store.acquireLock(topomPath(P), Buffer.from('{"admin_addr":"elsewhere:1"}'), { ttlMs: 3000 });
  assert.ok(lease, 'the test could not take the lock');
  await within(waitState(dash.d, 'standby', 6000), 7000, 'fenced');
  const r = await put('/api/topom/group/create/{t}/2');
  assert.equal(r.status, 503);
  assert.equal((await call('GET', dash.addr, '/health')).body.status, 'standby');
  assert.equal(dash.d.topom(), null);

  // Free the lock: the dashboard takes it again, reloads, and sees group 1 (group 2 was never made).
  await lease!.release();
  await eventually('active again', () => dash.d.state() === 'active', 5000);
  const o = (await call('GET', dash.addr, '/topom', undefined, bearer(dash.token))).body;
  assert.deepEqual(
    o.stats.group.models.map((g: { id: number }) => g.id),
    [1],
  );
  await store.close();
});
