// Slot migration actions (Codis topom_slots.go / topom_action.go): the queue (create one / some /
// range, rebalance, empty a group, cancel while pending), pause/resume and throttle, and the loop that
// drives each batch of slots through the Codis state machine, stored in the coordinator at every step:
//
//   pending → preparing → prepared → migrating → finished → (done: group_id = target, no action)
//
// - prepared: every proxy gets the slot locked (requests wait). The batch only goes on once EVERY
//   registered proxy acknowledged it in this dashboard's lifetime (after a restart a stored
//   `prepared` is pushed and acknowledged again). A proxy whose admin API refuses connections (its
//   process is gone) for migration_fence_timeout is removed from the product (fenced out); a proxy
//   that is slow or hung is never removed automatically: the step waits and retries (the operator can
//   remove it with force). If the push fails, the slots go back to `preparing` (unlocked) and the step
//   is retried. This is what guarantees that no proxy still routes a slot to its source group while
//   another proxy moves keys to the target: once every proxy is locked or migrating, no proxy writes
//   the slot's keys anywhere but on the target (after moving them there).
// - migrating: proxies move a key from the source to the target before using it; the executor
//   (migration-executor.ts) moves the rest in the background. A failed push here is not fatal (the
//   proxy stays locked, the stats loop re-pushes it).
// - finished / done: the table routes to the target only.
// A dashboard that restarts resumes any batch found in a non-pending state first.
import type { Logger } from '../util/log.js';
import { ActionState, hasAction, type SlotMapping } from '../models/slot-mapping.js';
import { groupMaster, isPromoting, type Group } from '../models/group.js';
import type { DashboardConfig } from './config.js';
import { badRequest, conflict, notFound } from './errors.js';
import { formatRanges } from './slots-compute.js';
import type { PushFailure, PushReport } from './push-report.js';
import { planRebalance } from './rebalance.js';
import { ExecutorStopped, MigrationExecutor, newProgress, type ExecutorProgress } from './migration-executor.js';
import { at } from '../util/at.js';

/** What the action loop needs from Topom (closures over its private state). */
export interface SlotActionHost {
  readonly config: DashboardConfig;
  readonly log: Logger;
  exclusive<T>(fn: () => Promise<T>): Promise<T>;
  /** The live slot mappings (read only). */
  mappings(): readonly SlotMapping[];
  groups(): ReadonlyMap<number, Group>;
  /** Persists the mappings and puts them in memory (call inside exclusive). */
  writeSlots(ms: SlotMapping[]): Promise<void>;
  /** Puts the mappings in memory only (what the next push sends; call inside exclusive). */
  setSlots(ms: SlotMapping[]): void;
  /** Pushes the current table to every proxy (call inside exclusive). */
  pushAll(): Promise<PushReport>;
  /** Deletes a proxy's record (fencing a dead proxy; call inside exclusive). */
  removeProxy(token: string, why: string): Promise<void>;
  isFenced(): boolean;
  /** Client ops/s summed over the proxies (last stats polls); 0 when unknown. */
  clientOpsPerSec(): number;
}

/** Above this many client ops/s the executor keeps to busyPercent; below it runs at full speed. */
export const ACTIVE_CLIENT_OPS = 100;

const IN_PROGRESS = new Set<string>([ActionState.Preparing, ActionState.Prepared, ActionState.Migrating, ActionState.Finished]);

class RetryLater extends Error {}

export interface MigrationProgress {
  state: 'idle' | 'running' | 'paused' | 'waiting';
  /** Slots of the current batch and their state. */
  batch: Array<{ id: number; from: number; to: number; state: string }>;
  slots_pending: number;
  slots_in_progress: number;
  /** Slots finished since the queue was last empty. */
  slots_done: number;
  /** Slots of this run: done + in progress + pending. */
  slots_total: number;
  keys_moved: number;
  big_keys_moved: number;
  bytes_moved: number;
  keys_per_sec: number;
  errors: number;
  last_error: string;
  /** Why the loop is waiting (e.g. a proxy did not acknowledge). */
  waiting_for: string;
  started_unixtime: number;
  elapsed_ms: number;
  /** Time spent moving keys (the rest of elapsed_ms is the state machine: pushes and coordinator writes). */
  executor_ms: number;
  finished_unixtime?: number;
}

