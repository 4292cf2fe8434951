// High availability end to end, on one local cluster (2 groups × master + 2 replicas of stock
// redis-server, 3 redis-sentinel configured by the dashboard, a dashboard process and 2 proxy
// processes; sentinel down-after 1 s), with a workload running through the proxies:
// kill -9 of a master, planned switchover, sentinels down (one, then a majority), the dashboard down
// during a failover, and a standby dashboard taking over during one. The tests run in order and
// share the cluster (each leaves it serving). Failover times are not asserted here (a deadline only:
// FAILOVER_BUDGET_MS); `npm run bench:failover` measures them. Expected duration: about 2-3 min.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  api,
  dashboardGroups,
  firstWriteOk,
  infoReplication,
  masterOf,
  restartServer,
  serverAt,
  startHaCluster,
  startStandbyDashboard,
  waitReplicaUp,
  Workload,
  type HaCluster,
} from '../helpers/ha-cluster.js';
import { redisCall, roleOf } from '../../src/ha/sentinels.js';
import { waitSettledMaster as settle, waitProxiesRoute as routed } from '../helpers/ha-settle.js';
import { httpJson } from '../../src/util/http-json.js';
import { startDashboardProcess } from '../helpers/dashboard.js';
import { eventually } from '../helpers/poll.js';
import { closedPort } from '../helpers/ports.js';
import { join } from 'node:path';
import { readFileSync } from 'node:fs';
import { bearer } from '../helpers/admin-auth.js';

// A generous deadline (a loaded 2-core machine; sentinel elections can take a second round), not a figure.
const FAILOVER_BUDGET_MS = 30000;
let h: HaCluster;
const log = (msg: string): void => {
  process.stderr.write(`# ${msg}\n`);
};
/** Client loops of the tests (stopped by their test, or here when a test failed half-way; stop() is idempotent). */
const running = new Set<{ stop(): Promise<void> }>();

before(async () => {
  h = await startHaCluster({ downAfterMs: 1000 });
});
after(async () => {
  for (const r of running) await r.stop();
  await h?.stop();
});

/** A workload that after() stops if its test did not. */
function workload(...args: ConstructorParameters<typeof Workload>): Workload {
  const wl = new Workload(...args);
  running.add(wl);
  return wl;
}

/** Kills the master of `gid` (after making sure a replica is in sync); returns its address and the kill time. */
async function killMaster(gid: number): Promise<{ old: string; t0: number }> {
  const old = await masterOf(h, gid);
  await waitReplicaUp(old);
  const t0 = Date.now();
  await serverAt(h, old).kill9();
  return { old, t0 };
}

// Shared with the other HA tests (test/helpers/ha-settle.ts).
const waitSettledMaster = (gid: number, not: string): Promise<string[]> => settle(h, gid, not);
const waitProxiesRoute = (gid: number, master: string): Promise<void> => routed(h, gid, master);

