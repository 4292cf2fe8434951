// Replica reads (backend_primary_only=false + the dashboard's replica groups): a session's read-only
// commands go to a replica until the session writes; after that it reads its own writes from the
// master. A marker key written on the replica only (replica-read-only off) shows where reads went.
// Expected duration: about 20 s on a quiet 2-core machine.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { startLocalCluster, type LocalCluster } from '../../src/cli/local-cluster.js';
import { httpJson } from '../../src/util/http-json.js';
import { redisCall } from '../../src/ha/sentinels.js';
import { eventually } from '../helpers/poll.js';
import { bearer } from '../helpers/admin-auth.js';

let c: LocalCluster;
before(async () => {
  c = await startLocalCluster({
    groups: 1,
    replicas: 1,
    proxies: 1,
    dir: mkdtempSync(join(tmpdir(), 'shardis-rr-')),
    basePort: 0,
    host: '127.0.0.1',
    product: 'rr-test',
    sentinels: 0,
    proxyArgs: ['--backend-primary-only', 'false'],
    dashboardArgs: ['--stats-period', '500ms'],
  });
});
after(async () => {
  await c?.stop();
});

const client = (): Redis => {
  const p = c.info.proxies[0]!.addr;
  return new Redis({ host: '127.0.0.1', port: Number(p.slice(p.lastIndexOf(':') + 1)), maxRetriesPerRequest: 0 });
};

test('reads go to the replica group until the session writes; a written session reads the master', async () => {
  const replica = c.info.groups[0]!.replicas[0]!;
  await redisCall(replica, 1000, ['CONFIG', 'SET', 'replica-read-only', 'no']);
  await redisCall(replica, 1000, ['SET', 'marker', 'on-replica']);
  // Without replica groups every read goes to the master.
  const a = client();
  assert.equal(await a.get('marker'), null);
  a.disconnect();
  const r = await httpJson('PUT', c.info.dashboard.addr, `/api/topom/group/replica-groups-all/${c.info.dashboard.admin_token}/1`, {
    timeoutMs: 10000,
  });
  assert.equal(r.status, 200, JSON.stringify(r.json));
  await eventually(
    'the proxy to receive replica groups',
    async () => {
      const s = await httpJson('GET', c.info.proxies[0]!.admin, '/proxy/slots', {
        timeoutMs: 2000,
        headers: bearer(c.info.dashboard.admin_token),
      });
      return (s.json as Array<{ replica_groups?: string[][] }>).every((x) => (x.replica_groups ?? []).flat().includes(replica));
    },
    10000,
    100,
  );
  const b = client();
  // The master itself is a replica-group member too (flag on all servers): read until we hit the replica.
  let seen = false;
  for (let i = 0; i < 10 && !seen; i++) seen = (await b.get('marker')) === 'on-replica';
  assert.ok(seen, 'a fresh session reads from the replica');
  assert.equal(await b.set('mine', '1'), 'OK');
  for (let i = 0; i < 10; i++) {
    assert.equal(await b.get('marker'), null, 'after a write the session reads from the master');
    assert.equal(await b.get('mine'), '1', 'and sees its own write');
  }
  // READONLY opts a session that wrote back into replica reads; READWRITE opts out again.
  assert.equal(await b.call('READONLY'), 'OK');
  seen = false;
  for (let i = 0; i < 10 && !seen; i++) seen = (await b.get('marker')) === 'on-replica';
  assert.ok(seen, 'after READONLY the session reads from the replica again');
  assert.equal(await b.call('READWRITE'), 'OK');
  for (let i = 0; i < 5; i++) assert.equal(await b.get('marker'), null, 'after READWRITE: the master');
  b.disconnect();
  await redisCall(replica, 1000, ['DEL', 'marker']);
});

test('a replica that turned master is pointed back at its group master: sync action, and automatically', async () => {
  const master = c.info.groups[0]!.master;
  const replica = c.info.groups[0]!.replicas[0]!;
  const isReplica = async (): Promise<boolean> => {
    const info = String(await redisCall(replica, 1000, ['INFO', 'replication']));
    return info.includes('role:slave') && info.includes(`master_port:${master.slice(master.lastIndexOf(':') + 1)}`);
  };
  // Sync action (shardis admin group sync ADDR).
  await redisCall(replica, 1000, ['REPLICAOF', 'NO', 'ONE']);
  const r = await httpJson('PUT', c.info.dashboard.addr, `/api/topom/group/action/create/${c.info.dashboard.admin_token}/${replica}`, {
    timeoutMs: 10000,
  });
  assert.equal(r.status, 200, JSON.stringify(r.json));
  assert.equal((r.json as { master: string }).master, master);
  assert.ok(await isReplica());
  // Automatically (no sentinels here: after two stats polls).
  await redisCall(replica, 1000, ['REPLICAOF', 'NO', 'ONE']);
  await eventually('the dashboard to make the stray master a replica again', isReplica, 15000, 200);
});