export class SlotActions {
  intervalUs: number;
  busyPercent: number;
  disabled = false;
  private stopped = false;
  private loopDone: Promise<void> = Promise.resolve();
  private wake: (() => void) | null = null;
  /** Slots whose `prepared` push every proxy acknowledged in this process. */
  private readonly preparedAcked = new Set<number>();
  /** First time each proxy was seen refusing connections during a step (fencing). */
  private readonly refusedSince = new Map<string, number>();
  private readonly progressNow: ExecutorProgress = newProgress();
  private executors = 0;
  private executor: MigrationExecutor | null = null;
  private running = false;
  private waitingFor = '';
  /** Pending slots whose target group has no master (they wait). */
  private blocked = 0;
  private doneSinceIdle = 0;
  private runStarted = 0;
  private runEnded = 0;
  private runActive = false;
  /** Time the executor spent moving keys in this run (the rest is pushes and coordinator writes). */
  private executorMs = 0;
  private status = '';
  private readonly samples: Array<[number, number]> = [];

  constructor(private readonly host: SlotActionHost) {
    this.intervalUs = host.config.migrationInterval;
    this.busyPercent = host.config.migrationBusyPercent;
  }

  // ---- queue operations ---------------------------------------------------------------------------

  private maxIndex(): number {
    let max = 0;
    for (const m of this.host.mappings()) if ((m.action.index ?? 0) > max) max = m.action.index!;
    return max;
  }

  private checkTarget(gid: number): void {
    const g = this.host.groups().get(gid);
    if (!g) throw notFound(`group ${gid} does not exist`);
    if (g.servers.length === 0) throw conflict(`group ${gid} has no server; add one before migrating slots to it`);
    if (isPromoting(g)) throw conflict(`group ${gid} is promoting a server; wait until it finished`);
  }

  /** Queues `sid → gid` pairs (validated, all or nothing). */
  private async queue(pairs: Array<[number, number]>, strict: boolean): Promise<{ queued: number[]; skipped: number[] }> {
    const maps = this.host.mappings();
    const queued: SlotMapping[] = [];
    const skipped: number[] = [];
    let index = this.maxIndex();
    const checked = new Set<number>();
    for (const [sid, gid] of pairs) {
      if (!checked.has(gid)) {
        this.checkTarget(gid);
        checked.add(gid);
      }
      const m = at(maps, sid, 'slot');
      if (hasAction(m)) {
        if (strict)
          throw conflict(
            `slot ${sid} already has a migration action (${m.action.state} → group ${m.action.target_id ?? 0}); cancel it first or wait for it`,
          );
        skipped.push(sid);
        continue;
      }
      if (m.group_id === gid) {
        if (strict) throw conflict(`slot ${sid} is already in group ${gid}`);
        skipped.push(sid);
        continue;
      }
      queued.push({ id: sid, group_id: m.group_id, action: { index: ++index, state: ActionState.Pending, target_id: gid } });
    }
    if (queued.length) {
      await this.host.writeSlots(queued);
      this.host.log.info({ slots: formatRanges(queued.map((m) => m.id)), count: queued.length }, 'slot migrations queued');
      this.kick();
    }
    return { queued: queued.map((m) => m.id), skipped };
  }

  createOne(sid: number, gid: number): Promise<{ queued: number[]; skipped: number[] }> {
    return this.host.exclusive(() => this.queue([[sid, gid]], true));
  }

  createRange(beg: number, end: number, gid: number): Promise<{ queued: number[]; skipped: number[] }> {
    if (beg > end) throw badRequest(`range ${beg}-${end} is empty: the first slot must not be after the last`);
    return this.host.exclusive(() => {
      const pairs: Array<[number, number]> = [];
      for (let i = beg; i <= end; i++) pairs.push([i, gid]);
      return this.queue(pairs, true);
    });
  }

  /** The first `num` idle slots of group `src` → `dst`. */
  createSome(src: number, dst: number, num: number): Promise<{ queued: number[]; skipped: number[] }> {
    if (src === dst) throw badRequest('source and target group are the same');
    return this.host.exclusive(() => {
      if (!this.host.groups().has(src)) throw notFound(`group ${src} does not exist`);
      const ids = this.host
        .mappings()
        .filter((m) => m.group_id === src && !hasAction(m))
        .slice(0, num)
        .map((m) => m.id);
      if (ids.length === 0) throw conflict(`group ${src} has no idle slot to migrate`);
      return this.queue(
        ids.map((id) => [id, dst]),
        true,
      );
    });
  }

