// The dashboard with real proxies (in-process ProxyServers with their admin API) on real redis:
// proxies come online the way `shardis proxy` will call it, get the full table, route keys to the
// right group; reassignment is pushed to all of them; a dead or hung proxy is reported without
// stalling the others and can be force-removed; a proxy with a stale or empty table, or one that is
// not online, is re-pushed by the background loop; a restarted proxy that calls online again gets
// the full table.
// Expected duration: about 15 s on a quiet 2-core machine.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { startRedisServer, type RedisServer } from '../../src/util/redis-server.js';
import { openStore, proxyPath } from '../../src/coordinator/index.js';
import { slotOf } from '../../src/slots/hash.js';
import type { Slot } from '../../src/models/slot.js';
import { eventually, withDeadline } from '../helpers/poll.js';
import { call, startBlackhole, startDashboard, tempDir, type TestDashboard } from '../helpers/dashboard.js';
import { startTestProxy, type TestProxy } from '../helpers/dashboard-proxies.js';
import { bearer } from '../helpers/admin-auth.js';

const servers: RedisServer[] = [];
const proxies: TestProxy[] = [];
let dash: TestDashboard | null = null;
after(async () => {
  await dash?.stop();
  for (const p of proxies) await p.stop().catch(() => undefined);
  for (const s of servers) await s.stop();
});

/** A key whose slot is in [lo, hi]. */
function keyIn(lo: number, hi: number, tag: string): string {
  for (let i = 0; ; i++) {
    const k = `${tag}:${i}`;
    const s = slotOf(k);
    if (s >= lo && s <= hi) return k;
  }
}

async function proxySlots(p: TestProxy): Promise<Slot[]> {
  return (await call<Slot[]>('GET', p.adminAddr, `/api/proxy/slots/${p.xauth}`)).body;
}

