// The rebalance planner (pure): which slots to move where so that every eligible group ends with
// ⌊1024/n⌋ or ⌈1024/n⌉ slots, moving as few slots as possible.
//
// - A slot with a migration action counts for its target and is never moved again.
// - Slots of groups that are not eligible (offline = group 0, or a group being emptied) must move.
// - The 1024 mod n "upper" quotas go to the groups that already have the most slots (ties: lower gid),
//   so no group gives up a slot it could keep: the number of moves is the sum of the surpluses plus the
//   slots of non-eligible groups, which is the minimum for an even layout.
// - A group gives up its highest slot ids (as Codis); the slots to hand out are sorted ascending and
//   given to the groups below quota in ascending gid order, so ranges stay mostly contiguous.
import type { SlotMapping } from '../models/slot-mapping.js';
import { MAX_SLOT_NUM } from '../slots/hash.js';
import { at } from '../util/at.js';

/** Returns slot id → target group id for the slots to migrate (ascending slot ids). */
export function planRebalance(slots: readonly SlotMapping[], eligible: readonly number[]): Map<number, number> {
  const gids = [...new Set(eligible)].sort((a, b) => a - b);
  if (gids.length === 0) throw new Error('no group to balance onto: every group is empty or excluded');
  const isEligible = new Set(gids);
  const owner = (m: SlotMapping): number => ((m.action.state ?? '') !== '' ? (m.action.target_id ?? 0) : m.group_id);
  // count, idle and quota hold every eligible gid (set here and below), so the `??` defaults are never taken.
  const count = new Map<number, number>(gids.map((g) => [g, 0]));
  const idle = new Map<number, number[]>(gids.map((g) => [g, []]));
  const pool: number[] = [];
  for (let id = 0; id < MAX_SLOT_NUM; id++) {
    const m = slots[id] ?? { id, group_id: 0, action: {} };
    const g = owner(m);
    const busy = (m.action.state ?? '') !== '';
    if (isEligible.has(g)) {
      count.set(g, (count.get(g) ?? 0) + 1);
      if (!busy) idle.get(g)?.push(id);
    } else if (!busy) {
      pool.push(id);
    }
  }
  const n = gids.length;
  const base = Math.floor(MAX_SLOT_NUM / n);
  let extra = MAX_SLOT_NUM % n;
  const quota = new Map<number, number>();
  for (const g of [...gids].sort((a, b) => (count.get(b) ?? 0) - (count.get(a) ?? 0) || a - b)) {
    quota.set(g, base + (extra > 0 ? 1 : 0));
    if (extra > 0) extra--;
  }
  for (const g of gids) {
    const surplus = (count.get(g) ?? 0) - (quota.get(g) ?? 0);
    if (surplus <= 0) continue;
    const own = idle.get(g) ?? [];
    pool.push(...own.slice(Math.max(0, own.length - surplus)));
  }
  pool.sort((a, b) => a - b);
  const plan = new Map<number, number>();
  let next = 0;
  for (const g of gids) {
    let need = (quota.get(g) ?? 0) - (count.get(g) ?? 0);
    while (need-- > 0 && next < pool.length) plan.set(at(pool, next++, 'free slot'), g);
  }
  return new Map([...plan.entries()].sort((a, b) => a[0] - b[0]));
}