  /** Cancels a pending action. */
  remove(sid: number): Promise<{ removed: number }> {
    return this.host.exclusive(async () => {
      const m = at(this.host.mappings(), sid, 'slot');
      if (!hasAction(m)) throw notFound(`slot ${sid} has no migration action`);
      if (m.action.state !== ActionState.Pending)
        throw conflict(`slot ${sid} is ${m.action.state}: only a pending action can be cancelled`);
      await this.host.writeSlots([{ id: sid, group_id: m.group_id, action: {} }]);
      return { removed: sid };
    });
  }

  /** Cancels every pending action (the batch in progress finishes). */
  removeAllPending(): Promise<{ removed: number }> {
    return this.host.exclusive(async () => {
      const list = this.host
        .mappings()
        .filter((m) => m.action.state === ActionState.Pending)
        .map((m) => ({ id: m.id, group_id: m.group_id, action: {} }));
      if (list.length) await this.host.writeSlots(list);
      return { removed: list.length };
    });
  }

  setBusyPercent(p: number): { busy_percent: number } {
    if (!Number.isInteger(p) || p < 1 || p > 100) throw badRequest('busy percent must be an integer from 1 to 100');
    this.busyPercent = p;
    return { busy_percent: p };
  }

  /** The executor's limit right now: busyPercent while clients are active, else 100 (full speed). */
  private currentBusyPercent(): number {
    return this.host.clientOpsPerSec() > ACTIVE_CLIENT_OPS ? this.busyPercent : 100;
  }

  setInterval(us: number): { interval: number } {
    if (!Number.isInteger(us) || us < 0 || us > 1_000_000) throw badRequest('interval must be 0..1000000 microseconds');
    this.intervalUs = us;
    return { interval: us };
  }

  setDisabled(v: boolean): { disabled: boolean } {
    this.disabled = v;
    if (!v) this.kick();
    return { disabled: v };
  }

  private eligibleGroups(exclude?: number): number[] {
    return [...this.host.groups().values()].filter((g) => g.servers.length > 0 && !isPromoting(g) && g.id !== exclude).map((g) => g.id);
  }

  /** Codis SlotsRebalance: the plan (slot → group); with confirm, queued. */
  rebalance(confirm: boolean): Promise<{ plan: Record<string, number>; queued: number }> {
    return this.host.exclusive(async () => {
      let plan: Map<number, number>;
      try {
        plan = planRebalance(this.host.mappings(), this.eligibleGroups());
      } catch (e) {
        throw conflict((e as Error).message);
      }
      const out = Object.fromEntries([...plan].map(([s, g]) => [String(s), g]));
      if (!confirm || plan.size === 0) return { plan: out, queued: 0 };
      const r = await this.queue([...plan], false);
      return { plan: out, queued: r.queued.length };
    });
  }

  /** Moves every slot of `gid` to the other groups (evenly, fewest moves), so it can be removed. */
  drainGroup(gid: number, confirm: boolean): Promise<{ plan: Record<string, number>; queued: number }> {
    return this.host.exclusive(async () => {
      if (!this.host.groups().has(gid)) throw notFound(`group ${gid} does not exist`);
      let plan: Map<number, number>;
      try {
        plan = planRebalance(this.host.mappings(), this.eligibleGroups(gid));
      } catch (e) {
        throw conflict(`cannot empty group ${gid}: ${(e as Error).message}`);
      }
      const out = Object.fromEntries([...plan].map(([s, g]) => [String(s), g]));
      if (!confirm || plan.size === 0) return { plan: out, queued: 0 };
      const r = await this.queue([...plan], false);
      return { plan: out, queued: r.queued.length };
    });
  }

  // ---- progress -----------------------------------------------------------------------------------

