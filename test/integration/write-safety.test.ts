// Write safety on a group (src/dashboard/write-safety.ts) against real redis-servers: the settings the
// dashboard applies (min-replicas-to-write capped at the replica count, min-replicas-max-lag in whole
// seconds, capped on a master at its connected replicas), applied once per server run and again after a
// restart, and what they buy: a master whose only replica stops acknowledging (frozen, as behind a
// partition) refuses writes (NOREPLICAS) within max-lag + ~1 s, and takes them again once it is back.
// Expected duration: ~10 s.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { RedisStatsPool } from '../../src/dashboard/redis-probe.js';
import { WriteSafety, wantedSettings } from '../../src/dashboard/write-safety.js';
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

test('wanted settings: capped at the replica count, 0 turns it off, lag in whole seconds (at least 1)', () => {
  assert.deepEqual(wantedSettings({ minReplicasToWrite: 1, minReplicasMaxLagMs: 10000 }, group(['a:1'])), { toWrite: 0, maxLagSec: 10 });
  assert.deepEqual(wantedSettings({ minReplicasToWrite: 1, minReplicasMaxLagMs: 2500 }, group(['a:1', 'b:1'])), {
    toWrite: 1,
    maxLagSec: 3,
  });
  assert.deepEqual(wantedSettings({ minReplicasToWrite: 5, minReplicasMaxLagMs: 100 }, group(['a:1', 'b:1', 'c:1'])), {
    toWrite: 2,
    maxLagSec: 1,
  });
  assert.deepEqual(wantedSettings({ minReplicasToWrite: 0, minReplicasMaxLagMs: 3000 }, group(['a:1', 'b:1'])), {
    toWrite: 0,
    maxLagSec: 3,
  });
});

test('on a master, capped at the replicas it has connected (a dead replica process or a lone new master does not block writes)', () => {
  const c = { minReplicasToWrite: 1, minReplicasMaxLagMs: 3000 };
  assert.equal(wantedSettings(c, group(['a:1', 'b:1', 'c:1']), 2).toWrite, 1);
  assert.equal(wantedSettings(c, group(['a:1', 'b:1']), 0).toWrite, 0);
  assert.equal(wantedSettings({ ...c, minReplicasToWrite: 2 }, group(['a:1', 'b:1', 'c:1']), 1).toWrite, 1);
  assert.equal(wantedSettings(c, group(['a:1', 'b:1']), null).toWrite, 1, 'a replica gets the full setting, ready for its promotion');
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
  const runId = async (s: RedisServer): Promise<string> => /run_id:(\w+)/.exec(await rawCommand(s.host, s.port, 'INFO server'))![1]!;
  assert.equal(await ws.ensure(master.addr, await runId(master), g, (...a) => pool.command(master.addr, ...a)), true);
  assert.equal(
    await ws.ensure(master.addr, await runId(master), g, (...a) => pool.command(master.addr, ...a)),
    false,
    'applied once per server run',
  );
  assert.match(await rawCommand(master.host, master.port, 'CONFIG GET min-replicas-to-write'), /\r\n1\r\n/);
  assert.match(await rawCommand(master.host, master.port, 'CONFIG GET min-replicas-max-lag'), /\r\n1\r\n/);
  assert.match(await rawCommand(master.host, master.port, 'SET k before'), /^\+OK/);

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
  assert.equal(await ws.ensure(replica.addr, await runId(replica), g, (...a) => pool.command(replica.addr, ...a)), true);
  assert.match(await rawCommand(replica.host, replica.port, 'CONFIG GET min-replicas-to-write'), /\r\n1\r\n/);
});
