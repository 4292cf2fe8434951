// The dashboard API end to end on real redis-servers and a filesystem coordinator: auth, groups,
// servers (probe against live, dead and password-protected redis), Codis's safety rules, slot
// assignment (ranges, offline, even layout, refused while an action is pending), stats and metrics,
// persistence across a restart, and reading metadata written in Codis 3.2's own format.
// Expected duration: about 10 s on a quiet 2-core machine.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { startRedisServer, type RedisServer } from '../../src/util/redis-server.js';
import { closedPort } from '../helpers/ports.js';
import { openStore, slotPath, groupPath, proxyPath, sentinelPath, topomPath } from '../../src/coordinator/index.js';
import { defaultAdminToken } from '../../src/models/auth.js';
import { eventually } from '../helpers/poll.js';
import { call, startDashboard, tempDir, type TestDashboard } from '../helpers/dashboard.js';
import { bearer } from '../helpers/admin-auth.js';

const servers: RedisServer[] = [];
const dashboards: TestDashboard[] = [];
after(async () => {
  for (const d of dashboards) await d.stop().catch(() => undefined);
  for (const s of servers) await s.stop();
});

test('admin token: derived exactly as documented', () => {
  // `echo -n 'Shardis-Admin-[demo]-[secret]' | sha256sum | cut -c1-32`
  assert.equal(defaultAdminToken('demo', 'secret'), 'd7fb8ef20512e8cb1fe9292c91769012');
  assert.equal(defaultAdminToken('shardis-demo', ''), 'ce00dbe1bca4cfecff30712774b07c11');
});

