// The admin CLI's human output (src/cli/admin/format.ts) from made-up dashboard stats, no dashboard:
// aligned tables, slot ranges per group and pending actions, server status wording, push summaries.
// Expected duration: under 1 s.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatGroups, formatSlots, pushLines, table, type StatsReply } from '../../src/cli/admin/format.js';
import { newGroup, newGroupServer } from '../../src/models/group.js';
import type { SlotMapping } from '../../src/models/slot-mapping.js';

const slot = (id: number, gid: number, action: SlotMapping['action'] = {}): SlotMapping => ({ id, group_id: gid, action });

test('table: columns padded to the widest cell, last column not padded', () => {
  assert.equal(
    table(
      ['A', 'LONG'],
      [
        ['xyz', '1'],
        ['q', '22'],
      ],
    ),
    'A    LONG\nxyz  1\nq    22\n',
  );
});

test('formatSlots: ranges per group, offline last, pending actions listed', () => {
  const slots = [slot(0, 1), slot(1, 1), slot(2, 1), slot(3, 0), slot(4, 2, { state: 'pending', target_id: 1, index: 1 }), slot(5, 2)];
  const out = formatSlots(slots);
  const lines = out.split('\n');
  assert.match(lines[0] ?? '', /^GROUP\s+SLOTS\s+RANGES$/);
  assert.match(lines[1] ?? '', /^1\s+3\s+0-2$/);
  assert.match(lines[2] ?? '', /^2\s+2\s+4-5$/);
  assert.match(lines[3] ?? '', /^offline\s+1\s+3$/);
  assert.match(out, /^SLOT\s+ACTION\s+TARGET\n4\s+pending\s+1$/m);
  assert.doesNotMatch(formatSlots([slot(0, 1)]), /ACTION/, 'no action table when nothing is pending');
});

test('formatGroups: roles, key counts and a status that names what is wrong', () => {
  const g1 = newGroup(1);
  g1.servers.push(newGroupServer('m:1'), newGroupServer('r:1', 'dc2'));
  const g2 = newGroup(2);
  g2.servers.push(newGroupServer('m:2'));
  const stats: StatsReply = {
    closed: false,
    slots: [slot(0, 1), slot(1, 1), slot(2, 2)],
    slot_counts: { 1: 2, 2: 1 },
    group: {
      models: [g1, g2, newGroup(3)],
      stats: {
        'm:1': { stats: { role: 'master', used_memory_human: '1M', connected_slaves: '1' }, dbs: { 0: 5, 2: 1 }, unixtime: 0 },
        'r:1': { stats: { role: 'slave', master_link_status: 'up', master_addr: 'm:1' }, dbs: { 0: 6 }, unixtime: 0 },
        'm:2': { stats: {}, dbs: {}, error: 'connection refused', unixtime: 0 },
      },
    },
    proxy: { models: [], stats: {} },
  };
  const out = formatGroups(stats);
  assert.match(out, /^1\s+m:1\s+master\s+-\s+1M\s+6\s+1\s+2\s+up$/m);
  assert.match(out, /^1\s+r:1\s+replica\s+dc2\s+-\s+6\s+-\s+up \(link up to m:1\)$/m);
  assert.match(out, /^2\s+m:2\s+master\s+-\s+-\s+-\s+-\s+1\s+DOWN: connection refused$/m);
  assert.match(out, /^3\s+\(no servers\)\s+0$/m);
  assert.equal(formatGroups({ ...stats, group: { models: [], stats: {} } }), 'no groups\n');
});

test('pushLines: a summary and one warning per failed proxy', () => {
  assert.deepEqual(pushLines(undefined), []);
  assert.deepEqual(pushLines({ proxies: 2, acked: 1, failed: [{ id: 2, token: 't', admin_addr: 'a:1', error: 'proxy a:1: timed out' }] }), [
    'slot tables pushed to 1/2 proxies',
    '  warning: proxy a:1: timed out',
  ]);
});
