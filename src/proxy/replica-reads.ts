// Replica reads in the proxy (Codis forward2 + replica groups), enabled with backend_primary_only=false.
// The dashboard computes each slot's replica groups for this proxy (same host, same datacenter, any);
// a read-only command on a settled slot goes to the first group that has a server whose connections
// are not down, round-robin inside the group, else to the master.
//
// Session rule (read-your-writes, DESIGN.md §2.5): a session reads from replicas only until it sends
// its first command that is not read-only; from then on every command of that session goes to the
// master. Multi-key split reads (MGET across groups) always go to the masters.
import type { Slot } from '../models/slot.js';
import { MAX_SLOT_NUM } from '../slots/hash.js';
import type { BackendPool } from './backend-pool.js';

export class ReplicaReads {
  private readonly groups = new Array<string[][] | undefined>(MAX_SLOT_NUM);
  private rr = 0;
  /** Slots that have replica groups (0 keeps the hot path to one comparison). */
  count = 0;

  constructor(readonly enabled: boolean) {}

  update(slots: readonly Slot[]): void {
    for (const s of slots) {
      const rg = s.replica_groups && s.replica_groups.length > 0 && !s.locked && !s.migrate_from ? s.replica_groups : undefined;
      this.groups[s.id] = rg;
    }
    let n = 0;
    for (const g of this.groups) if (g) n++;
    this.count = n;
  }

  /** The server to read `slot` from: a healthy replica-group member, or `master`. */
  pick(slot: number, master: string, pool: BackendPool): string {
    const gs = this.groups[slot];
    if (!gs) return master;
    const start = this.rr++;
    for (const g of gs) {
      for (let i = 0; i < g.length; i++) {
        const a = g[(start + i) % g.length];
        if (a === undefined) continue; // i < g.length: never
        if (a !== master && pool.connsTo(a).some((c) => c.state === 'down')) continue;
        return a;
      }
    }
    return master;
  }
}
