// The proxy's side of HA: follows sentinel failovers without a restart. The dashboard pushes the
// sentinel list (PUT /api/proxy/sentinels); the proxy subscribes to +switch-master on each, resolves
// the product's masters by majority (highest config-epoch) and checks ROLE on the new master, then
// rewrites every slot entry of the group to the new address (backend_addr and migrate_from) through
// the normal fillSlots path: requests in flight on the old master fail with an error, new ones go to
// the new master. It re-resolves at once after a -READONLY reply or a lost backend connection, after
// every table push, and every few seconds as a fallback for lost messages.
import { MasterWatcher, type MasterChange, type WatcherStatus } from '../ha/master-watcher.js';
import type { Slot } from '../models/slot.js';
import type { Router } from './router.js';

export interface ProxySentinelOptions {
  product: string;
  auth: string;
  router: Router;
  fill(slots: Slot[]): void;
  pollMs?: number;
  timeoutMs?: number;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
}

/** The group masters the table routes to now (group id → address). */
export function mastersOfTable(slots: readonly Slot[]): Map<number, string> {
  const m = new Map<number, string>();
  for (const s of slots) {
    if (s.backend_addr && s.backend_addr_group_id) m.set(s.backend_addr_group_id, s.backend_addr);
    if (s.migrate_from && s.migrate_from_group_id && !m.has(s.migrate_from_group_id)) m.set(s.migrate_from_group_id, s.migrate_from);
  }
  return m;
}

/** The entries of `slots` that change when group masters move, rewritten. */
export function rewriteMasters(slots: readonly Slot[], changes: readonly MasterChange[]): Slot[] {
  const to = new Map(changes.map((c) => [c.gid, c.to]));
  const out: Slot[] = [];
  for (const s of slots) {
    const b = s.backend_addr_group_id !== undefined ? to.get(s.backend_addr_group_id) : undefined;
    const f = s.migrate_from_group_id !== undefined ? to.get(s.migrate_from_group_id) : undefined;
    if ((b === undefined || !s.backend_addr) && (f === undefined || !s.migrate_from)) continue;
    const n: Slot = { ...s };
    if (b !== undefined && s.backend_addr) n.backend_addr = b;
    if (f !== undefined && s.migrate_from) n.migrate_from = f;
    // Replica reads of a group whose master moved are stale until the dashboard recomputes them.
    if (n.replica_groups && n.replica_groups.length) n.replica_groups = n.replica_groups.map((g) => g.filter((a) => a !== b));
    out.push(n);
  }
  return out;
}

export class ProxySentinels {
  readonly watcher: MasterWatcher;
  private applying = false;
  switchedGroups = new Set<number>();

  constructor(private readonly o: ProxySentinelOptions) {
    this.watcher = new MasterWatcher({
      product: o.product,
      auth: o.auth,
      timeoutMs: o.timeoutMs ?? 1000,
      pollMs: o.pollMs ?? 3000,
      current: () => mastersOfTable(o.router.slots()),
      apply: (changes) => {
        const rewritten = rewriteMasters(this.o.router.slots(), changes);
        this.applying = true;
        try {
          this.o.fill(rewritten);
        } finally {
          this.applying = false;
        }
        for (const c of changes) this.switchedGroups.add(c.gid);
      },
      log: o.log,
    });
  }

  setServers(servers: readonly string[]): void {
    this.watcher.setServers(servers);
  }

  /** After a table push from the dashboard: check it against the sentinels (unless we pushed it). */
  afterFill(): void {
    if (this.applying || !this.watcher.enabled) return;
    this.switchedGroups.clear();
    void this.watcher.kick('slot table replaced');
  }

  /** A backend answered -READONLY or its connection was lost: maybe a failover. */
  backendTrouble(addr: string, why: string): void {
    if (!this.watcher.enabled) return;
    void this.watcher.kick(`backend ${addr}: ${why}`);
  }

  status(): WatcherStatus & { switched_groups: number[] } {
    return { ...this.watcher.status, switched_groups: [...this.switchedGroups] };
  }

  close(): void {
    this.watcher.close();
  }
}