  progress(): MigrationProgress {
    const maps = this.host.mappings();
    let pending = 0,
      inProgress = 0;
    const batch: MigrationProgress['batch'] = [];
    for (const m of maps) {
      const st = m.action.state ?? '';
      if (st === ActionState.Pending) pending++;
      else if (IN_PROGRESS.has(st)) {
        inProgress++;
        batch.push({ id: m.id, from: m.group_id, to: m.action.target_id ?? 0, state: st });
      }
    }
    const now = Date.now();
    while (this.samples.length > 1 && now - (this.samples[0]?.[0] ?? now) > 5000) this.samples.shift();
    let rate = 0;
    const first = this.samples[0],
      last = this.samples[this.samples.length - 1];
    if (this.samples.length > 1 && first !== undefined && last !== undefined) {
      const [t0, k0] = first,
        [t1, k1] = last;
      if (t1 > t0) rate = Math.round(((k1 - k0) * 1000) / (t1 - t0));
    }
    const p = this.progressNow;
    const state: MigrationProgress['state'] =
      pending + inProgress === 0 && !this.runActive ? 'idle' : this.disabled ? 'paused' : this.waitingFor ? 'waiting' : 'running';
    return {
      state,
      batch,
      slots_pending: pending,
      slots_in_progress: inProgress,
      slots_done: this.doneSinceIdle,
      slots_total: this.doneSinceIdle + pending + inProgress,
      ...(this.runEnded ? { finished_unixtime: Math.floor(this.runEnded / 1000) } : {}),
      keys_moved: p.keysMoved,
      big_keys_moved: p.bigKeysMoved,
      bytes_moved: p.bytesMoved,
      keys_per_sec: rate,
      errors: p.errors,
      last_error: p.lastError,
      waiting_for:
        this.waitingFor || (this.blocked ? `${this.blocked} pending slot(s) target a group without a master (or promoting)` : ''),
      started_unixtime: this.runStarted ? Math.floor(this.runStarted / 1000) : 0,
      elapsed_ms: this.runStarted ? (this.runEnded || now) - this.runStarted : 0,
      executor_ms: this.executorMs,
    };
  }

  /** Codis's stats slot_action section, plus our progress. */
  statsSection(): Record<string, unknown> {
    return {
      interval: this.intervalUs,
      busy_percent: this.busyPercent,
      busy_percent_now: this.currentBusyPercent(),
      disabled: this.disabled,
      progress: { status: this.status, ...this.progress() },
      executor: this.executors,
    };
  }

  // ---- the loop -----------------------------------------------------------------------------------

  private kick(): void {
    this.wake?.();
  }

  start(): void {
    if (this.running) return;
    this.running = true;
    this.stopped = false;
    this.loopDone = this.loop();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.kick();
    this.executor?.close();
    await this.loopDone;
    this.running = false;
  }

  private async idle(ms: number): Promise<void> {
    await new Promise<void>((r) => {
      const t = setTimeout(() => {
        this.wake = null;
        r();
      }, ms);
      this.wake = () => {
        clearTimeout(t);
        this.wake = null;
        r();
      };
    });
  }

  private async loop(): Promise<void> {
    let backoff = 0;
    while (!this.stopped && !this.host.isFenced()) {
      let worked = false;
      try {
        worked = await this.step();
        backoff = 0;
        this.waitingFor = '';
      } catch (e) {
        if (this.stopped || this.host.isFenced() || e instanceof ExecutorStopped) break;
        const msg = (e as Error).message;
        this.status = `[ERROR] ${msg}`;
        if (!(e instanceof RetryLater)) {
          this.progressNow.errors++;
          this.progressNow.lastError = msg;
        }
        this.waitingFor = e instanceof RetryLater ? msg : '';
        this.host.log.warn({ err: msg }, 'slot migration step did not complete; retrying');
        backoff = Math.min(5000, Math.max(500, backoff * 2));
      }
      if (!worked || backoff) await this.idle(backoff || 200);
    }
  }

  private inProgressIds(): number[] {
    return this.host
      .mappings()
      .filter((m) => IN_PROGRESS.has(m.action.state ?? ''))
      .map((m) => m.id);
  }