test('kill -9 a master: writes succeed again through the same proxies, reads do not go backwards, the old master returns as a replica', async () => {
  const tag = h.tagOf(1);
  const wl = workload(h.proxyClients, [h.tagOf(1, 1), h.tagOf(2, 1)], { pauseMs: 2, maxOps: 50000 });
  // A counter in group 1, incremented through proxy 1: its acknowledged values must never go back
  // further than what the replica had when the master died. Bounded in count and time.
  let acked = 0;
  let counting = true;
  const counterDeadline = Date.now() + 120000;
  const counter = (async () => {
    for (let i = 0; counting && i < 200000 && Date.now() < counterDeadline; i++) {
      try {
        acked = await h.proxyClients[0]!.incr(`c{${tag}}`);
      } catch {
        await new Promise((r) => setTimeout(r, 10));
      }
    }
  })();
  const counterLoop = {
    stop: async () => {
      counting = false;
      await counter;
    },
  };
  running.add(counterLoop);
  try {
    await eventually('the counter and the workload to get going', () => acked >= 20 && wl.acked.size >= 20, 20000);
    const { old, t0 } = await killMaster(1);
    const ackedAtKill = acked;
    const replicas = (await dashboardGroups(h))
      .find((g) => g.id === 1)!
      .servers.slice(1)
      .map((s) => s.server);
    // What each replica had at the kill (a replica that does not answer fails the test: no guessing).
    const replicaValues = await Promise.all(replicas.map(async (r) => Number((await redisCall(r, 1000, ['GET', `c{${tag}}`])) ?? 0)));
    const windows = await Promise.all(h.proxyClients.map((c, i) => firstWriteOk(c, `probe{${tag}}:${i}`, t0, FAILOVER_BUDGET_MS)));
    log(`failover window through each proxy: ${windows.join(', ')} ms (down-after 1000 ms)`);
    // With a 1 s down-after on a loaded machine the sentinels sometimes fail the fresh master over
    // once more (a sentinel that has not reached it within down-after after the switch marks it down):
    // follow the group until every sentinel agrees with the dashboard for a while, and compare reads
    // with every replica that was master on the way.
    const promoted = await waitSettledMaster(1, old);
    const fresh = promoted.at(-1)!;
    assert.equal(await roleOf(fresh, 1000), 'master');
    for (const p of promoted) assert.ok(replicas.includes(p), `${p} was promoted but was not a replica of group 1`);
    const had = Math.min(...promoted.map((p) => replicaValues[replicas.indexOf(p)]!));
    for (const c of h.proxyClients) {
      const v = Number(await c.get(`c{${tag}}`));
      assert.ok(v >= had, `read ${v} through a proxy, the promoted replica(s) ${promoted.join(' then ')} had ${had} at the kill`);
    }
    log(
      `acknowledged counter at kill ${ackedAtKill}, promoted replica(s) ${promoted.join(' then ')} had ${had}: ${Math.max(0, ackedAtKill - had)} acknowledged increments lost to asynchronous replication; workload ${wl.acked.size} writes acked, ${wl.errors} errors`,
    );
    await counterLoop.stop();
    await wl.stop();
    await waitProxiesRoute(1, fresh);
    await restartAsReplica(old, fresh);
  } finally {
    await counterLoop.stop();
    await wl.stop();
  }
});

/** On a failure: what each sentinel knows of the group and its replicas, and their logs' last lines. */
async function explainSentinels(old: string): Promise<void> {
  for (const s of h.c.redisSentinels) {
    const ask = async (args: string[]): Promise<string> =>
      JSON.stringify(await redisCall(s.addr, 1000, args).catch((e: Error) => `error: ${e.message}`));
    log(`sentinel ${s.addr}: master ${await ask(['SENTINEL', 'MASTER', 'ha-test-1'])}`);
    log(`sentinel ${s.addr}: replicas ${await ask(['SENTINEL', 'REPLICAS', 'ha-test-1'])}`);
    log(`sentinel ${s.addr}: info ${await ask(['INFO', 'sentinel'])}`);
    const lines = readFileSync(join(s.dir, 'sentinel.log'), 'utf8').split('\n');
    log(`sentinel ${s.addr} log (last 40 lines):\n${lines.slice(-40).join('\n')}`);
  }
  const dash = readFileSync(join(h.c.info.dir, 'dashboard.log'), 'utf8').split('\n');
  log(
    `dashboard log, lines naming ${old} or sentinel:\n${dash
      .filter((l) => l.includes(old) || /sentinel/i.test(l))
      .slice(-40)
      .join('\n')}`,
  );
}

/** The old master comes back (empty, as a master): sentinel turns it into a replica of the new one, and the dashboard sees it so. */
async function restartAsReplica(old: string, fresh: string): Promise<void> {
  await restartServer(h, old);
  await eventually(
    `${old} to become a replica of ${fresh}`,
    async () => {
      const info = await infoReplication(old);
      return info.role === 'slave' && `${info.master_host}:${info.master_port}` === fresh;
    },
    // Sentinel converts a returning old master after ~8 s; if it does not, the dashboard does after its
    // own 20 s grace plus a stats period. 90 s leaves room for both on a loaded machine.
    90000,
    250,
  ).catch(async (e: unknown) => {
    await explainSentinels(old);
    throw e;
  });
  // ... and the dashboard sees it so.
  await eventually(
    'the dashboard to show the old master as a replica',
    async () => {
      const r = await api(h, 'GET', '/api/topom/stats/{token}');
      const st = r.body.group.stats[old];
      return (
        st?.stats?.role === 'slave' &&
        st.stats.master_addr === fresh &&
        r.body.group.models.find((g: { id: number }) => g.id === 1).servers[0].server === fresh
      );
    },
    10000,
    200,
  );
}

