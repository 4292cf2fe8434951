// The proxy's slot table: which backend serves each of the 1024 slots, replaced atomically from a
// --fillslots file, the admin API or the dashboard.
import { MAX_SLOT_NUM } from '../slots/hash.js';
import type { Slot } from '../models/slot.js';

export class Router {
  /** backend address per slot ('' = no backend). */
  private readonly backend: string[] = new Array<string>(MAX_SLOT_NUM).fill('');
  private readonly entries: Slot[] = Array.from({ length: MAX_SLOT_NUM }, (_, id) => ({ id }));
  /** Bumped on every change, so callers can cache derived views. */
  version = 0;

  backendOf(slot: number): string { return this.backend[slot]!; }

  /** Applies slot entries (only the ids given change). */
  fill(slots: Slot[]): void {
    for (const s of slots) {
      this.entries[s.id] = { ...s };
      this.backend[s.id] = s.backend_addr ?? '';
    }
    this.version++;
  }

  slots(): Slot[] { return this.entries.map((s) => ({ ...s })); }
  slot(id: number): Slot { return { ...this.entries[id]! }; }

  /** Distinct backend addresses in the table (the group masters), in first-slot order. */
  masters(): string[] {
    const seen = new Set<string>();
    for (const a of this.backend) if (a) seen.add(a);
    return [...seen];
  }

  servedSlots(): number { return this.backend.filter(Boolean).length; }
}
