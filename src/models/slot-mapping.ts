// The stored slot → group mapping (Codis 3.2 models.SlotMapping) at /codis3/<product>/slots/slot-NNNN,
// with its migration action, and the action states Codis uses (models/action.go). A missing node
// means the slot is offline (group 0, no action).
import { MAX_SLOT_NUM } from '../slots/hash.js';

export const ActionState = {
  Nothing: '',
  Pending: 'pending',
  Preparing: 'preparing',
  Prepared: 'prepared',
  Migrating: 'migrating',
  Finished: 'finished',
  Syncing: 'syncing',
} as const;

export interface SlotAction {
  index?: number;
  state?: string;
  target_id?: number;
}

export interface SlotMapping {
  id: number;
  /** 0 = offline. */
  group_id: number;
  action: SlotAction;
}

export const offlineSlot = (id: number): SlotMapping => ({ id, group_id: 0, action: {} });

export function isValidSlotId(id: unknown): id is number {
  return typeof id === 'number' && Number.isInteger(id) && id >= 0 && id < MAX_SLOT_NUM;
}

/** True if the mapping carries a migration action (anything but the empty state). */
export const hasAction = (m: SlotMapping): boolean => (m.action.state ?? '') !== '';

function intField(o: Record<string, unknown>, k: string, where: string): number | undefined {
  const v = o[k];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 0) throw new Error(`${where}: ${k} must be a non-negative integer`);
  return v;
}

/** Parses one SlotMapping (a stored Codis node or an API request entry); throws naming the problem. */
export function parseSlotMapping(input: unknown, where = 'slot mapping'): SlotMapping {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new Error(`${where}: expected an object`);
  const o = input as Record<string, unknown>;
  if (!isValidSlotId(o.id)) throw new Error(`${where}: id must be an integer in [0, ${MAX_SLOT_NUM})`);
  const gid = intField(o, 'group_id', `${where} (slot ${o.id})`) ?? 0;
  const a = (typeof o.action === 'object' && o.action !== null ? o.action : {}) as Record<string, unknown>;
  const action: SlotAction = {};
  const index = intField(a, 'index', `${where} (slot ${o.id}) action`);
  const target = intField(a, 'target_id', `${where} (slot ${o.id}) action`);
  if (index) action.index = index;
  if (typeof a.state === 'string' && a.state !== '') action.state = a.state;
  if (target) action.target_id = target;
  return { id: o.id, group_id: gid, action };
}

/** The JSON Codis writes (action fields omitted when empty). */
export function encodeSlotMapping(m: SlotMapping): Record<string, unknown> {
  const action: Record<string, unknown> = {};
  if (m.action.index) action.index = m.action.index;
  if (m.action.state) action.state = m.action.state;
  if (m.action.target_id) action.target_id = m.action.target_id;
  return { id: m.id, group_id: m.group_id, action };
}
