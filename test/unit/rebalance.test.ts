// The rebalance planner: even slot counts (⌊1024/n⌋ or ⌈1024/n⌉ per group), fewest moves, slots with
// an action count for their target and never move, offline/excluded groups' slots all move.
// Expected duration: under 1 s on a quiet 2-core machine.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { planRebalance } from '../../src/dashboard/rebalance.js';
import type { SlotMapping } from '../../src/models/slot-mapping.js';

const layout = (owner: (id: number) => number): SlotMapping[] =>
  Array.from({ length: 1024 }, (_, id) => ({ id, group_id: owner(id), action: {} }));

function countsAfter(slots: SlotMapping[], plan: Map<number, number>): Record<number, number> {
  const out: Record<number, number> = {};
  for (const m of slots) {
    const g = plan.get(m.id) ?? ((m.action.state ?? '') ? m.action.target_id! : m.group_id);
    out[g] = (out[g] ?? 0) + 1;
  }
  return out;
}

test('balanced layout: nothing moves', () => {
  assert.equal(
    planRebalance(
      layout((i) => (i < 512 ? 1 : 2)),
      [1, 2],
    ).size,
    0,
  );
  assert.equal(
    planRebalance(
      layout((i) => (i < 342 ? 1 : i < 683 ? 2 : 3)),
      [1, 2, 3],
    ).size,
    0,
  );
});

test('a new empty group: the fewest moves, even counts', () => {
  const s = layout((i) => (i < 512 ? 1 : 2));
  const plan = planRebalance(s, [1, 2, 3]);
  assert.equal(plan.size, 341, "only the new group's quota moves");
  const c = countsAfter(s, plan);
  assert.deepEqual(Object.values(c).sort(), [341, 341, 342]);
  for (const g of plan.values()) assert.equal(g, 3);
  // Sources give up their highest slots.
  assert.ok(plan.has(511) && plan.has(1023) && !plan.has(0));
});

test('one group holds everything; offline slots; excluded group is emptied', () => {
  const all = layout(() => 2);
  const p1 = planRebalance(all, [1, 2, 3]);
  assert.equal(p1.size, 682);
  assert.deepEqual(Object.values(countsAfter(all, p1)).sort(), [341, 341, 342]);

  const half = layout((i) => (i < 512 ? 0 : 1));
  const p2 = planRebalance(half, [1, 2]);
  assert.equal(p2.size, 512, 'offline slots all move, nothing else');
  assert.deepEqual(countsAfter(half, p2), { 1: 512, 2: 512 });

  const three = layout((i) => (i < 342 ? 1 : i < 683 ? 2 : 3));
  const p3 = planRebalance(three, [2, 3]);
  assert.equal(p3.size, 342, 'draining group 1 moves exactly its slots');
  for (const sid of p3.keys()) assert.ok(sid < 342);
  assert.deepEqual(countsAfter(three, p3), { 2: 512, 3: 512 });
});

test('slots with an action count for their target and are not moved again', () => {
  const s = layout((i) => (i < 512 ? 1 : 2));
  for (let i = 0; i < 100; i++) s[i] = { id: i, group_id: 1, action: { state: 'pending', target_id: 3, index: i + 1 } };
  const plan = planRebalance(s, [1, 2, 3]);
  for (let i = 0; i < 100; i++) assert.ok(!plan.has(i));
  assert.equal(plan.size, 241);
  assert.deepEqual(Object.values(countsAfter(s, plan)).sort(), [341, 341, 342]);
});

test('uneven start with several groups: moves = sum of surpluses', () => {
  const s = layout((i) => (i < 700 ? 1 : i < 900 ? 2 : i < 1000 ? 3 : 4));
  const plan = planRebalance(s, [1, 2, 3, 4]);
  assert.equal(plan.size, 700 - 256);
  assert.deepEqual(countsAfter(s, plan), { 1: 256, 2: 256, 3: 256, 4: 256 });
  assert.throws(() => planRebalance(s, []), /no group/);
});
