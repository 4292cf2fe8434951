// Slot layouts: the even initial distribution of 1024 slots over groups (contiguous ranges, as Codis).
import type { Slot } from './slot.js';
import { MAX_SLOT_NUM } from '../slots/hash.js';
import { at } from '../util/at.js';

/** Spreads the slots over the groups in contiguous, near-equal ranges, in the order given. */
export function evenSlots(groups: Array<{ id: number; addr: string }>): Slot[] {
  if (groups.length === 0) throw new Error('need at least one group');
  const out: Slot[] = [];
  for (let i = 0; i < MAX_SLOT_NUM; i++) {
    const g = at(groups, Math.floor((i * groups.length) / MAX_SLOT_NUM), 'group');
    out.push({ id: i, backend_addr: g.addr, backend_addr_group_id: g.id });
  }
  return out;
}