test('planned switchover (promote): zero acknowledged writes lost, checked key by key', async () => {
  const groups = await dashboardGroups(h);
  const g2 = groups.find((g) => g.id === 2)!;
  const old = g2.servers[0]!.server;
  const target = g2.servers[1]!.server;
  await waitReplicaUp(old);
  const wl = workload(h.proxyClients, [h.tagOf(2, 2), h.tagOf(2, 3), h.tagOf(1, 2)], { maxOps: 50000 });
  await eventually('the workload to get going', () => wl.acked.size >= 50, 20000);
  const before = wl.acked.size;
  const r = await api(h, 'PUT', `/api/topom/group/promote/{token}/2/${target}`);
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const afterPromote = wl.acked.size;
  await eventually('writes to go on after the switchover', () => wl.acked.size >= afterPromote + 50, 20000);
  await wl.stop();
  log(
    `promote: ${before} writes before, ${wl.acked.size} acked in total, ${wl.errors} errors (${wl.lastError}); reply ${JSON.stringify(r.body).slice(0, 200)}`,
  );
  assert.ok(wl.acked.size > before, 'writes went on during the switchover');
  assert.equal(await masterOf(h, 2), target);
  assert.equal(await roleOf(target, 1000), 'master');
  await eventually(
    `${old} to replicate from ${target}`,
    async () => {
      const info = await infoReplication(old);
      return info.role === 'slave' && `${info.master_host}:${info.master_port}` === target;
    },
    10000,
    100,
  );
  // Every acknowledged write is there, key by key, through both proxies.
  let lost = 0;
  const entries = [...wl.acked];
  for (let i = 0; i < entries.length; i += 200) {
    const part = entries.slice(i, i + 200);
    const c = h.proxyClients[(i / 200) % 2]!;
    const vals = await Promise.all(part.map(([k]) => c.get(k)));
    part.forEach(([k, v], j) => {
      if (vals[j] !== v) {
        lost++;
        if (lost < 5) log(`lost ${k}: want ${v}, got ${vals[j]}`);
      }
    });
  }
  assert.equal(lost, 0, `${lost} of ${entries.length} acknowledged writes lost`);
  await waitProxiesRoute(2, target);
  // The sentinels follow the new master.
  await eventually(
    'every sentinel to monitor the promoted master',
    async () => {
      const s = await api(h, 'GET', '/api/topom/sentinels/stats/{token}');
      return s.body.disagreements.length === 0 && s.body.masters['2'] === target;
    },
    15000,
    250,
  );
});

test('one sentinel down, then a majority down: the cluster keeps serving; failover waits for quorum', async () => {
  const [s0, s1] = h.c.redisSentinels;
  await s0!.kill9();
  // One sentinel down: a failover still happens (2 of 3 agree).
  const a = await killMaster(1);
  const w = await Promise.all(h.proxyClients.map((c, i) => firstWriteOk(c, `probe{${h.tagOf(1)}}:${i}`, a.t0, FAILOVER_BUDGET_MS)));
  log(`failover with one sentinel down: ${w.join(', ')} ms`);
  await waitSettledMaster(1, a.old);
  await restartServer(h, a.old);

  // A majority down: still serving both groups.
  await s1!.kill9();
  for (const c of h.proxyClients) {
    assert.equal(await c.set(`k{${h.tagOf(1)}}`, 'x'), 'OK');
    assert.equal(await c.set(`k{${h.tagOf(2)}}`, 'x'), 'OK');
  }
  const b = await killMaster(2);
  // The one live sentinel sees the master down (s_down) but, alone, can never reach the quorum of 2
  // (o_down), which is what starts a failover.
  const live = h.c.redisSentinels[2]!;
  const flags = async (): Promise<string> => {
    const fields = (await redisCall(live.addr, 1000, ['SENTINEL', 'MASTER', `${h.c.info.product}-2`])) as string[];
    return String(fields[fields.indexOf('flags') + 1]);
  };
  await eventually('the live sentinel to see the master of group 2 down', async () => /s_down/.test(await flags()), 20000, 100);
  assert.doesNotMatch(await flags(), /o_down/, 'one sentinel alone cannot agree the master is down');
  assert.equal(await masterOf(h, 2), b.old, 'no failover without a quorum');
  await assert.rejects(h.proxyClients[0]!.set(`k{${h.tagOf(2)}}`, 'y'), 'group 2 cannot take writes while its master is down');
  assert.equal(await h.proxyClients[0]!.set(`k{${h.tagOf(1)}}`, 'y'), 'OK', 'group 1 keeps serving');
  // The sentinels come back: the failover happens.
  const t1 = Date.now();
  await Promise.all([s0!.restart(), s1!.restart()]);
  const w2 = await Promise.all(h.proxyClients.map((c, i) => firstWriteOk(c, `probe{${h.tagOf(2)}}:${i}`, t1, 2 * FAILOVER_BUDGET_MS)));
  log(`failover after the sentinels returned: ${w2.join(', ')} ms after their restart`);
  await waitSettledMaster(2, b.old);
  await restartServer(h, b.old);
});

