// Write safety on by default, on a real cluster (what `shardis up` starts: groups of a master and one
// replica, a dashboard with no write-safety flags, a proxy): the dashboard sets min-replicas-to-write 1
// on every master and 0 on every replica (CONFIG GET); a group whose replica dies keeps taking writes
// through the proxy, with the group marked degraded in the stats (write_safety), a warning in the
// dashboard log and the degraded-groups gauge at 1; when the replica is back, 1 is set on the master
// again and the group is no longer degraded. A replica that stops acknowledging (frozen, what a cut-off
// replica host looks like to its master) makes the master refuse writes after max-lag while a majority
// of the sentinels is unreachable, and is relaxed (degraded) once a sentinel majority reaches the
// master again.
// Expected duration: ~40 s.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalCluster, type LocalCluster } from '../../src/cli/local-cluster.js';
import { rawCommand, type RedisServer } from '../../src/util/redis-server.js';
import { httpJson } from '../../src/util/http-json.js';
import { waitFor } from '../../src/util/processes.js';
import { slotOf } from '../../src/slots/hash.js';
import type { GroupWriteSafety } from '../../src/dashboard/write-safety.js';

let c: LocalCluster | null = null;
const dir = mkdtempSync(join(tmpdir(), 'shardis-ws-default-'));
let failed = false;

before(async () => {
  c = await startLocalCluster({
    groups: 2,
    replicas: 1,
    proxies: 1,
    dir,
    basePort: 0,
    host: '127.0.0.1',
    product: 'ws-default',
    sentinels: 3,
    dashboardArgs: ['--stats-period', '300ms', '--log-level', 'info'],
  });
});

after(async () => {
  await c?.stop();
  if (!failed) rmSync(dir, { recursive: true, force: true });
  else console.error(`write-safety-default: logs kept in ${dir}`);
});

const cluster = (): LocalCluster => {
  if (!c) throw new Error('cluster did not start');
  return c;
};
/** servers are in group order, master first: group 1 = [0, 1], group 2 = [2, 3]. */
const server = (i: number): RedisServer => {
  const s = cluster().servers[i];
  if (!s) throw new Error(`no server ${i}`);
  return s;
};
const configGet = async (s: RedisServer, key: string): Promise<string> =>
  /\r\n[^\r\n]+\r\n\$\d+\r\n([^\r\n]*)\r\n/.exec(await rawCommand(s.host, s.port, `CONFIG GET ${key}`))?.[1] ?? '?';
const writeSafety = async (): Promise<{ groups: Record<string, GroupWriteSafety>; degraded: number }> => {
  const r = await httpJson('GET', cluster().info.dashboard.addr, `/api/topom/stats/${cluster().info.dashboard.admin_token}`, {
    timeoutMs: 5000,
  });
  const ws = (r.json as { write_safety?: { groups: Record<string, GroupWriteSafety>; degraded: number } }).write_safety;
  if (!ws) throw new Error(`no write_safety in the stats: ${JSON.stringify(r.json).slice(0, 200)}`);
  return ws;
};
const metric = async (): Promise<number> => {
  const r = await httpJson('GET', cluster().info.dashboard.addr, '/metrics', { timeoutMs: 5000 });
  const m = /^shardis_dashboard_write_safety_degraded_groups\{[^}]*\} (\d+)/m.exec(r.text);
  return m ? Number(m[1]) : -1;
};
/** A key of group 1 under init-even with 2 groups (slots 0..511). */
const key1 = (n: number): string => {
  for (let i = n; ; i++) if (slotOf(`ws${i}`) < 512) return `ws${i}`;
};
const proxySet = async (k: string): Promise<string> => {
  const p = cluster().info.proxies[0];
  if (!p) throw new Error('no proxy');
  const [host, port] = [p.addr.slice(0, p.addr.lastIndexOf(':')), Number(p.addr.slice(p.addr.lastIndexOf(':') + 1))];
  return rawCommand(host, port, `SET ${k} v`, undefined, 3000).catch((e: Error) => `-${e.message}`);
};
const dashboardLog = (): string => readFileSync(join(dir, 'dashboard.log'), 'utf8');