test('proxies online, routing follows assignments, dead/hung proxies reported and removable, re-online', async () => {
  const P = 'proxy-test';
  const [a, b] = [await startRedisServer(), await startRedisServer()];
  servers.push(a, b);
  const coord = `filesystem:${join(tempDir('shardis-dash-proxies-'), 'coord')}`;
  dash = await startDashboard({ coordinator: coord, product_name: P, stats_period: '200ms', proxy_push_timeout: '1s' });
  const { addr, token } = dash;
  const put = (path: string, body?: unknown) => call('PUT', addr, path.replace('{t}', token), body);

  for (const [gid, s] of [
    [1, a],
    [2, b],
  ] as const) {
    assert.equal((await put(`/api/topom/group/create/{t}/${gid}`)).status, 200);
    assert.equal((await put(`/api/topom/group/add/{t}/${gid}/${s.addr}`)).status, 200);
  }
  assert.equal((await put('/api/topom/slots/init-even/{t}')).status, 200);

  // Two proxies come online the way a proxy calls it at startup.
  const p1 = await startTestProxy(P);
  const p2 = await startTestProxy(P);
  proxies.push(p1, p2);
  for (const [i, p] of [p1, p2].entries()) {
    const r = await call('PUT', addr, `/api/topom/proxy/online/${token}/${p.adminAddr}`);
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal(r.body.proxy.id, i + 1);
    assert.equal(r.body.proxy.token, p.model.token);
    assert.equal(p.proxy.ctx.online, true);
  }
  // Online again: same id, full table again.
  assert.equal((await put(`/api/topom/proxy/online/{t}/${p1.adminAddr}`)).body.proxy.id, 1);
  const other = await startTestProxy('another-product');
  proxies.push(other);
  const wrong = await put(`/api/topom/proxy/online/{t}/${other.adminAddr}`);
  assert.equal(wrong.status, 409);
  assert.match(wrong.body.error, /belongs to product "another-product"/);
  assert.equal((await put(`/api/topom/proxy/create/{t}/${p1.adminAddr}`)).status, 409);

  for (const p of [p1, p2]) {
    const t = await proxySlots(p);
    assert.equal(t[0]!.backend_addr, a.addr);
    assert.equal(t[1023]!.backend_addr, b.addr);
  }
  // Keys written through either proxy land on the owning server.
  const ra = new Redis({ port: a.port }),
    rb = new Redis({ port: b.port });
  const c1 = new Redis({ port: p1.port }),
    c2 = new Redis({ port: p2.port });
  try {
    const k1 = keyIn(0, 511, 'low'),
      k2 = keyIn(512, 1023, 'high');
    await c1.set(k1, 'via-p1');
    await c2.set(k2, 'via-p2');
    assert.equal(await ra.get(k1), 'via-p1');
    assert.equal(await rb.get(k2), 'via-p2');
    assert.equal(await rb.exists(k1), 0);

    // Reassign 0..255 to group 2: both proxies follow at once (the push is acknowledged before the reply).
    const r = await put('/api/topom/slots/assign-range/{t}/0/255/2');
    assert.equal(r.status, 200);
    assert.deepEqual([r.body.push.proxies, r.body.push.acked, r.body.push.failed], [2, 2, []]);
    const k3 = keyIn(0, 255, 'moved');
    await c1.set(k3, 'x1');
    assert.equal(await rb.get(k3), 'x1');
    assert.equal(await ra.exists(k3), 0);
    await c2.set(k3, 'x2');
    assert.equal(await rb.get(k3), 'x2');

    // A dead proxy (admin API gone) and a hung one (accepts, never answers) are reported; the others still get the table.
    const p3 = await startTestProxy(P);
    proxies.push(p3);
    assert.equal((await put(`/api/topom/proxy/online/{t}/${p3.adminAddr}`)).body.proxy.id, 3);
    await p3.stop();
    const hole = await startBlackhole();
    const store = await openStore(coord);
    const hung = { ...p3.model, id: 9, token: 'hungproxytoken', admin_addr: hole.addr };
    await store.update(proxyPath(P, hung.token), Buffer.from(JSON.stringify(hung)));
    await store.close();
    assert.equal((await put('/api/topom/reload/{t}')).status, 200);
    // A deadline (the hung proxy must not hold the push up); timings are for bench/.
    const r2 = await withDeadline('a push with a hung proxy', put('/api/topom/slots/assign-range/{t}/256/511/2'), 20000);
    assert.equal(r2.status, 200, JSON.stringify(r2.body));
    assert.equal(r2.body.push.proxies, 4);
    assert.equal(r2.body.push.acked, 2);
    const errors = (r2.body.push.failed as Array<{ id: number; error: string }>).sort((x, y) => x.id - y.id);
    assert.match(errors[0]!.error, /^proxy 3 \(127\.0\.0\.1:\d+\) unreachable: .*ECONNREFUSED/);
    assert.match(errors[1]!.error, /^proxy 9 \(127\.0\.0\.1:\d+\) did not acknowledge the slot table: no answer within 1000 ms/);
    for (const p of [p1, p2]) assert.equal((await proxySlots(p))[300]!.backend_addr, b.addr);
    // The overview shows them as failing.
    const ov = await eventually(
      'proxy errors in stats',
      async () => {
        const o = (await call('GET', addr, '/topom', undefined, bearer(token))).body;
        return o.stats.proxy.stats[p3.model.token]?.error && o.stats.proxy.stats.hungproxytoken?.error ? o : null;
      },
      5000,
    );
    assert.match(ov.stats.proxy.stats[p3.model.token].error, /unreachable/);
    assert.equal(ov.stats.proxy.stats[p1.model.token].error, undefined);
    assert.equal(ov.stats.proxy.stats[p1.model.token].last_push.ok, true);

    // Removing: refused without force when the shutdown fails; with force it goes.
    const rm = await put(`/api/topom/proxy/remove/{t}/${p3.model.token}/0`);
    assert.equal(rm.status, 502);
    assert.match(rm.body.error, /unreachable.*use force/i);
    assert.equal((await put(`/api/topom/proxy/remove/{t}/${p3.model.token}/1`)).status, 200);
    assert.equal((await put('/api/topom/proxy/remove/{t}/9/1')).status, 200);
    await hole.close();
    const r3 = await put('/api/topom/slots/assign-range/{t}/0/511/1');
    assert.deepEqual([r3.body.push.proxies, r3.body.push.acked], [2, 2]);
    assert.equal((await call('GET', addr, '/topom', undefined, bearer(token))).body.stats.proxy.models.length, 2);

    // Auto re-online: a proxy that lost its table (here: emptied behind the dashboard's back) gets it again.
    const empty = Array.from({ length: 1024 }, (_, id) => ({ id }));
    assert.equal((await call('PUT', p1.adminAddr, `/api/proxy/fillslots/${p1.xauth}`, empty)).status, 200);
    assert.equal((await proxySlots(p1))[5]!.backend_addr, undefined);
    await eventually('p1 re-pushed', async () => (await proxySlots(p1))[5]!.backend_addr === a.addr, 8000);
    // ... and one that answers but is not online.
    p2.proxy.ctx.online = false;
    await eventually('p2 back online', () => p2.proxy.ctx.online, 8000);

    // A proxy restarts (new process: new ports, new token) and calls online: it gets the full table.
    c2.disconnect();
    await p2.stop();
    const p2b = await startTestProxy(P);
    proxies.push(p2b);
    const on = await put(`/api/topom/proxy/online/{t}/${p2b.adminAddr}`);
    assert.equal(on.status, 200);
    assert.equal(on.body.proxy.id, 3); // max existing id + 1, as Codis
    const t2 = await proxySlots(p2b);
    assert.equal(t2.filter((s) => s.backend_addr === a.addr).length, 512);
    assert.equal(t2.filter((s) => s.backend_addr === b.addr).length, 512);
    const c3 = new Redis({ port: p2b.port });
    await c3.set(k2, 'after-restart');
    assert.equal(await rb.get(k2), 'after-restart');
    c3.disconnect();
    // The dead p2 is reported; removing it by id with force works.
    assert.equal((await put('/api/topom/proxy/remove/{t}/2/1')).status, 200);

    // A restarted dashboard verifies every proxy's table at once and re-pushes a stale one.
    await dash.stop();
    assert.equal((await call('PUT', p1.adminAddr, `/api/proxy/fillslots/${p1.xauth}`, empty)).status, 200);
    dash = await startDashboard({ coordinator: coord, product_name: P, stats_period: '200ms', proxy_push_timeout: '1s' });
    await eventually('p1 re-pushed after a dashboard restart', async () => (await proxySlots(p1))[5]!.backend_addr === a.addr, 5000);
  } finally {
    for (const c of [ra, rb, c1, c2]) c.disconnect();
  }
});
