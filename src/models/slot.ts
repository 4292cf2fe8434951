// The slot entry a proxy routes by, in Codis 3.2's JSON shape (models.Slot): pushed by the dashboard
// or read from a --fillslots file.
import { isValidAddr } from '../util/address.js';

export interface Slot {
  id: number;
  locked?: boolean;
  backend_addr?: string;
  backend_addr_group_id?: number;
  migrate_from?: string;
  migrate_from_group_id?: number;
  forward_method?: number;
  replica_groups?: string[][];
}

/** Checks and normalises untrusted slot JSON; throws an Error naming the problem. */
export function parseSlots(input: unknown): Slot[] {
  if (!Array.isArray(input)) throw new Error('slot table must be a JSON array of slots');
  return input.map((raw, i) => {
    if (typeof raw !== 'object' || raw === null) throw new Error(`slot entry ${i} is not an object`);
    const s = raw as Record<string, unknown>;
    const id = s.id;
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id >= 1024)
      throw new Error(`slot entry ${i}: id must be an integer in [0,1024)`);
    const str = (k: string): string | undefined => {
      const v = s[k];
      if (v === undefined || v === null || v === '') return undefined;
      if (typeof v !== 'string') throw new Error(`slot ${id}: ${k} must be a string`);
      if (!isValidAddr(v)) throw new Error(`slot ${id}: ${k} "${v}" is not host:port`);
      return v;
    };
    const num = (k: string): number | undefined => (typeof s[k] === 'number' ? (s[k] as number) : undefined);
    const rg = s.replica_groups;
    return {
      id,
      locked: s.locked === true,
      backend_addr: str('backend_addr'),
      backend_addr_group_id: num('backend_addr_group_id'),
      migrate_from: str('migrate_from'),
      migrate_from_group_id: num('migrate_from_group_id'),
      forward_method: num('forward_method'),
      replica_groups: Array.isArray(rg)
        ? rg.map((g) => (Array.isArray(g) ? g.filter((a): a is string => typeof a === 'string') : []))
        : undefined,
    };
  });
}