test('dashboard down during a failover: proxies still switch; the dashboard catches up when it returns', async () => {
  const dashAddr = h.dashboard.addr;
  await h.dashboard.proc.kill9();
  const { old, t0 } = await (async () => {
    // masterOf needs the dashboard: read it from a proxy's table instead.
    const r = await httpJson('GET', h.c.info.proxies[0]!.admin, '/proxy/slots', { timeoutMs: 2000, headers: bearer(h.token) });
    const m = (r.json as Array<{ backend_addr?: string; backend_addr_group_id?: number }>).find(
      (s) => s.backend_addr_group_id === 1,
    )!.backend_addr!;
    await waitReplicaUp(m);
    const t = Date.now();
    await serverAt(h, m).kill9();
    return { old: m, t0: t };
  })();
  const w = await Promise.all(h.proxyClients.map((c, i) => firstWriteOk(c, `probe{${h.tagOf(1)}}:${i}`, t0, FAILOVER_BUDGET_MS)));
  log(`failover with the dashboard down: ${w.join(', ')} ms`);
  const d = await startDashboardProcess(
    ['--coordinator', h.c.info.coordinator, '--product-name', h.c.info.product, '--admin-addr', dashAddr, ...h.dashboardArgs],
    join(h.c.info.dir, 'dashboard-restarted.log'),
  );
  h.dashboard = { addr: dashAddr, proc: d.proc }; // h.stop() stops it
  await d.waitReady(60000);
  const fresh = (await waitSettledMaster(1, old)).at(-1)!;
  await waitProxiesRoute(1, fresh);
  await restartServer(h, old);
});

test('a standby dashboard takes over during a failover and finishes the bookkeeping', async () => {
  const standby = await startStandbyDashboard(h);
  running.add({ stop: () => standby.proc.stop() }); // if the test fails before it becomes h.dashboard
  const oldMaster = await masterOf(h, 2);
  await waitReplicaUp(oldMaster);
  await h.dashboard.proc.kill9();
  const t0 = Date.now();
  await serverAt(h, oldMaster).kill9();
  await standby.waitReady(60000);
  h.dashboard = { addr: standby.addr, proc: standby.proc };
  const w = await Promise.all(h.proxyClients.map((c, i) => firstWriteOk(c, `probe{${h.tagOf(2)}}:${i}`, t0, FAILOVER_BUDGET_MS)));
  log(`failover during the dashboard takeover: ${w.join(', ')} ms`);
  const fresh = (await waitSettledMaster(2, oldMaster)).at(-1)!;
  await waitProxiesRoute(2, fresh);
  await restartServer(h, oldMaster);
});