  /** One unit of work; false if there was nothing to do. */
  private async step(): Promise<boolean> {
    let batch = this.inProgressIds();
    if (batch.length === 0) {
      if (this.disabled) return false;
      // Picked inside the exclusive queue, so a queue operation in progress is seen whole.
      const started = await this.host.exclusive(async () => {
        const all = this.host.mappings().filter((m) => m.action.state === ActionState.Pending);
        // A target group without a master (or promoting) keeps its slots pending until it has one.
        const ready = (gid: number): boolean => {
          const g = this.host.groups().get(gid);
          return !!g && groupMaster(g) !== '' && !isPromoting(g);
        };
        const pending = all.filter((m) => ready(m.action.target_id ?? 0));
        this.blocked = all.length - pending.length;
        if (pending.length === 0) return false;
        pending.sort((a, b) => (a.action.index ?? 0) - (b.action.index ?? 0) || a.id - b.id);
        const take = pending.slice(0, this.host.config.migrationParallelSlots);
        if (!this.runActive) {
          this.runActive = true;
          this.runStarted = Date.now();
          this.runEnded = 0;
          this.doneSinceIdle = 0;
          Object.assign(this.progressNow, newProgress());
          this.samples.length = 0;
          this.executorMs = 0;
        }
        // pending → prepared directly: `preparing` routes exactly like `pending`, so it is only
        // stored when a failed push rolls a batch back (one coordinator write per slot saved).
        await this.setState(take, ActionState.Prepared);
        return true;
      });
      if (!started) {
        if (this.runActive) {
          this.runActive = false;
          this.runEnded = Date.now();
        }
        return false;
      }
      batch = this.inProgressIds();
      this.host.log.info({ slots: formatRanges(batch), count: batch.length }, 'slot migration batch started');
    }
    // A batch already under way goes on to `migrating` even while paused (never leave slots locked);
    // the executor then waits for the resume.
    if (!this.runActive) {
      this.runActive = true;
      this.runStarted = Date.now();
      this.runEnded = 0;
    }
    const t0 = performance.now();
    await this.toPrepared();
    const t1 = performance.now();
    await this.toMigrating();
    // toPrepared: lock push (after `prepared` was stored); toMigrating: migrating push, then its write.
    this.host.log.info(
      { lockPushMs: Math.round(t1 - t0), migratingMs: Math.round(performance.now() - t1) },
      'slot migration batch migrating',
    );
    await this.migrate();
    await this.finish();
    return true;
  }

  private withState(state: string): SlotMapping[] {
    return this.host.mappings().filter((m) => m.action.state === state);
  }

  private async setState(ms: SlotMapping[], state: string): Promise<void> {
    await this.host.writeSlots(ms.map((m) => ({ ...m, action: { ...m.action, state } })));
  }

  /**
   * The step from locked to migrating, and from migrating to done, is pushed to the proxies first and
   * stored afterwards, so the slots are locked (or pay migrate-on-access) only for the pushes and not
   * for hundreds of coordinator writes. Safe because the stored state is then one step behind the
   * proxies, and resuming from it only re-does that step: a stored `prepared` locks the proxies
   * again before they migrate, and a stored `migrating` routes to the target, where the keys already
   * are. If the write fails, the previous mappings go back into memory so the step is retried whole.
   */
  private async pushThenPersist(next: SlotMapping[]): Promise<PushReport> {
    const prev = next.map((m) => at(this.host.mappings(), m.id, 'slot'));
    this.host.setSlots(next);
    const report = await this.host.pushAll();
    try {
      await this.host.writeSlots(next);
    } catch (e) {
      this.host.setSlots(prev);
      throw e;
    }
    return report;
  }

  /**
   * Handles a push that not every proxy acknowledged: proxies that refuse connections for longer
   * than migration_fence_timeout are removed (fenced). Returns the failures left.
   */
  private async fence(report: PushReport): Promise<PushFailure[]> {
    const now = Date.now();
    const left: PushFailure[] = [];
    const failing = new Set(report.failed.map((f) => f.token));
    for (const t of [...this.refusedSince.keys()]) if (!failing.has(t)) this.refusedSince.delete(t);
    for (const f of report.failed) {
      if (!/ECONNREFUSED/.test(f.error)) {
        this.refusedSince.delete(f.token);
        left.push(f);
        continue;
      }
      const since = this.refusedSince.get(f.token) ?? now;
      this.refusedSince.set(f.token, since);
      if (now - since >= this.host.config.migrationFenceTimeout) {
        await this.host.removeProxy(
          f.token,
          `its admin API has refused connections for ${Math.round((now - since) / 1000)} s during a slot migration`,
        );
        this.refusedSince.delete(f.token);
      } else left.push(f);
    }
    return left;
  }

  /** preparing → prepared (locked everywhere), and re-acknowledgement of a stored prepared. */
  private async toPrepared(): Promise<void> {
    await this.host.exclusive(async () => {
      const preparing = this.withState(ActionState.Preparing);
      const unacked = this.withState(ActionState.Prepared).filter((m) => !this.preparedAcked.has(m.id));
      if (preparing.length === 0 && unacked.length === 0) return;
      if (preparing.length) await this.setState(preparing, ActionState.Prepared);
      let report = await this.host.pushAll();
      let left = await this.fence(report);
      if (left.length === 0 && report.failed.length > 0) {
        report = await this.host.pushAll();
        left = report.failed;
      }
      const ids = [...preparing, ...unacked].map((m) => m.id);
      if (left.length > 0) {
        // Unlock again (back to preparing) and retry later.
        await this.setState(
          this.withState(ActionState.Prepared).filter((m) => ids.includes(m.id)),
          ActionState.Preparing,
        );
        await this.host.pushAll();
        const f = at(left, 0, 'unacknowledged proxy');
        throw new RetryLater(
          `${left.length} proxy(ies) did not acknowledge the locked slot table (e.g. proxy ${f.id} at ${f.admin_addr}: ${f.error}); the migration waits for them (a proxy whose process is gone is removed after ${this.host.config.migrationFenceTimeout} ms; remove a hung one with proxy remove --force)`,
        );
      }
      for (const id of ids) this.preparedAcked.add(id);
    });
  }

