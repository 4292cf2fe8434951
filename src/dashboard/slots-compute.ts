// Pure slot computations: the []Slot a proxy routes by, derived from the stored SlotMappings and
// groups exactly as Codis's `context.toSlot` does (backend = the group's servers[0], migration
// states, promotion locks; replica groups are left empty for now), the even initial layout, and
// comparisons of a proxy's reported table with the expected one.
import { ActionState, offlineSlot, type SlotMapping } from '../models/slot-mapping.js';
import { groupMaster, type Group } from '../models/group.js';
import type { Slot } from '../models/slot.js';
import { MAX_SLOT_NUM } from '../slots/hash.js';
import { at } from '../util/at.js';

export type GroupIndex = ReadonlyMap<number, Group>;

function isGroupLocked(groups: GroupIndex, gid: number): boolean {
  return groups.get(gid)?.promoting.state === ActionState.Prepared;
}

function isSlotLocked(m: SlotMapping, groups: GroupIndex): boolean {
  const target = m.action.target_id ?? 0;
  switch (m.action.state ?? '') {
    case ActionState.Prepared:
      return true;
    case ActionState.Migrating:
      return isGroupLocked(groups, m.group_id) || isGroupLocked(groups, target);
    case ActionState.Finished:
      return isGroupLocked(groups, target);
    default:
      return isGroupLocked(groups, m.group_id);
  }
}

/** Codis `toSlot`: the entry one proxy gets for one mapping. */
export function toSlot(m: SlotMapping, groups: GroupIndex, forwardMethod?: number): Slot {
  const slot: Slot = { id: m.id, locked: isSlotLocked(m, groups) };
  const target = m.action.target_id ?? 0;
  const addr = (gid: number): string => groupMaster(groups.get(gid));
  const set = (gid: number): void => {
    const a = addr(gid);
    if (a) {
      slot.backend_addr = a;
      slot.backend_addr_group_id = gid;
    }
  };
  const from = (gid: number): void => {
    const a = addr(gid);
    if (a) {
      slot.migrate_from = a;
      slot.migrate_from_group_id = gid;
    }
  };
  switch (m.action.state ?? '') {
    case ActionState.Prepared:
    case ActionState.Migrating:
      set(target);
      from(m.group_id);
      break;
    case ActionState.Finished:
      set(target);
      break;
    default: // '', pending, preparing
      set(m.group_id);
  }
  if (forwardMethod !== undefined) slot.forward_method = forwardMethod;
  slot.replica_groups = [];
  return slot;
}

/** The full 1024-entry table for a proxy. */
export function computeSlots(slots: readonly SlotMapping[], groups: GroupIndex, forwardMethod?: number): Slot[] {
  const out: Slot[] = [];
  for (let i = 0; i < MAX_SLOT_NUM; i++) out.push(toSlot(slots[i] ?? offlineSlot(i), groups, forwardMethod));
  return out;
}

/** Contiguous near-equal ranges of all 1024 slots over `groupIds` (ascending). */
export function evenMappings(groupIds: readonly number[]): SlotMapping[] {
  if (groupIds.length === 0) throw new Error('no group has a server');
  const ids = [...groupIds].sort((a, b) => a - b);
  return Array.from({ length: MAX_SLOT_NUM }, (_, i) => ({
    id: i,
    group_id: at(ids, Math.floor((i * ids.length) / MAX_SLOT_NUM), 'group id'),
    action: {},
  }));
}

/** Ids of the slots where `actual` routes differently from `expected` (missing entries count). */
export function slotDifferences(expected: readonly Slot[], actual: readonly Slot[]): number[] {
  const byId = new Map<number, Slot>();
  for (const s of actual) if (s && typeof s.id === 'number') byId.set(s.id, s);
  const diff: number[] = [];
  for (const e of expected) {
    const a = byId.get(e.id);
    if (
      !a ||
      (a.backend_addr ?? '') !== (e.backend_addr ?? '') ||
      (a.backend_addr ? (a.backend_addr_group_id ?? 0) : 0) !== (e.backend_addr ? (e.backend_addr_group_id ?? 0) : 0) ||
      (a.migrate_from ?? '') !== (e.migrate_from ?? '') ||
      (a.locked ?? false) !== (e.locked ?? false)
    )
      diff.push(e.id);
  }
  return diff;
}

/**
 * True when a proxy's slot differs from the expected one only in which server of the same group it
 * uses (as backend or migration source): what a proxy's table looks like after it followed a sentinel
 * failover on its own (it switches only to a server the sentinels' majority and ROLE confirm).
 */
export function differsOnlyInMaster(e: Slot, a: Slot | undefined, members: (gid: number) => readonly string[]): boolean {
  if (!a || (a.locked ?? false) !== (e.locked ?? false)) return false;
  if (
    (a.backend_addr_group_id ?? 0) !== (e.backend_addr_group_id ?? 0) ||
    (a.migrate_from_group_id ?? 0) !== (e.migrate_from_group_id ?? 0)
  )
    return false;
  const sameGroup = (want: string | undefined, got: string | undefined, gid: number | undefined): boolean =>
    (want ?? '') === (got ?? '') || (!!want && !!got && members(gid ?? 0).includes(got));
  return (
    sameGroup(e.backend_addr, a.backend_addr, e.backend_addr_group_id) && sameGroup(e.migrate_from, a.migrate_from, e.migrate_from_group_id)
  );
}

/** Slots per group id (0 = offline). */
export function slotCounts(slots: readonly SlotMapping[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of slots) out[m.group_id] = (out[m.group_id] ?? 0) + 1;
  return out;
}

/** "0-9,12,15-20" for a sorted list of ids. */
export function formatRanges(ids: readonly number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < ids.length; i++) {
    let j = i;
    while (j + 1 < ids.length && ids[j + 1] === at(ids, j, 'slot id') + 1) j++;
    parts.push(i === j ? `${ids[i]}` : `${ids[i]}-${ids[j]}`);
    i = j;
  }
  return parts.join(',');
}
