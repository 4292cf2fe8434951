// Write safety on a group (src/dashboard/write-safety.ts) against real redis-servers: the settings the
// dashboard applies (min-replicas-to-write capped at the replica count, min-replicas-max-lag in whole
// seconds, on the recognised master only and capped there at its online replicas, 0 on replicas),
// applied once per server run and again after a restart, degraded/restored transitions, and what they buy: a master whose only replica stops acknowledging (frozen, as behind a
// partition) refuses writes (NOREPLICAS) within max-lag + ~1 s, and takes them again once it is back.
// Expected duration: ~10 s.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { WriteSafety, needsSentinelCheck, wantedSettings } from '../../src/dashboard/write-safety.js';
import { seesMaster } from '../../src/dashboard/sentinel-reach.js';
import { RedisStatsPool, onlineReplicaLags, onlineReplicas } from '../../src/dashboard/redis-probe.js';
import { startRedisServer, rawCommand, type RedisServer } from '../../src/util/redis-server.js';
import { waitFor } from '../../src/util/processes.js';
import type { Group } from '../../src/models/group.js';

const started: RedisServer[] = [];
const pool = new RedisStatsPool('', 2000);
after(async () => {
  pool.close();
  await Promise.all(started.map((s) => s.stop()));
});

const group = (servers: string[]): Group => ({
  id: 1,
  servers: servers.map((server) => ({ server, datacenter: '', action: {}, replica_group: false })),
  promoting: {},
  out_of_sync: false,
});

const aMaster = { role: 'master', onlineReplicas: 1 };
const aReplica = { role: 'slave', onlineReplicas: 0 };

test('wanted settings: on the recognised master, capped at the replica count; 0 turns it off; lag in whole seconds (at least 1)', () => {
  const w = (c: { minReplicasToWrite: number; minReplicasMaxLagMs: number }, servers: string[], online = 5) =>
    wantedSettings(c, group(servers), 'a:1', { role: 'master', onlineReplicas: online });
  assert.deepEqual(w({ minReplicasToWrite: 1, minReplicasMaxLagMs: 10000 }, ['a:1']), {
    toWrite: 0,
    maxLagSec: 10,
    degraded: false,
    groupWants: 0,
  });
  assert.deepEqual(w({ minReplicasToWrite: 1, minReplicasMaxLagMs: 2500 }, ['a:1', 'b:1']), {
    toWrite: 1,
    maxLagSec: 3,
    degraded: false,
    groupWants: 1,
  });
  assert.deepEqual(w({ minReplicasToWrite: 5, minReplicasMaxLagMs: 100 }, ['a:1', 'b:1', 'c:1']), {
    toWrite: 2,
    maxLagSec: 1,
    degraded: false,
    groupWants: 2,
  });
  assert.deepEqual(w({ minReplicasToWrite: 0, minReplicasMaxLagMs: 3000 }, ['a:1', 'b:1']), {
    toWrite: 0,
    maxLagSec: 3,
    degraded: false,
    groupWants: 0,
  });
});

test('replicas carry 0 (a promotion without a dashboard never blocks writes); an unrecognised master is left alone', () => {
  const c = { minReplicasToWrite: 1, minReplicasMaxLagMs: 3000 };
  const g = group(['a:1', 'b:1', 'c:1']);
  assert.equal(wantedSettings(c, g, 'b:1', aReplica)?.toWrite, 0);
  assert.equal(wantedSettings(c, g, 'c:1', { role: 'master', onlineReplicas: 0 }), null, 'a server that says master but is not servers[0]');
  assert.equal(wantedSettings({ ...c, minReplicasToWrite: 0 }, g, 'c:1', { role: 'master', onlineReplicas: 0 })?.toWrite, 0);
  assert.equal(wantedSettings(c, g, 'a:1', aMaster)?.toWrite, 1);
});

test('a master with too few replicas online is degraded: capped at the online ones, 0 when alone', () => {
  const c = { minReplicasToWrite: 1, minReplicasMaxLagMs: 3000 };
  const alone = wantedSettings(c, group(['a:1', 'b:1']), 'a:1', { role: 'master', onlineReplicas: 0 });
  assert.deepEqual(alone, { toWrite: 0, maxLagSec: 3, degraded: true, groupWants: 1, reason: 'no replica online: the master is alone' });
  const two = { ...c, minReplicasToWrite: 2 };
  assert.deepEqual(wantedSettings(two, group(['a:1', 'b:1', 'c:1']), 'a:1', { role: 'master', onlineReplicas: 1 }), {
    toWrite: 1,
    maxLagSec: 3,
    degraded: true,
    groupWants: 2,
    reason: 'only 1 replica(s) online',
  });
  assert.equal(wantedSettings(c, group(['a:1', 'b:1', 'c:1']), 'a:1', { role: 'master', onlineReplicas: 1 })?.degraded, false);
});