test('groups, servers, safety rules, slot assignment, stats, persistence', async () => {
  const [a, b, c] = [await startRedisServer(), await startRedisServer(), await startRedisServer()];
  const locked = await startRedisServer({ password: 'pw' });
  servers.push(a, b, c, locked);
  const coord = `filesystem:${join(tempDir('shardis-dash-api-'), 'coord')}`;
  const dash = await startDashboard({ coordinator: coord, product_name: 'api-test', stats_period: '200ms' });
  dashboards.push(dash);
  const { addr, token } = dash;
  const put = (path: string, body?: unknown) => call('PUT', addr, path.replace('{t}', token), body);

  // Health, auth.
  assert.deepEqual((await call('GET', addr, '/health')).body.status, 'active');
  assert.equal((await call('PUT', addr, '/api/topom/group/create/wrong-token/1')).status, 403);
  const noAuth = await call('GET', addr, '/api/topom/stats');
  assert.equal(noAuth.status, 401);
  assert.match(noAuth.body.error, /admin token/);
  const withBearer = await call('PUT', addr, '/api/topom/group/create/_/1', undefined, { authorization: `Bearer ${token}` });
  assert.equal(withBearer.status, 200, JSON.stringify(withBearer.body));
  assert.equal((await call('GET', addr, `/api/topom/xping/${token}`)).status, 200);

  // Groups.
  assert.equal((await put('/api/topom/group/create/{t}/2')).status, 200);
  assert.equal((await put('/api/topom/group/create/{t}/3')).status, 200);
  const dup = await put('/api/topom/group/create/{t}/1');
  assert.equal(dup.status, 409);
  assert.match(dup.body.error, /group 1 already exists/);
  assert.equal((await put('/api/topom/group/create/{t}/0')).status, 400);
  assert.equal((await put('/api/topom/group/create/{t}/10000')).status, 400);
  assert.equal((await put('/api/topom/group/create/{t}/9999')).status, 200);
  assert.equal((await put('/api/topom/group/remove/{t}/9999')).status, 200);

  // Servers: probe against real redis, a dead port, a password-protected one.
  const addA = await put(`/api/topom/group/add/{t}/1/${a.addr}`);
  assert.equal(addA.status, 200, JSON.stringify(addA.body));
  assert.equal(addA.body.role, 'master');
  assert.match(addA.body.redis_version, /^\d+\./);
  assert.equal((await put(`/api/topom/group/add/{t}/2/${b.addr}/dc-east`)).body.role, 'master');
  assert.equal((await put(`/api/topom/group/add/{t}/1/${c.addr}`)).body.role, 'replica');
  const again = await put(`/api/topom/group/add/{t}/2/${a.addr}`);
  assert.equal(again.status, 409);
  assert.match(again.body.error, /already in group 1/);
  const deadPort = await closedPort();
  const dead = await put(`/api/topom/group/add/{t}/3/127.0.0.1:${deadPort}`);
  assert.equal(dead.status, 502);
  assert.match(dead.body.error, /connection refused/);
  const noPw = await put(`/api/topom/group/add/{t}/3/${locked.addr}`);
  assert.equal(noPw.status, 502);
  assert.match(noPw.body.error, /requires a password/);
  assert.equal((await put(`/api/topom/group/add/{t}/42/${c.addr}`)).status, 404);
  assert.equal((await put('/api/topom/group/add/{t}/3/not-an-address')).status, 400);

  // Slots: range, unusable groups, even layout.
  let r = await put('/api/topom/slots/assign-range/{t}/0/511/1');
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.changed, 512);
  r = await put('/api/topom/slots/assign-range/{t}/600/610/3');
  assert.equal(r.status, 409);
  assert.match(r.body.error, /group 3 has no master/);
  assert.equal((await put('/api/topom/slots/assign-range/{t}/600/610/77')).status, 404);
  assert.equal((await put('/api/topom/slots/assign-range/{t}/10/5/1')).status, 400);
  assert.equal(
    (await put('/api/topom/slots/assign/{t}', [{ id: 5, group_id: 2, action: { state: 'pending', target_id: 1 } }])).status,
    400,
  );
  assert.equal((await put('/api/topom/slots/assign/{t}', { id: 5 })).status, 400);
  r = await put('/api/topom/slots/init-even/{t}');
  assert.equal(r.status, 409);
  assert.match(r.body.error, /512 slots are already assigned/);
  r = await put('/api/topom/slots/init-even/{t}/1');
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(r.body.groups, [1, 2]);
  assert.equal(r.body.changed, 512);
  let ov = (await call('GET', addr, '/topom', undefined, bearer(token))).body;
  assert.equal(ov.stats.slot_counts['1'], 512);
  assert.equal(ov.stats.slot_counts['2'], 512);
  const table = (await call('GET', addr, '/topom/slots', undefined, bearer(token))).body as Array<{
    id: number;
    backend_addr: string;
    backend_addr_group_id: number;
  }>;
  assert.equal(table.length, 1024);
  assert.deepEqual([table[0]!.backend_addr, table[0]!.backend_addr_group_id], [a.addr, 1]);
  assert.deepEqual([table[1023]!.backend_addr, table[1023]!.backend_addr_group_id], [b.addr, 2]);
  r = await put('/api/topom/slots/assign/{t}', [
    { id: 1000, group_id: 1 },
    { id: 1001, group_id: 0 },
  ]);
  assert.equal(r.body.changed, 2);
  assert.equal((await call('GET', addr, '/topom/slots', undefined, bearer(token))).body[1001].backend_addr, undefined);

  // Safety rules on servers and groups.
  r = await put(`/api/topom/group/del/{t}/1/${a.addr}`);
  assert.equal(r.status, 409);
  assert.match(r.body.error, /master of group 1, which still has 1 replica/);
  assert.equal((await put(`/api/topom/group/del/{t}/1/${c.addr}`)).status, 200);
  r = await put(`/api/topom/group/del/{t}/1/${a.addr}`);
  assert.equal(r.status, 409);
  assert.match(r.body.error, /group 1 still owns 513 slots \(0-511,1000\); move them before removing the master/);
  r = await put('/api/topom/group/remove/{t}/1');
  assert.equal(r.status, 409);
  assert.match(r.body.error, /still has 1 server/);
  assert.equal((await put(`/api/topom/group/del/{t}/2/${a.addr}`)).status, 404);
  // Take group 1 offline, then it can be emptied and removed.
  r = await put('/api/topom/slots/assign/{t}/offline', [...Array.from({ length: 512 }, (_, i) => i), 1000]);
  assert.equal(r.body.changed, 513, JSON.stringify(r.body));
  assert.equal((await put(`/api/topom/group/del/{t}/1/${a.addr}`)).status, 200);
  assert.equal((await put('/api/topom/group/remove/{t}/1')).status, 200);
  assert.equal((await put('/api/topom/group/remove/{t}/1')).status, 404);

  // A slot with a migration action (written by the migration executor, here by hand) cannot be assigned.
  const store = await openStore(coord);
  await store.update(
    slotPath('api-test', 700),
    Buffer.from(JSON.stringify({ id: 700, group_id: 2, action: { index: 3, state: 'pending', target_id: 3 } })),
  );
  assert.equal((await put('/api/topom/reload/{t}')).status, 200);
  r = await put('/api/topom/slots/assign-range/{t}/690/710/2');
  assert.equal(r.status, 409);
  assert.match(r.body.error, /migration action \(700; slot 700 is pending → group 3\)/);
  await store.update(slotPath('api-test', 700), Buffer.from(JSON.stringify({ id: 700, group_id: 2, action: {} })));
  assert.equal((await put('/api/topom/reload/{t}')).status, 200);

  // Stats: servers are polled (role, keys per db).
  const { Redis } = await import('ioredis');
  const rb = new Redis({ port: b.port, lazyConnect: true });
  await rb.connect();
  await rb.select(3);
  await rb.set('k1', 'v');
  rb.disconnect();
  ov = await eventually(
    'server stats of b',
    async () => {
      const o = (await call('GET', addr, '/topom', undefined, bearer(token))).body;
      return o.stats.group.stats[b.addr]?.dbs?.['3'] === 1 ? o : null;
    },
    5000,
  );
  assert.equal(ov.stats.group.stats[b.addr].stats.role, 'master');
  assert.ok(Number(ov.stats.group.stats[b.addr].stats.used_memory) > 0);
  assert.equal(ov.config.product_auth, '');
  assert.equal(JSON.stringify(ov).includes(token), false, 'the overview must not reveal the admin token');
  const same = (await call('GET', addr, `/api/topom/stats/${token}`)).body;
  assert.equal(same.slot_counts['2'], 510);
  const metrics = (await call('GET', addr, '/metrics')).body as string;
  assert.match(metrics, /shardis_dashboard_groups\{product="api-test"\} 2/);
  assert.match(metrics, /shardis_dashboard_slots_assigned\{product="api-test"\} 510/);
  assert.match(metrics, /shardis_dashboard_servers_up\{product="api-test"\} 1/);

  // Persistence: a new dashboard on the same coordinator sees the same state.
  const before = (await call('GET', addr, '/topom', undefined, bearer(token))).body.stats;
  await dash.stop();
  dashboards.length = 0;
  await store.close();
  const dash2 = await startDashboard({ coordinator: coord, product_name: 'api-test' });
  dashboards.push(dash2);
  const afterRestart = (await call('GET', dash2.addr, '/topom', undefined, bearer(dash2.token))).body.stats;
  assert.deepEqual(afterRestart.group.models, before.group.models);
  assert.deepEqual(afterRestart.slots, before.slots);
  assert.deepEqual(
    afterRestart.group.models.map((g: { id: number }) => g.id),
    [2, 3],
  );
  assert.equal(afterRestart.group.models[0].servers[0].datacenter, 'dc-east');
});

