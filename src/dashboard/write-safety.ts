// Bounds the writes a cut-off master can acknowledge, without making a lone master refuse writes.
// Redis replication is asynchronous: a master isolated from its replicas (and from the sentinels that
// then promote one of them) keeps accepting writes, and every one of them is thrown away when it
// rejoins as a replica. With `min-replicas-to-write N` / `min-replicas-max-lag S` a master refuses
// writes (NOREPLICAS) once fewer than N replicas acknowledged within S seconds, so an isolated master
// stops acknowledging about S (+1, Redis's ack period) seconds after the cut.
//
// The rule (group_min_replicas_to_write, 1 by default):
// - a group without replicas: 0 on its server;
// - a replica: 0. Redis keeps the setting in each server, so a replica that Sentinel promotes while no
//   dashboard runs starts with 0 and takes writes even when no replica follows it yet (a group of one
//   master and one replica has none until the old master returns);
// - the master the dashboard recognises (servers[0], reporting role:master): N capped at the group's
//   replica count and at the replicas *online* in its INFO replication (synced, streaming). With none
//   online the master is alone: it gets 0 and the group is "degraded" (a loud warning, a stats field,
//   a gauge) until a replica is online again, when N is set back. Online replicas that stopped
//   acknowledging (lag >= max(3, max-lag) s: a replica host cut off, a frozen replica) are not counted
//   only when a majority of the sentinels reach the master now (sentinel-reach.ts): then no promotion
//   can happen and relaxing costs no acknowledged write; a master cut off with its dashboard does not
//   get that answer and keeps refusing;
// - a server reporting role:master that is not the recognised master (an old master back before
//   Sentinel demotes it, a promotion the dashboard has not followed yet) is left as it is.
// Why this still bounds the partition case: a replica behind a partition stays online in the master's
// view until repl-timeout (60 s by default), far longer than a dashboard on the master's side keeps its
// lease (lock_ttl) before it is fenced and changes nothing, and that dashboard cannot reach a sentinel
// majority either, so a cut-off master is not relaxed and stops acknowledging after max-lag + 1 s. What it costs: writes to a degraded master are not bounded (no
// replica to lose them to either, until one returns); a master whose only replica process dies refuses
// writes until the next stats round relaxes it (one stats_period); with no dashboard running a master
// that loses its last replica refuses writes until the replica or a dashboard is back.
import type { Group } from '../models/group.js';

export interface WriteSafetyConfig {
  /** group_min_replicas_to_write (0 = off). */
  minReplicasToWrite: number;
  /** group_min_replicas_max_lag, in ms (Redis takes whole seconds, at least 1). */
  minReplicasMaxLagMs: number;
}

/** What a server of a group looks like in its last INFO. */
export interface ServerView {
  /** INFO role: `master` or `slave`. */
  role: string;
  /** Replicas in state=online in its INFO replication (0 for a replica). */
  onlineReplicas: number;
  /** Seconds since each online replica's last acknowledgement (INFO `lag=`), when known. */
  replicaLags?: number[];
  /** Set when asked (needsSentinelCheck): a majority of the sentinels reach this master now. */
  majoritySeesMaster?: boolean;
}

export interface Wanted {
  toWrite: number;
  maxLagSec: number;
  /** Set on a recognised master: less than the group asks for, because too few replicas are online. */
  degraded: boolean;
  /** What the group asks for on its master (the option capped at its replica count). */
  groupWants: number;
  /** Why it is degraded. */
  reason?: string;
}

/**
 * A replica this many seconds behind in acknowledging counts as not following (Redis refuses at
 * lag > max-lag). At least 3: INFO's lag is in whole seconds, so lag >= 3 means the replica has been
 * silent for more than 2 s, longer than the ping age a sentinel must show to count (FRESH_PING_MS):
 * the sentinel majority then heard the master after the replica went silent — the replica was cut
 * off, not the master.
 */
const staleAfterSec = (maxLagSec: number): number => Math.max(3, maxLagSec);

const maxLagOf = (c: WriteSafetyConfig): number => Math.max(1, Math.round(c.minReplicasMaxLagMs / 1000));
const groupWantsOf = (c: WriteSafetyConfig, group: Group): number =>
  Math.min(Math.max(0, c.minReplicasToWrite), Math.max(0, group.servers.length - 1));

/**
 * True when the recognised master has replicas online but too few of them acknowledging: either they
 * are cut off from it (then relaxing is safe only if a sentinel majority reaches the master) or the
 * master is (then it must keep refusing). The caller asks the sentinels and sets majoritySeesMaster.
 */
export function needsSentinelCheck(c: WriteSafetyConfig, group: Group, addr: string, v: ServerView): boolean {
  const wants = groupWantsOf(c, group);
  if (v.role !== 'master' || group.servers[0]?.server !== addr || wants === 0 || !v.replicaLags) return false;
  const stale = v.replicaLags.filter((l) => l >= staleAfterSec(maxLagOf(c))).length;
  return stale > 0 && v.replicaLags.length - stale < wants;
}