test('online replicas that stopped acknowledging are not counted only on a sentinel majority that reaches the master', () => {
  const c = { minReplicasToWrite: 1, minReplicasMaxLagMs: 3000 };
  const g = group(['a:1', 'b:1']);
  const lagging = { role: 'master', onlineReplicas: 1, replicaLags: [5] };
  assert.equal(needsSentinelCheck(c, g, 'a:1', lagging), true);
  assert.equal(needsSentinelCheck(c, g, 'a:1', { ...lagging, replicaLags: [1] }), false, 'acknowledging');
  assert.equal(needsSentinelCheck(c, g, 'b:1', lagging), false, 'not the recognised master');
  assert.equal(needsSentinelCheck(c, group(['a:1', 'b:1', 'c:1']), 'a:1', { ...lagging, onlineReplicas: 2, replicaLags: [0, 9] }), false);
  assert.equal(wantedSettings(c, g, 'a:1', lagging)?.toWrite, 1, 'no answer from the sentinels: kept');
  assert.equal(wantedSettings(c, g, 'a:1', { ...lagging, majoritySeesMaster: false })?.toWrite, 1, 'no majority: kept');
  const relaxed = wantedSettings(c, g, 'a:1', { ...lagging, majoritySeesMaster: true });
  assert.equal(relaxed?.toWrite, 0);
  assert.equal(relaxed?.degraded, true);
  assert.match(relaxed?.reason ?? '', /sentinel majority/);
});

test('a sentinel sees the master when it names it, flags it neither down nor failing over, and had a ping reply within 2 s', () => {
  const ok = { ip: '10.0.0.1', port: '6379', flags: 'master', 'last-ok-ping-reply': '300' };
  assert.equal(seesMaster(ok, '10.0.0.1:6379'), true);
  assert.equal(seesMaster(ok, '10.0.0.2:6379'), false);
  assert.equal(seesMaster({ ...ok, flags: 'master,s_down' }, '10.0.0.1:6379'), false);
  assert.equal(seesMaster({ ...ok, flags: 'master,failover_in_progress' }, '10.0.0.1:6379'), false);
  assert.equal(seesMaster({ ...ok, 'last-ok-ping-reply': '4000' }, '10.0.0.1:6379'), false);
});

test('online replicas are counted from INFO replication: only state=online', () => {
  assert.equal(
    onlineReplicas({
      role: 'master',
      connected_slaves: '3',
      slave0: 'ip=127.0.0.1,port=7001,state=online,offset=100,lag=0',
      slave1: 'ip=127.0.0.1,port=7002,state=wait_bgsave,offset=0,lag=0',
      slave2: 'ip=127.0.0.1,port=7003,state=online,offset=90,lag=1',
    }),
    2,
  );
  assert.equal(onlineReplicas({ role: 'master', connected_slaves: '0' }), 0);
  assert.deepEqual(
    onlineReplicaLags({
      slave0: 'ip=127.0.0.1,port=7001,state=online,offset=100,lag=0',
      slave1: 'ip=127.0.0.1,port=7002,state=send_bulk,offset=0,lag=7',
      slave2: 'ip=127.0.0.1,port=7003,state=online,offset=90,lag=12',
    }),
    [0, 12],
  );
});

test('degraded and restored transitions are reported once each', async () => {
  const ws = new WriteSafety({ minReplicasToWrite: 1, minReplicasMaxLagMs: 3000 });
  const g = group(['a:1', 'b:1']);
  const sent: string[][] = [];
  const cmd = async (...a: string[]): Promise<string> => {
    sent.push(a);
    return 'OK';
  };
  let r = await ws.ensure('a:1', 'run1', g, { role: 'master', onlineReplicas: 1 }, cmd);
  assert.deepEqual([r.set, r.transition], [true, null]);
  r = await ws.ensure('a:1', 'run1', g, { role: 'master', onlineReplicas: 0 }, cmd);
  assert.equal(r.set, true);
  assert.equal(r.transition?.kind, 'degraded');
  assert.equal(ws.degradedCount(), 1);
  assert.equal(ws.groupStates()['1']?.degraded, true);
  r = await ws.ensure('a:1', 'run1', g, { role: 'master', onlineReplicas: 0 }, cmd);
  assert.deepEqual([r.set, r.transition], [false, null], 'reported once');
  r = await ws.ensure('a:1', 'run1', g, { role: 'master', onlineReplicas: 1 }, cmd);
  assert.equal(r.transition?.kind, 'restored');
  assert.equal(ws.degradedCount(), 0);
  assert.deepEqual(
    sent.map((a) => a.at(-1)),
    ['1', '0', '1'],
  );
});