test('reads metadata written in Codis 3.2 format', async () => {
  const s1 = await startRedisServer();
  servers.push(s1);
  const root = join(tempDir('shardis-dash-codis-'), 'coord');
  const store = await openStore(`filesystem:${root}`);
  const P = 'codis-demo';
  // Addresses where nothing listens (closed loopback ports, not fixed numbers another process or a real
  // sentinel could hold): the dashboard probes them and must find them down.
  const [r2, r3, padmin, pproxy, sent1, sent2] = await Promise.all(
    Array.from({ length: 6 }, async () => `127.0.0.1:${await closedPort()}`),
  );
  // Exactly what Codis 3.2 writes (json.MarshalIndent, omitempty fields dropped).
  const putRaw = (path: string, text: string): Promise<void> => store.update(path, Buffer.from(text));
  await putRaw(slotPath(P, 0), `{\n    "id": 0,\n    "group_id": 1,\n    "action": {}\n}`);
  await putRaw(
    slotPath(P, 1),
    `{\n    "id": 1,\n    "group_id": 1,\n    "action": {\n        "index": 12,\n        "state": "pending",\n        "target_id": 2\n    }\n}`,
  );
  await putRaw(slotPath(P, 1023), `{\n    "id": 1023,\n    "group_id": 2,\n    "action": {}\n}`);
  await putRaw(
    groupPath(P, 1),
    `{\n    "id": 1,\n    "servers": [\n        {\n            "server": "${s1.addr}",\n            "datacenter": "",\n            "action": {},\n            "replica_group": false\n        },\n        {\n            "server": "${r2}",\n            "datacenter": "bj",\n            "action": {\n                "index": 3,\n                "state": "synced"\n            },\n            "replica_group": true\n        }\n    ],\n    "promoting": {},\n    "out_of_sync": false\n}`,
  );
  await putRaw(
    groupPath(P, 2),
    `{\n    "id": 2,\n    "servers": [\n        {\n            "server": "${r3}",\n            "datacenter": "",\n            "action": {},\n            "replica_group": false\n        }\n    ],\n    "promoting": {\n        "index": 1,\n        "state": "prepared"\n    },\n    "out_of_sync": true\n}`,
  );
  await putRaw(
    proxyPath(P, '5f0b4e5e1e4c3a2b'),
    `{\n    "id": 7,\n    "token": "5f0b4e5e1e4c3a2b",\n    "start_time": "2018-11-04 10:00:00.000000000 +0800 CST",\n    "admin_addr": "${padmin}",\n    "proto_type": "tcp4",\n    "proxy_addr": "${pproxy}",\n    "jodis_path": "/jodis/codis-demo/proxy-5f0b4e5e1e4c3a2b",\n    "product_name": "codis-demo",\n    "pid": 1234,\n    "pwd": "/opt/codis",\n    "sys": "Linux codis 4.4.0",\n    "hostname": "codis",\n    "datacenter": ""\n}`,
  );
  await putRaw(sentinelPath(P), `{\n    "servers": [\n        "${sent1}",\n        "${sent2}"\n    ],\n    "out_of_sync": true\n}`);
  await store.close();

  const dash = await startDashboard({ coordinator: `filesystem:${root}`, product_name: P, proxy_push_timeout: '500ms' });
  dashboards.push(dash);
  const o = (await call('GET', dash.addr, '/topom', undefined, bearer(dash.token))).body;
  assert.equal(o.model.product_name, P);
  assert.deepEqual(o.stats.slots[1], { id: 1, group_id: 1, action: { index: 12, state: 'pending', target_id: 2 } });
  assert.deepEqual(o.stats.slot_counts, { 0: 1021, 1: 2, 2: 1 });
  assert.equal(o.stats.group.models[0].servers[1].server, r2);
  assert.deepEqual(o.stats.group.models[0].servers[1].action, { index: 3, state: 'synced' });
  assert.equal(o.stats.group.models[0].servers[1].replica_group, true);
  assert.deepEqual(o.stats.group.models[1].promoting, { index: 1, state: 'prepared' });
  assert.equal(o.stats.proxy.models[0].id, 7);
  assert.equal(o.stats.proxy.models[0].token, '5f0b4e5e1e4c3a2b');
  assert.deepEqual(o.stats.sentinels.model, { servers: [sent1, sent2], out_of_sync: true });
  // Computed like Codis's toSlot: group 2 is promote-prepared, so its slots are locked.
  const slots = (await call('GET', dash.addr, '/topom/slots', undefined, bearer(dash.token))).body;
  assert.deepEqual(slots[0], { id: 0, locked: false, backend_addr: s1.addr, backend_addr_group_id: 1, replica_groups: [] });
  assert.deepEqual(slots[1023], { id: 1023, locked: true, backend_addr: r3, backend_addr_group_id: 2, replica_groups: [] });
  // The pending slot cannot be reassigned.
  const r = await call('PUT', dash.addr, `/api/topom/slots/assign-range/${dash.token}/1/1/1`);
  assert.equal(r.status, 409);
  // The lock record is a Codis Topom.
  const store2 = await openStore(`filesystem:${root}`);
  const topom = JSON.parse((await store2.read(topomPath(P)))!.toString());
  assert.deepEqual(Object.keys(topom).sort(), ['admin_addr', 'pid', 'product_name', 'pwd', 'start_time', 'sys', 'token']);
  assert.equal(topom.admin_addr, dash.addr);
  // What we write back is Codis JSON at the Codis path, 4-space indented.
  await call('PUT', dash.addr, `/api/topom/slots/assign-range/${dash.token}/5/5/1`);
  assert.equal((await store2.read(slotPath(P, 5)))!.toString(), '{\n    "id": 5,\n    "group_id": 1,\n    "action": {}\n}');
  await store2.close();
});
