// The console's event history and rates (src/dashboard/console-recorder.ts) from successive stats
// snapshots: failover vs promotion, migrations, proxies, per-slot rates, p99 from histograms.
// Expected duration: well under 1 s.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConsoleRecorder, formatRanges, parseLatencyHistogram } from '../../src/dashboard/console-recorder.js';

const group = (id: number, servers: string[], promoting = '') => ({
  id,
  servers: servers.map((server) => ({ server, datacenter: '' })),
  promoting: promoting ? { state: promoting } : {},
});
const slots = (f: (i: number) => { group_id: number; action?: { state: string; target_id: number } }) =>
  Array.from({ length: 1024 }, (_, i) => ({ id: i, action: {}, ...f(i) }));
const stats = (o: {
  groups: unknown[];
  slots?: unknown[];
  proxies?: Array<{ token: string; id: number; slot_ops?: number[]; ops?: number }>;
}) => ({
  group: { models: o.groups, stats: {} },
  slots: o.slots ?? slots(() => ({ group_id: 1 })),
  proxy: {
    models: (o.proxies ?? []).map((p) => ({ token: p.token, id: p.id, proxy_addr: `p${p.id}` })),
    stats: Object.fromEntries(
      (o.proxies ?? []).map((p) => [p.token, { ops_per_sec: p.ops ?? 0, stats: p.slot_ops ? { slot_ops: p.slot_ops } : {} }]),
    ),
  },
  sentinels: { model: { servers: [] } },
});

test('formatRanges compresses sorted ids', () => {
  assert.equal(formatRanges([0, 1, 2, 5, 7, 8]), '0-2, 5, 7-8');
  assert.equal(formatRanges([]), '');
});

test('a master change is a failover unless a promotion of that server was asked', () => {
  const r = new ConsoleRecorder();
  r.observe(stats({ groups: [group(1, ['a', 'b']), group(2, ['c', 'd'])] }), 1000);
  r.observe(stats({ groups: [group(1, ['b', 'a']), group(2, ['c', 'd'])] }), 2000);
  r.notePromotion(2, 'd', 2500);
  r.observe(stats({ groups: [group(1, ['b', 'a']), group(2, ['d', 'c'])] }), 3000);
  assert.deepEqual(
    r.eventsAfter(0).map((e) => [e.kind, e.text]),
    [
      ['failover', 'group 1: failover, master a → b'],
      ['promotion', 'group 2: promotion of d requested'],
      ['promotion', 'group 2: d promoted to master (was c)'],
    ],
  );
});

test('a group entering and leaving degraded write safety becomes an event', () => {
  const r = new ConsoleRecorder();
  const ws = (degraded: boolean) => ({
    ...stats({ groups: [group(1, ['a', 'b'])] }),
    write_safety: { groups: { '1': { degraded, ...(degraded ? { reason: 'no replica online: the master is alone' } : {}) } }, degraded: 0 },
  });
  r.observe(ws(false), 1000);
  r.observe(ws(true), 2000);
  r.observe(ws(true), 3000);
  r.observe(ws(false), 4000);
  assert.deepEqual(
    r.eventsAfter(0).map((e) => [e.kind, e.text]),
    [
      ['group', 'group 1: write safety degraded, min-replicas-to-write lowered (no replica online: the master is alone)'],
      ['group', 'group 1: write safety restored'],
    ],
  );
});

test('migrations, groups, servers and proxies coming and going become events', () => {
  const r = new ConsoleRecorder();
  r.observe(stats({ groups: [group(1, ['a'])], proxies: [{ token: 't1', id: 1 }] }), 1000);
  r.observe(
    stats({
      groups: [group(1, ['a']), group(2, ['x'])],
      slots: slots((i) => ({ group_id: 1, ...(i < 3 ? { action: { state: 'pending', target_id: 2 } } : {}) })),
      proxies: [],
    }),
    2000,
  );
  r.observe(stats({ groups: [group(1, ['a']), group(2, ['x'])], slots: slots((i) => ({ group_id: i < 3 ? 2 : 1 })) }), 3000);
  assert.deepEqual(
    r.eventsAfter(0).map((e) => e.text),
    [
      'group 2 created',
      'server x added to group 2',
      'migration queued: slots 0-2 from group 1 to group 2',
      'proxy 1 (p1) removed',
      'slots 0-2 now served by group 2 (was group 1)',
    ],
  );
});

test('per-slot rates are summed over proxies from their cumulative counters; absent counters give null', () => {
  const r = new ConsoleRecorder();
  const ops = (n: number) => Array.from({ length: 1024 }, (_, i) => (i === 5 ? n : 0));
  r.observe(stats({ groups: [], proxies: [{ token: 't1', id: 1 }] }), 0);
  assert.equal(r.slotOps(), null);
  r.observe(
    stats({
      groups: [],
      proxies: [
        { token: 't1', id: 1, slot_ops: ops(100) },
        { token: 't2', id: 2, slot_ops: ops(0) },
      ],
    }),
    1000,
  );
  r.observe(
    stats({
      groups: [],
      proxies: [
        { token: 't1', id: 1, slot_ops: ops(300), ops: 7 },
        { token: 't2', id: 2, slot_ops: ops(200) },
      ],
    }),
    3000,
  );
  assert.equal(r.slotOps()?.[5], 200);
  assert.equal(r.slotOps()?.[6], 0);
  assert.equal(r.samplesAfter(0).at(-1)?.ops, 7);
});

test("p99 comes from the difference of the proxies' latency histograms", () => {
  const text = (n1: number, n2: number) =>
    [
      `shardis_proxy_command_duration_seconds_bucket{cmd="get",le="0.0001"} ${n1}`,
      `shardis_proxy_command_duration_seconds_bucket{cmd="get",le="0.001"} ${n1 + n2}`,
      `shardis_proxy_command_duration_seconds_bucket{cmd="get",le="+Inf"} ${n1 + n2}`,
    ].join('\n');
  const h0 = parseLatencyHistogram(text(0, 0))!;
  assert.deepEqual(h0.boundsUs, [100, 1000]);
  const r = new ConsoleRecorder();
  r.observeLatency(new Map([['p', h0.counts]]), h0.boundsUs);
  const h1 = parseLatencyHistogram(text(1000, 50))!;
  r.observeLatency(new Map([['p', h1.counts]]), h1.boundsUs);
  r.observe(stats({ groups: [] }), 1);
  assert.equal(r.samplesAfter(0).at(-1)?.p99_us, 1000);
  assert.equal(parseLatencyHistogram('nothing'), null);
});