test('a master whose replica stops acknowledging refuses writes within max-lag + 1 s, and takes them again when it is back; re-applied after a restart', async () => {
  const master = await startRedisServer();
  started.push(master);
  let replica = await startRedisServer({ config: [`replicaof ${master.host} ${master.port}`] });
  started.push(replica);
  await waitFor(
    'the replica to be linked',
    async () => /master_link_status:up/.test(await rawCommand(replica.host, replica.port, 'INFO replication')),
    15000,
    50,
  );
  const ws = new WriteSafety({ minReplicasToWrite: 1, minReplicasMaxLagMs: 1000 });
  const g = group([master.addr, replica.addr]);
  const master1 = { role: 'master', onlineReplicas: 1 };
  const replica0 = { role: 'slave', onlineReplicas: 0 };
  const runId = async (s: RedisServer): Promise<string> => /run_id:(\w+)/.exec(await rawCommand(s.host, s.port, 'INFO server'))![1]!;
  const onMaster = async (): Promise<boolean> =>
    (await ws.ensure(master.addr, await runId(master), g, master1, (...a: string[]) => pool.command(master.addr, ...a))).set;
  assert.equal(await onMaster(), true);
  assert.equal(await onMaster(), false, 'applied once per server run');
  assert.match(await rawCommand(master.host, master.port, 'CONFIG GET min-replicas-to-write'), /\r\n1\r\n/);
  assert.match(await rawCommand(master.host, master.port, 'CONFIG GET min-replicas-max-lag'), /\r\n1\r\n/);
  // Redis counts a replica as good while its last ack (sent every second) is at most max-lag (1 s, in
  // whole seconds) old: on a loaded machine an ack can come late, so the first write may need a retry.
  await waitFor(
    'the master to take writes with its replica acknowledging',
    async () => /^\+OK/.test(await rawCommand(master.host, master.port, 'SET k before')),
    10000,
    100,
  );

  // A frozen replica is what a partition looks like to the master: the connection stays, acks stop.
  process.kill(replica.proc.pid, 'SIGSTOP');
  const t0 = Date.now();
  try {
    await waitFor(
      'the master to refuse writes',
      async () => /^-NOREPLICAS/.test(await rawCommand(master.host, master.port, 'SET k during')),
      10000,
      50,
    );
    const refusedAfter = Date.now() - t0;
    assert.ok(
      refusedAfter <= 1000 + 1000 + 1500,
      `refused ${refusedAfter} ms after the replica stopped acknowledging (max-lag 1 s + ack period 1 s + slack)`,
    );
    assert.match(
      await rawCommand(master.host, master.port, 'INFO replication'),
      /connected_slaves:1/,
      'the master still counts the frozen replica as connected',
    );
  } finally {
    process.kill(replica.proc.pid, 'SIGCONT');
  }
  await waitFor(
    'the master to take writes again',
    async () => /^\+OK/.test(await rawCommand(master.host, master.port, 'SET k resumed')),
    10000,
    50,
  );

  // A restarted server (no persistence) lost the settings: a new run_id makes them apply again.
  await replica.kill9();
  await replica.restart();
  replica = started[1]!;
  await waitFor(
    'the replica to be linked again',
    async () => /master_link_status:up/.test(await rawCommand(replica.host, replica.port, 'INFO replication')),
    15000,
    50,
  );
  await waitFor(
    'the master to take writes again',
    async () => /^\+OK/.test(await rawCommand(master.host, master.port, 'SET k after')),
    10000,
    50,
  );
  await rawCommand(replica.host, replica.port, 'CONFIG SET min-replicas-to-write 1');
  const onReplica = async (): Promise<boolean> =>
    (await ws.ensure(replica.addr, await runId(replica), g, replica0, (...a: string[]) => pool.command(replica.addr, ...a))).set;
  assert.equal(await onReplica(), true);
  assert.match(await rawCommand(replica.host, replica.port, 'CONFIG GET min-replicas-to-write'), /\r\n0\r\n/, 'a replica carries 0');
});
