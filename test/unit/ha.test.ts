// Pure parts of HA: rewriting a proxy's table when a group master moves, the masters a table routes
// to, master names, and the per-proxy replica groups.
// Expected duration: under 1 s on a quiet 2-core machine.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mastersOfTable, rewriteMasters } from '../../src/proxy/sentinel-watcher.js';
import { groupOfName, masterName } from '../../src/ha/sentinels.js';
import { replicaGroupsFor, withReplicaGroups } from '../../src/dashboard/replica-groups.js';
import { differsOnlyInMaster } from '../../src/dashboard/slots-compute.js';
import type { Group } from '../../src/models/group.js';
import type { ProxyModel } from '../../src/models/proxy.js';

test('master names are <product>-<gid>; other products are ignored', () => {
  assert.equal(masterName('p', 3), 'p-3');
  assert.equal(groupOfName('p', 'p-3'), 3);
  assert.equal(groupOfName('p', 'p-x'), null);
  assert.equal(groupOfName('p', 'pp-3'), null);
  assert.equal(groupOfName('my-prod', 'my-prod-12'), 12);
});

test('a group master switch rewrites backend_addr and migrate_from of that group only', () => {
  const slots = [
    { id: 0, backend_addr: 'a:1', backend_addr_group_id: 1 },
    { id: 1, backend_addr: 'b:1', backend_addr_group_id: 2, migrate_from: 'a:1', migrate_from_group_id: 1 },
    { id: 2, backend_addr: 'b:1', backend_addr_group_id: 2, replica_groups: [['c:1', 'b:1']] },
    { id: 3 },
  ];
  assert.deepEqual(
    [...mastersOfTable(slots)],
    [
      [1, 'a:1'],
      [2, 'b:1'],
    ],
  );
  const out = rewriteMasters(slots, [{ gid: 1, from: 'a:1', to: 'a:2', epoch: 1 }]);
  assert.deepEqual(
    out.map((s) => s.id),
    [0, 1],
  );
  assert.equal(out[0]!.backend_addr, 'a:2');
  assert.equal(out[1]!.backend_addr, 'b:1');
  assert.equal(out[1]!.migrate_from, 'a:2');
  const out2 = rewriteMasters(slots, [{ gid: 2, from: 'b:1', to: 'c:1', epoch: 2 }]);
  assert.deepEqual(out2.find((s) => s.id === 2)!.replica_groups, [['b:1']], 'the new master leaves the replica groups');
});

test('replica groups: flagged servers by priority (same host, same datacenter, other); none while promoting', () => {
  const g: Group = {
    id: 1,
    promoting: {},
    out_of_sync: false,
    servers: [
      { server: '10.0.0.1:6379', datacenter: 'dc1', action: {}, replica_group: false },
      { server: '10.0.0.2:6379', datacenter: 'dc1', action: {}, replica_group: true },
      { server: '10.0.0.9:6379', datacenter: 'dc2', action: {}, replica_group: true },
      { server: '10.0.0.5:6380', datacenter: 'dc1', action: {}, replica_group: true },
    ],
  };
  const proxy = { admin_addr: '10.0.0.5:11080', proxy_addr: '10.0.0.5:19000', datacenter: 'dc1' } as ProxyModel;
  assert.deepEqual(replicaGroupsFor(g, proxy), [['10.0.0.5:6380'], ['10.0.0.2:6379'], ['10.0.0.9:6379']]);
  assert.deepEqual(replicaGroupsFor({ ...g, promoting: { index: 1, state: 'prepared' } }, proxy), []);
  assert.deepEqual(replicaGroupsFor({ ...g, servers: g.servers.slice(0, 1) }, proxy), []);
  const table = withReplicaGroups(
    [
      { id: 0, backend_addr: '10.0.0.1:6379', backend_addr_group_id: 1 },
      { id: 1, backend_addr: '10.0.0.1:6379', backend_addr_group_id: 1, locked: true },
    ],
    new Map([[1, g]]),
    proxy,
  );
  assert.equal(table[0]!.replica_groups!.length, 3);
  assert.equal(table[1]!.replica_groups, undefined, 'no replica reads for a locked slot');
});

test('a proxy table that only follows a failover within each group is told apart from a stale one', () => {
  const members = (gid: number): string[] => (gid === 1 ? ['h:1', 'h:2'] : gid === 2 ? ['h:3', 'h:4'] : []);
  const expected = [
    { id: 0, backend_addr: 'h:1', backend_addr_group_id: 1 },
    { id: 1, backend_addr: 'h:3', backend_addr_group_id: 2, migrate_from: 'h:1', migrate_from_group_id: 1 },
  ];
  // What the proxy itself does when the sentinels promote h:2 in group 1.
  const followed = rewriteMasters(expected, [{ gid: 1, from: 'h:1', to: 'h:2', epoch: 2 }]);
  assert.equal(followed[1]!.migrate_from, 'h:2');
  for (const i of [0, 1]) assert.equal(differsOnlyInMaster(expected[i]!, followed[i], members), true);
  assert.equal(differsOnlyInMaster(expected[0]!, { ...expected[0]!, backend_addr: 'h:9' }, members), false, 'not a member of the group');
  assert.equal(
    differsOnlyInMaster(expected[0]!, { ...expected[0]!, backend_addr: 'h:3', backend_addr_group_id: 2 }, members),
    false,
    'another group',
  );
  assert.equal(differsOnlyInMaster(expected[0]!, { ...expected[0]!, locked: true }, members), false, 'lock state differs');
  assert.equal(differsOnlyInMaster(expected[1]!, { ...expected[1]!, migrate_from: undefined }, members), false, 'migration state differs');
  assert.equal(differsOnlyInMaster(expected[0]!, undefined, members), false);
});