test('proxies followed every failover and never went back to an older sentinel configuration', async () => {
  for (const p of h.c.info.proxies) {
    const r = await httpJson('GET', p.admin, '/proxy/sentinels', { timeoutMs: 2000, headers: bearer(h.token) });
    const st = r.json as { switches: number; servers: string[]; recent_switches: Array<{ gid: number; epoch: number }> };
    assert.equal(st.servers.length, 3);
    // The proxy switches by itself (the dashboard-down test shows writes resuming through it with no
    // dashboard running), but when the dashboard's push of the new table arrives first there is nothing
    // left for its own watcher to switch: the count is at least 1, not one per failover. Every failover
    // was followed: each group routes to the master the dashboard and the sentinels agree on.
    assert.ok(st.switches >= 1, `proxy ${p.admin} never switched by itself`);
    // Never back to an older configuration: per group, each switch has a strictly higher config-epoch
    // (a second switch at the same epoch would mean the proxy was sent back to an old master first).
    const last = new Map<number, number>();
    for (const sw of st.recent_switches) {
      assert.ok(
        sw.epoch > (last.get(sw.gid) ?? -1),
        `proxy ${p.admin} switched group ${sw.gid} to an older epoch: ${JSON.stringify(st.recent_switches)}`,
      );
      last.set(sw.gid, sw.epoch);
    }
  }
  for (const gid of [1, 2]) await waitProxiesRoute(gid, await masterOf(h, gid));
});

test('a sentinel left on a dead master that knows no replicas or peers is re-monitored by the dashboard', async () => {
  // What a sentinel restarted right after being told to monitor a new master looks like: it names a
  // master that is gone and knows nothing else of the group, so it can never hear a failover.
  const victim = h.c.redisSentinels[0]!;
  const name = `${h.c.info.product}-2`;
  const dead = await closedPort();
  await redisCall(victim.addr, 2000, ['SENTINEL', 'REMOVE', name]);
  await redisCall(victim.addr, 2000, ['SENTINEL', 'MONITOR', name, '127.0.0.1', String(dead), '2']);
  // ... and the other sentinels forget it as a peer of the group (else they send it their hello directly).
  for (const s of h.c.redisSentinels.slice(1)) await redisCall(s.addr, 2000, ['SENTINEL', 'RESET', name]);
  const master = await masterOf(h, 2);
  await eventually(
    `the dashboard to re-monitor ${name} on ${victim.addr} at ${master}`,
    async () => {
      const r = (await redisCall(victim.addr, 1000, ['SENTINEL', 'MASTER', name])) as string[];
      return `${r[r.indexOf('ip') + 1]}:${r[r.indexOf('port') + 1]}` === master;
    },
    // The dashboard waits max(10 s, 3 x down-after) before it acts (a sentinel may just be catching up).
    40000,
    250,
  );
  assert.equal(await masterOf(h, 2), master, 'no failover came of it');
});

test('admin CLI: sentinel list shows agreement; del and add reconfigure sentinels and proxies', async () => {
  const { execFileSync } = await import('node:child_process');
  const { SHARDIS_BIN } = await import('../../src/util/shardis-process.js');
  const cli = (...args: string[]): string =>
    execFileSync(process.execPath, [SHARDIS_BIN, 'admin', '--dashboard', h.dashboard.addr, '--token', h.token, ...args], {
      encoding: 'utf8',
      timeout: 30000,
    });
  await eventually('sentinels to agree with the dashboard', () => cli('sentinel', 'list').includes('all sentinels agree'), 15000, 500);
  const victim = h.c.info.sentinels[2]!;
  assert.match(cli('sentinel', 'del', victim), /removed/);
  assert.deepEqual(await redisCall(victim, 1000, ['SENTINEL', 'MASTERS']), [], 'the product is no longer monitored there');
  const proxySentinels = async (): Promise<string[]> =>
    (
      (await httpJson('GET', h.c.info.proxies[0]!.admin, '/proxy/sentinels', { timeoutMs: 2000, headers: bearer(h.token) })).json as {
        servers: string[];
      }
    ).servers;
  assert.equal((await proxySentinels()).length, 2);
  assert.match(cli('sentinel', 'add', victim), /added/);
  assert.equal((await proxySentinels()).length, 3);
  const monitored = JSON.parse(cli('--json', 'sentinel', 'info', victim)) as Array<{ name: string; addr: string }>;
  assert.deepEqual(monitored.map((m) => m.name).sort(), ['ha-test-1', 'ha-test-2']);
  for (const m of monitored) assert.equal(m.addr, await masterOf(h, Number(m.name.split('-').pop())));
});
