// Bounds the writes a cut-off master can acknowledge. Redis replication is asynchronous: a master
// isolated from its replicas (and from the sentinels that then promote one of them) keeps accepting
// writes, and every one of them is thrown away when it rejoins as a replica. With
// `min-replicas-to-write N` / `min-replicas-max-lag S` a master refuses writes (NOREPLICAS) once fewer
// than N replicas acknowledged within S seconds, so an isolated master stops acknowledging about S
// (+1, Redis's ack period) seconds after the cut. The dashboard keeps both settings on every server of
// every group that has replicas (replicas too, so a promoted one has them already), re-applied after a
// server restarts (new run_id) or the group or the settings change. N is capped at the group's
// replica count, and 0 disables it. On a master N is also capped at the replicas it has connected:
// a replica whose process died (its connection closed) or a failover that left the new master alone
// does not make the group refuse writes until the replica is back. A replica behind a partition stays
// connected in the master's view until repl-timeout (60 s by default) — far longer than a dashboard on
// the master's side keeps its lease (lock_ttl), after which it is fenced and changes nothing — so a
// cut-off master is never relaxed: it stops acknowledging after max-lag + 1 s.
import type { Group } from '../models/group.js';

export interface WriteSafetyConfig {
  /** group_min_replicas_to_write (0 = off). */
  minReplicasToWrite: number;
  /** group_min_replicas_max_lag, in ms (Redis takes whole seconds, at least 1). */
  minReplicasMaxLagMs: number;
}

/**
 * The two Redis settings a server of `group` should have; `connectedReplicas`: how many replicas the
 * server (a master) has connected now (INFO connected_slaves), null for a replica.
 */
export function wantedSettings(
  c: WriteSafetyConfig,
  group: Group,
  connectedReplicas: number | null = null,
): { toWrite: number; maxLagSec: number } {
  const replicas = Math.max(0, group.servers.length - 1);
  const cap = connectedReplicas === null ? replicas : Math.min(replicas, Math.max(0, connectedReplicas));
  return { toWrite: Math.min(Math.max(0, c.minReplicasToWrite), cap), maxLagSec: Math.max(1, Math.round(c.minReplicasMaxLagMs / 1000)) };
}

export class WriteSafety {
  /** addr -> "<run_id>/<toWrite>/<lag>" last applied there. */
  private readonly applied = new Map<string, string>();

  constructor(private readonly c: WriteSafetyConfig) {}

  /**
   * Applies the settings to `addr` (a server of `group`) unless they were already applied to this
   * run of it. `command` runs one Redis command on the server. Returns true if it set them now.
   */
  async ensure(
    addr: string,
    runId: string | undefined,
    group: Group,
    command: (...args: string[]) => Promise<unknown>,
    connectedReplicas: number | null = null,
  ): Promise<boolean> {
    if (!runId) return false;
    const w = wantedSettings(this.c, group, connectedReplicas);
    const stamp = `${runId}/${w.toWrite}/${w.maxLagSec}`;
    if (this.applied.get(addr) === stamp) return false;
    await command('CONFIG', 'SET', 'min-replicas-max-lag', String(w.maxLagSec), 'min-replicas-to-write', String(w.toWrite));
    this.applied.set(addr, stamp);
    return true;
  }

  /** Forgets servers no longer in any group. */
  retain(keep: Set<string>): void {
    for (const a of [...this.applied.keys()]) if (!keep.has(a)) this.applied.delete(a);
  }
}