  /** prepared → migrating. */
  private async toMigrating(): Promise<void> {
    await this.host.exclusive(async () => {
      const prepared = this.withState(ActionState.Prepared).filter((m) => this.preparedAcked.has(m.id));
      if (prepared.length === 0) return;
      const report = await this.pushThenPersist(prepared.map((m) => ({ ...m, action: { ...m.action, state: ActionState.Migrating } })));
      if (report.failed.length) {
        this.host.log.warn(
          { failed: report.failed.length },
          'some proxies did not take the migrating table; they stay locked until re-pushed',
        );
      }
    });
  }

  /** Runs the executor for every slot in `migrating` until their keys are all on the targets. */
  private async migrate(): Promise<void> {
    const migrating = this.withState(ActionState.Migrating);
    if (migrating.length === 0) return;
    const groups = this.host.groups();
    const bySource = new Map<string, Map<number, string>>();
    for (const m of migrating) {
      const from = groupMaster(groups.get(m.group_id));
      const to = groupMaster(groups.get(m.action.target_id ?? 0));
      if (!from) continue; // offline source: nothing to move
      if (!to) throw new RetryLater(`slot ${m.id}: target group ${m.action.target_id} has no master`);
      if (from === to) continue;
      let t = bySource.get(from);
      if (!t) {
        t = new Map();
        bySource.set(from, t);
      }
      t.set(m.id, to);
    }
    if (bySource.size === 0) return;
    const c = this.host.config;
    const ex = new MigrationExecutor({
      auth: c.productAuth,
      batchKeys: c.migrationBatchKeys,
      bigKeyElements: c.migrationBigKeyElements,
      chunkElements: c.migrationChunkElements,
      timeoutMs: c.migrationTimeout,
      lockTtlMs: 10000,
      intervalUs: () => this.intervalUs,
      busyPercent: () => this.currentBusyPercent(),
      paused: () => this.disabled,
      stopped: () => this.stopped || this.host.isFenced(),
      log: this.host.log,
    });
    this.executor = ex;
    this.executors = bySource.size;
    const sampler = setInterval(() => {
      this.samples.push([Date.now(), this.progressNow.keysMoved]);
      if (this.samples.length > 200) this.samples.shift();
    }, 250);
    const t0 = Date.now();
    try {
      await Promise.all([...bySource].map(([src, targets]) => ex.run(src, targets, this.progressNow)));
      this.status = `[OK] slots ${formatRanges(migrating.map((m) => m.id))} moved`;
    } finally {
      clearInterval(sampler);
      this.executorMs += Date.now() - t0;
      this.samples.push([Date.now(), this.progressNow.keysMoved]);
      this.executors = 0;
      this.executor = null;
      ex.close();
    }
  }

  /** migrating → finished → done (group_id = target). */
  private async finish(): Promise<void> {
    if (this.stopped || this.host.isFenced()) return;
    await this.host.exclusive(async () => {
      // `finished` routes exactly like the final mapping, so migrating goes to done in one write
      // (a stored `finished` from an older dashboard is completed the same way).
      const finished = [...this.withState(ActionState.Migrating), ...this.withState(ActionState.Finished)];
      if (finished.length === 0) return;
      // Counted as done from the moment memory says so (progress readers see both together).
      this.doneSinceIdle += finished.length;
      let report: PushReport;
      try {
        report = await this.pushThenPersist(finished.map((m) => ({ id: m.id, group_id: m.action.target_id ?? 0, action: {} })));
      } catch (e) {
        this.doneSinceIdle -= finished.length;
        throw e;
      }
      for (const m of finished) this.preparedAcked.delete(m.id);
      this.host.log.info(
        { slots: formatRanges(finished.map((m) => m.id)), count: finished.length, failedPushes: report.failed.length },
        'slot migration batch finished',
      );
    });
  }
}