test('by default every master gets min-replicas-to-write 1 and every replica 0; max-lag 10 s', async () => {
  try {
    await waitFor(
      'the settings on all four servers',
      async () =>
        (await configGet(server(0), 'min-replicas-to-write')) === '1' &&
        (await configGet(server(2), 'min-replicas-to-write')) === '1' &&
        (await configGet(server(1), 'min-replicas-to-write')) === '0' &&
        (await configGet(server(3), 'min-replicas-to-write')) === '0' &&
        (await configGet(server(0), 'min-replicas-max-lag')) === '10',
      20000,
      200,
    );
    const ws = await writeSafety();
    assert.equal(ws.degraded, 0);
    assert.deepEqual(
      [ws.groups['1']?.applied, ws.groups['1']?.degraded, ws.groups['1']?.master],
      [1, false, server(0).addr],
      JSON.stringify(ws.groups),
    );
    assert.match(await proxySet(key1(0)), /^\+OK/);
  } catch (e) {
    failed = true;
    throw e;
  }
});

test('a group whose only replica died keeps taking writes, degraded, with a warning; 1 is set back when the replica returns', async () => {
  try {
    const master = server(0);
    await server(1).kill9();
    await waitFor('group 1 to be degraded in the stats', async () => (await writeSafety()).groups['1']?.degraded === true, 20000, 200);
    assert.equal(await configGet(master, 'min-replicas-to-write'), '0');
    assert.equal(await configGet(server(2), 'min-replicas-to-write'), '1', 'group 2 is not touched');
    assert.equal((await writeSafety()).degraded, 1);
    assert.equal(await metric(), 1);
    assert.match(dashboardLog(), /write safety degraded/);
    // Writes through the proxy (the kill may have cost one stats round of NOREPLICAS before this).
    for (let i = 0; i < 20; i++) assert.match(await proxySet(key1(100 + i)), /^\+OK/, `write ${i} to the degraded group`);

    await server(1).restart();
    await waitFor(
      'group 1 to be restored',
      async () => (await writeSafety()).groups['1']?.degraded === false && (await configGet(master, 'min-replicas-to-write')) === '1',
      30000,
      200,
    );
    assert.equal(await configGet(server(1), 'min-replicas-to-write'), '0', 'the restarted replica carries 0');
    assert.equal(await metric(), 0);
    assert.match(dashboardLog(), /write safety restored/);
    assert.match(await proxySet(key1(200)), /^\+OK/);
  } catch (e) {
    failed = true;
    throw e;
  }
});

test('a master whose only replica stops acknowledging: kept at 1 (NOREPLICAS) without a sentinel majority, relaxed once a majority reaches it', async () => {
  const master = server(0);
  const sentinels = cluster().redisSentinels.slice(0, 2);
  const replicaPid = server(1).proc.pid;
  try {
    await Promise.all(sentinels.map((s) => s.kill9()));
    process.kill(replicaPid, 'SIGSTOP');
    await waitFor(
      'the master to refuse writes once the frozen replica is max-lag behind',
      async () => /^-NOREPLICAS/.test(await rawCommand(master.host, master.port, 'SET frozen x')),
      40000,
      250,
    );
    // Several stats rounds (300 ms) with one sentinel of three: not relaxed.
    await new Promise((r) => setTimeout(r, 3000));
    assert.equal(await configGet(master, 'min-replicas-to-write'), '1');
    assert.match(await rawCommand(master.host, master.port, 'SET frozen x'), /^-NOREPLICAS/);
    assert.equal((await writeSafety()).groups['1']?.degraded, false);

    await Promise.all(sentinels.map((s) => s.restart()));
    await waitFor(
      'group 1 to be relaxed on the sentinel majority',
      async () => (await writeSafety()).groups['1']?.degraded === true && (await configGet(master, 'min-replicas-to-write')) === '0',
      30000,
      200,
    );
    assert.match((await writeSafety()).groups['1']?.reason ?? '', /stopped acknowledging while a sentinel majority reaches the master/);
    assert.match(await proxySet(key1(300)), /^\+OK/);
  } catch (e) {
    failed = true;
    throw e;
  } finally {
    process.kill(replicaPid, 'SIGCONT');
  }
  await waitFor(
    'group 1 to be restored when the replica acknowledges again',
    async () => (await writeSafety()).groups['1']?.degraded === false && (await configGet(master, 'min-replicas-to-write')) === '1',
    30000,
    200,
  ).catch((e: Error) => {
    failed = true;
    throw e;
  });
});
