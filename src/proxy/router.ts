// The proxy's slot table: which backend serves each of the 1024 slots, replaced atomically from a
// --fillslots file, the admin API or the dashboard.
import { MAX_SLOT_NUM, slotOfRange } from '../slots/hash.js';
import type { Slot } from '../models/slot.js';
import type { Placement } from './placement.js';
import { at } from '../util/at.js';

/** Codis placement: a key's unit is its slot, crc32(hashtag) % 1024; a slot's backend is its group master. */
export class Router implements Placement {
  /** backend address per slot ('' = no backend). */
  private readonly backend: string[] = new Array<string>(MAX_SLOT_NUM).fill('');
  private readonly entries: Slot[] = Array.from({ length: MAX_SLOT_NUM }, (_, id) => ({ id }));
  /** migrate_from per slot ('' = not migrating) and the locked flag (see migrate-on-access.ts). */
  private readonly from: string[] = new Array<string>(MAX_SLOT_NUM).fill('');
  private readonly lockedFlag = new Uint8Array(MAX_SLOT_NUM);
  /** Per slot: bumped whenever its backend, migration source or lock changes (migration caches key on it). */
  private readonly gen = new Uint32Array(MAX_SLOT_NUM);
  /** Per slot: the `version` at which its backend, migration source or lock last changed (SCAN's re-walks). */
  private readonly changedAt = new Uint32Array(MAX_SLOT_NUM);
  /** Slots that are migrating or locked; 0 keeps the hot path free of migration checks. */
  unsettled = 0;
  /** Bumped on every change, so callers can cache derived views. */
  version = 0;
  private readonly changeWaiters = new Set<() => void>();

  /** Resolves at the next table change, or after `ms` (requests waiting for a locked slot). */
  nextChange(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(t);
        this.changeWaiters.delete(done);
        resolve();
      };
      const t = setTimeout(done, ms);
      this.changeWaiters.add(done);
    });
  }

  unitOf(buf: Uint8Array, start: number, end: number): number {
    return slotOfRange(buf, start, end);
  }
  noBackendError(slot: number): string {
    return `ERR slot ${slot} is not served by any group (no backend in the slot table)`;
  }
  crossError(command: string): string {
    return `CROSSSLOT Keys in request don't hash to the same slot (command '${command}'); use a {hash tag} to keep them together`;
  }
  backendOf(slot: number): string {
    return this.backend[slot] ?? '';
  }
  /** The source of a slot under migration ('' if it is not migrating). */
  migrateFromOf(slot: number): string {
    return this.from[slot] ?? '';
  }
  isLocked(slot: number): boolean {
    return this.lockedFlag[slot] === 1;
  }
  isUnsettled(slot: number): boolean {
    return this.lockedFlag[slot] === 1 || this.from[slot] !== '';
  }
  generation(slot: number): number {
    return this.gen[slot] ?? 0;
  }

  /** Applies slot entries (only the ids given change). */
  fill(slots: Slot[]): void {
    // One string object per address: sessions look their backend connection up by address in a Map,
    // and equal strings that are distinct objects (one per slot from JSON) are compared by content.
    const same = new Map<string, string>();
    for (const a of this.backend) same.set(a, a);
    const intern = (a: string): string => {
      const known = same.get(a);
      if (known !== undefined) return known;
      same.set(a, a);
      return a;
    };
    for (const s of slots) {
      this.entries[s.id] = { ...s };
      const backend = intern(s.backend_addr ?? ''),
        from = s.backend_addr ? (s.migrate_from ?? '') : '',
        locked = s.locked ? 1 : 0;
      if (backend !== this.backend[s.id] || from !== this.from[s.id] || locked !== this.lockedFlag[s.id]) {
        this.gen[s.id] = (this.gen[s.id] ?? 0) + 1;
        this.changedAt[s.id] = this.version + 1;
      }
      this.backend[s.id] = backend;
      this.from[s.id] = from;
      this.lockedFlag[s.id] = locked;
    }
    let n = 0;
    for (let i = 0; i < MAX_SLOT_NUM; i++) if (this.lockedFlag[i] === 1 || this.from[i] !== '') n++;
    this.unsettled = n;
    this.version++;
    for (const w of [...this.changeWaiters]) w();
  }

  slots(): Slot[] {
    return this.entries.map((s) => ({ ...s }));
  }
  slot(id: number): Slot {
    return { ...at(this.entries, id, 'slot') };
  }

  /** Distinct backend addresses in the table (the group masters), in first-slot order. */
  masters(): string[] {
    const seen = new Set<string>();
    for (const a of this.backend) if (a) seen.add(a);
    for (const a of this.from) if (a) seen.add(a); // sources of migrations are still in use
    return [...seen];
  }

  /** Slots whose backend, migration source or lock changed after table version `v`. */
  changedSince(v: number): Set<number> {
    const out = new Set<number>();
    for (let i = 0; i < MAX_SLOT_NUM; i++) if ((this.changedAt[i] ?? 0) > v) out.add(i);
    return out;
  }

  /**
   * The groups that hold keys of `slots` (all slots when null): group id → master address, for the
   * slot's group and, while it migrates, its source group. An address that no slot entry names with a
   * group id (a --fillslots file without ids) is keyed by 100000 + its rank among such addresses.
   */
  groupsOf(slots: ReadonlySet<number> | null): Map<number, string> {
    const gidOf = new Map<string, number>();
    for (const e of this.entries) {
      if (e.backend_addr && e.backend_addr_group_id !== undefined) gidOf.set(e.backend_addr, e.backend_addr_group_id);
      if (e.migrate_from && e.migrate_from_group_id !== undefined) gidOf.set(e.migrate_from, e.migrate_from_group_id);
    }
    const anon = [...new Set([...this.backend, ...this.from].filter((a) => a !== '' && !gidOf.has(a)))].sort();
    const out = new Map<number, string>();
    const add = (addr: string): void => {
      if (addr) out.set(gidOf.get(addr) ?? 100000 + anon.indexOf(addr), addr);
    };
    for (let i = 0; i < MAX_SLOT_NUM; i++) {
      if (slots !== null && !slots.has(i)) continue;
      add(this.backend[i] ?? '');
      add(this.from[i] ?? '');
    }
    return out;
  }

  servedSlots(): number {
    return this.backend.filter(Boolean).length;
  }
}