/** The two Redis settings `addr` (a server of `group`) should have, or null to leave it alone. */
export function wantedSettings(c: WriteSafetyConfig, group: Group, addr: string, v: ServerView): Wanted | null {
  const maxLagSec = maxLagOf(c);
  const groupWants = groupWantsOf(c, group);
  if (v.role !== 'master') return { toWrite: 0, maxLagSec, degraded: false, groupWants };
  if (group.servers[0]?.server !== addr) return groupWants === 0 ? { toWrite: 0, maxLagSec, degraded: false, groupWants } : null;
  let following = Math.max(0, v.onlineReplicas);
  let why = following === 0 ? 'no replica online: the master is alone' : `only ${following} replica(s) online`;
  if (v.majoritySeesMaster === true && v.replicaLags) {
    following = v.replicaLags.filter((l) => l < staleAfterSec(maxLagSec)).length;
    why = `${v.replicaLags.length - following} replica(s) stopped acknowledging while a sentinel majority reaches the master`;
  }
  const toWrite = Math.min(groupWants, following);
  return { toWrite, maxLagSec, degraded: toWrite < groupWants, groupWants, ...(toWrite < groupWants ? { reason: why } : {}) };
}

/** A group's write safety as this dashboard last saw and set it (stats API, /metrics). */
export interface GroupWriteSafety {
  master: string;
  /** min-replicas-to-write the group asks for on its master (the option capped at its replicas). */
  wanted: number;
  /** What this dashboard last set on the master. */
  applied: number;
  max_lag_sec: number;
  online_replicas: number;
  /** The master runs with less than `wanted` because too few replicas are online. */
  degraded: boolean;
  /** Unix time (s) the group became degraded. */
  degraded_since?: number;
  reason?: string;
}

/** A change of a group's degraded state, for the caller to log and record. */
export type Transition = { gid: number; kind: 'degraded' | 'restored'; state: GroupWriteSafety } | null;

export class WriteSafety {
  /** addr -> "<run_id>/<toWrite>/<lag>" last applied there. */
  private readonly applied = new Map<string, string>();
  private readonly groups = new Map<number, GroupWriteSafety>();

  constructor(private readonly c: WriteSafetyConfig) {}

  /**
   * Applies the settings to `addr` (a server of `group`) unless they were already applied to this
   * run of it. `command` runs one Redis command on the server. Returns whether it set them now and,
   * for the recognised master, whether the group entered or left the degraded state.
   */
  async ensure(
    addr: string,
    runId: string | undefined,
    group: Group,
    view: ServerView,
    command: (...args: string[]) => Promise<unknown>,
  ): Promise<{ set: boolean; transition: Transition }> {
    const w = wantedSettings(this.c, group, addr, view);
    if (!runId || !w) return { set: false, transition: null };
    const stamp = `${runId}/${w.toWrite}/${w.maxLagSec}`;
    let set = false;
    if (this.applied.get(addr) !== stamp) {
      await command('CONFIG', 'SET', 'min-replicas-max-lag', String(w.maxLagSec), 'min-replicas-to-write', String(w.toWrite));
      this.applied.set(addr, stamp);
      set = true;
    }
    if (view.role !== 'master' || group.servers[0]?.server !== addr) return { set, transition: null };
    return { set, transition: this.note(group.id, addr, w, view.onlineReplicas) };
  }

  private note(gid: number, master: string, w: Wanted, online: number): Transition {
    const prev = this.groups.get(gid);
    const wasDegraded = prev?.degraded === true;
    const state: GroupWriteSafety = {
      master,
      wanted: w.groupWants,
      applied: w.toWrite,
      max_lag_sec: w.maxLagSec,
      online_replicas: online,
      degraded: w.degraded,
      ...(w.degraded
        ? {
            degraded_since: wasDegraded && prev.master === master ? prev.degraded_since : Math.floor(Date.now() / 1000),
            reason: w.reason,
          }
        : {}),
    };
    this.groups.set(gid, state);
    if (w.degraded && (!wasDegraded || prev.master !== master)) return { gid, kind: 'degraded', state };
    if (!w.degraded && wasDegraded) return { gid, kind: 'restored', state };
    return null;
  }

  /** Per group id, as last seen (groups whose master was not polled yet are absent). */
  groupStates(): Record<string, GroupWriteSafety> {
    const out: Record<string, GroupWriteSafety> = {};
    for (const [gid, s] of [...this.groups].sort((a, b) => a[0] - b[0])) out[String(gid)] = { ...s };
    return out;
  }

  /** Groups whose master runs degraded now. */
  degradedCount(): number {
    let n = 0;
    for (const s of this.groups.values()) if (s.degraded) n++;
    return n;
  }

  /** Forgets servers no longer in any group and groups that no longer exist. */
  retain(keep: Set<string>, gids: Set<number>): void {
    for (const a of [...this.applied.keys()]) if (!keep.has(a)) this.applied.delete(a);
    for (const g of [...this.groups.keys()]) if (!gids.has(g)) this.groups.delete(g);
  }
}
