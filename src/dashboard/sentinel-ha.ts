// The dashboard's HA duties (Codis topom_sentinel.go + topom_group.go promote/sync, done for stock
// Redis): the sentinel list (add/del/resync), keeping every sentinel monitoring each group master as
// `<product>-<gid>`, following sentinel failovers (majority + ROLE, then reorder the group so
// servers[0] is the new master and push consistent tables to all proxies), pushing the sentinel list
// to proxies, turning a recovered old master that sentinel does not fix into a replica, the sync
// action (REPLICAOF the group master), and planned switchovers (promote) without losing acknowledged
// writes. Runs inside the active Topom; every mutation goes through its exclusive queue.
import type { Logger } from '../util/log.js';
import { isValidAddr, parseAddr } from '../util/address.js';
import type { Group } from '../models/group.js';
import { isPromoting } from '../models/group.js';
import type { SentinelModel } from '../models/sentinel.js';
import type { ProxyModel } from '../models/proxy.js';
import { MasterWatcher, type MasterChange } from '../ha/master-watcher.js';
import { redisCall, resolveMajority, roleOf, type MajorityView, type MonitoredMaster } from '../ha/sentinels.js';
import type { DashboardConfig } from './config.js';
import type { ProductStore } from './store-models.js';
import type { ProxyClient } from './proxy-client.js';
import type { ServerStats } from './redis-probe.js';
import { parseInfo } from './redis-probe.js';
import {
  configureSentinel,
  monitoredBy,
  probeSentinel,
  removeGroup,
  removeProduct,
  sentinelInfo,
  type MonitorTarget,
} from './sentinel-ops.js';
import { badGateway, badRequest, conflict, notFound } from './errors.js';
import type { PushReport } from './push-report.js';
import { at } from '../util/at.js';

/** What SentinelHa needs from the Topom it belongs to. */
export interface HaHost {
  readonly config: DashboardConfig;
  readonly log: Logger;
  readonly store: ProductStore;
  fenced(): boolean;
  groups(): ReadonlyMap<number, Group>;
  setGroup(g: Group): void;
  sentinel(): SentinelModel;
  setSentinel(s: SentinelModel): void;
  exclusive<T>(fn: () => Promise<T>): Promise<T>;
  pushAll(): Promise<PushReport>;
  markSync(gids: Iterable<number>, report: PushReport): Promise<void>;
  proxies(): ProxyModel[];
  proxyClient(p: ProxyModel): ProxyClient;
  serverStats(addr: string): ServerStats | undefined;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class SentinelHa {
  readonly watcher: MasterWatcher;
  /** False until the first sentinel resolution after becoming active ended (no stale pushes before). */
  caughtUp = false;
  private timer: NodeJS.Timeout | null = null;
  private resyncing = false;
  /** Server address → since when (ms) it reports role:master while not its group's master. */
  private strayMasters = new Map<string, number>();
  /** `sentinel|gid` → since when (ms) that sentinel names another master than the majority and the dashboard. */
  private readonly laggingSentinels = new Map<string, number>();
  private lastSentinelPush: { unixtime: number; failed: string[] } | null = null;

  constructor(private readonly h: HaHost) {
    this.watcher = new MasterWatcher({
      product: h.config.productName,
      auth: h.config.productAuth,
      timeoutMs: Math.min(h.config.sentinelClientTimeout, 2000),
      pollMs: 3000,
      current: () => this.currentMasters(),
      apply: (changes) => h.exclusive(() => this.applyChanges(changes, 'sentinel failover')).then(() => undefined),
      log: (msg, fields) => h.log.info(fields ?? {}, msg),
    });
  }

  private currentMasters(): Map<number, string> {
    const m = new Map<number, string>();
    for (const g of this.h.groups().values()) {
      const master = g.servers[0];
      if (master && !isPromoting(g)) m.set(g.id, master.server);
    }
    return m;
  }

  /** Starts following the sentinels; resolves after the first catch-up. */
  async start(): Promise<void> {
    const servers = this.h.sentinel().servers;
    if (servers.length > 0) {
      this.watcher.setServers(servers);
      await Promise.race([this.watcher.kick('dashboard became active'), sleep(Math.min(this.h.config.sentinelClientTimeout, 5000))]);
    }
    this.caughtUp = true;
    const tick = (): void => {
      if (this.h.fenced()) return;
      void this.tick().finally(() => {
        if (!this.h.fenced()) this.timer = setTimeout(tick, this.h.config.statsPeriod);
      });
    };
    this.timer = setTimeout(tick, this.h.config.statsPeriod);
  }

  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.watcher.close();
  }

  // ---- following failovers --------------------------------------------------------------------------

  /** Reorders each changed group so servers[0] is its new master, stores it, pushes all proxies. Inside exclusive. */
  private async applyChanges(changes: readonly MasterChange[], why: string): Promise<MasterChange[]> {
    const applied: MasterChange[] = [];
    for (const c of changes) {
      const g = this.h.groups().get(c.gid);
      if (!g || isPromoting(g) || g.servers[0]?.server === c.to) continue;
      const i = g.servers.findIndex((s) => s.server === c.to);
      if (i < 0) {
        this.h.log.warn(
          { gid: c.gid, addr: c.to },
          'sentinels elected a master that is not a server of the group; add it to the group to follow it',
        );
        continue;
      }
      const next = structuredClone(g);
      const [promoted] = next.servers.splice(i, 1);
      next.servers.unshift(promoted!);
      next.out_of_sync = true;
      await this.h.store.writeGroup(next);
      this.h.setGroup(next);
      applied.push(c);
      this.h.log.warn(
        { gid: c.gid, from: c.from, to: c.to, epoch: c.epoch, why },
        'group master switched by sentinel failover; recorded in the coordinator',
      );
    }
    if (applied.length) {
      const push = await this.h.pushAll();
      await this.h.markSync(
        applied.map((c) => c.gid),
        push,
      );
    }
    return applied;
  }

  /** Majority view → confirmed changes vs. the dashboard's masters (ROLE checked). */
  private async confirmedChanges(view: MajorityView): Promise<MasterChange[]> {
    const cur = this.currentMasters();
    const out: MasterChange[] = [];
    for (const [gid, m] of view.masters) {
      const from = cur.get(gid);
      if (from === undefined || from === m.addr) continue;
      if ((await roleOf(m.addr, 1000, this.h.config.productAuth)) === 'master') out.push({ gid, from, to: m.addr, epoch: m.epoch });
    }
    return out;
  }

  private async tick(): Promise<void> {
    if (this.h.fenced()) return;
    const s = this.h.sentinel();
    if (s.servers.length > 0 && s.out_of_sync && !this.resyncing) {
      this.resyncing = true;
      try {
        await this.resyncAll();
      } catch (e) {
        this.h.log.warn({ err: (e as Error).message }, 'automatic sentinel resync failed; will retry');
      } finally {
        this.resyncing = false;
      }
    }
    await this.fixStrayMasters().catch((e: Error) => this.h.log.warn({ err: e.message }, 'stray master check failed'));
    await this.fixLaggingSentinels().catch((e: Error) => this.h.log.warn({ err: e.message }, 'lagging sentinel check failed'));
  }

  /**
   * A sentinel can be left behind for good: one restarted with a view whose master is dead and that
   * knows none of the group's replicas or other sentinels (it was stopped right after it was told to
   * monitor a new master) never hears the failover that followed — hello messages travel through the
   * monitored servers. When a sentinel that answers names another master for a group than the sentinel
   * majority and the dashboard agree on, with no failover in progress anywhere, for longer than a grace
   * period, the dashboard re-monitors that group on it (configureSentinel: REMOVE + MONITOR + SET).
   */
  private async fixLaggingSentinels(): Promise<void> {
    const v = this.watcher.lastView;
    if (!v) return;
    const now = Date.now();
    const grace = Math.max(10000, 3 * this.h.config.sentinelDownAfter);
    const masters = this.currentMasters();
    const seen = new Set<string>();
    const busy = new Set<number>();
    for (const a of v.answers.values())
      if (Array.isArray(a)) for (const m of a) if (m.flags.includes('failover_in_progress')) busy.add(m.gid);
    const stale = new Map<string, MonitorTarget[]>();
    for (const [sentinel, a] of v.answers) {
      if (!Array.isArray(a)) continue;
      for (const [gid, master] of masters) {
        if (busy.has(gid) || v.masters.get(gid)?.addr !== master) continue;
        const mine = a.find((m) => m.gid === gid);
        if (mine && mine.addr === master) continue;
        const key = `${sentinel}|${gid}`;
        seen.add(key);
        const since = this.laggingSentinels.get(key) ?? now;
        this.laggingSentinels.set(key, since);
        if (now - since < grace) continue;
        stale.set(sentinel, [...(stale.get(sentinel) ?? []), { gid, master }]);
      }
    }
    for (const k of [...this.laggingSentinels.keys()]) if (!seen.has(k)) this.laggingSentinels.delete(k);
    if (stale.size === 0) return;
    // Every group's target for that sentinel (configureSentinel leaves the ones that already agree alone).
    const targets: MonitorTarget[] = [...masters].filter(([gid]) => !busy.has(gid)).map(([gid, master]) => ({ gid, master }));
    await this.h.exclusive(async () => {
      for (const [sentinel, groups] of stale) {
        this.h.log.warn(
          { sentinel, groups: groups.map((g) => `${g.gid}:${g.master}`) },
          'sentinel left behind on an old master (it cannot hear the failover): re-monitoring the group on it',
        );
        await configureSentinel(sentinel, this.h.config.productName, targets, this.h.config).catch((e: Error) =>
          this.h.log.warn({ sentinel, err: e.message }, 'could not re-monitor on a lagging sentinel; will retry'),
        );
        for (const g of groups) this.laggingSentinels.delete(`${sentinel}|${g.gid}`);
      }
    });
    await this.watcher.kick('lagging sentinel re-monitored');
  }

  /**
   * A server that is not its group's master but reports role:master (a recovered old master that
   * sentinel does not know about, or a server that lost its replicaof) is made a replica of the
   * group master — after sentinel had time to do it itself, and only while the group master answers
   * as master and a sentinel majority (if any) agrees it is the master.
   */
  private async fixStrayMasters(): Promise<void> {
    const now = Date.now();
    const haveSentinels = this.h.sentinel().servers.length > 0;
    const grace = haveSentinels ? Math.max(20000, 3 * this.h.config.sentinelDownAfter) : 2 * this.h.config.statsPeriod;
    const seen = new Set<string>();
    for (const g of this.h.groups().values()) {
      if (g.servers.length < 2 || isPromoting(g)) continue;
      const master = at(g.servers, 0, `group ${g.id} master`).server;
      if (this.h.serverStats(master)?.stats.role !== 'master') continue;
      for (const s of g.servers.slice(1)) {
        const st = this.h.serverStats(s.server);
        if (st?.error || st?.stats.role !== 'master') continue;
        seen.add(s.server);
        const since = this.strayMasters.get(s.server) ?? now;
        this.strayMasters.set(s.server, since);
        if (now - since < grace) continue;
        if (haveSentinels) {
          const v = this.watcher.lastView;
          if (!v || v.masters.get(g.id)?.addr !== master) continue;
        }
        this.h.log.warn(
          { gid: g.id, addr: s.server, master },
          'server reports role master but is a replica of the group: sending REPLICAOF',
        );
        await this.h.exclusive(() => this.pointAt(s.server, master));
        this.strayMasters.delete(s.server);
      }
    }
    for (const a of [...this.strayMasters.keys()]) if (!seen.has(a)) this.strayMasters.delete(a);
  }

  /** REPLICAOF `master` (or NO ONE) on `addr`. */
  private async pointAt(addr: string, master: string | null): Promise<void> {
    const t = this.h.config.sentinelClientTimeout;
    const auth = this.h.config.productAuth;
    if (auth) await redisCall(addr, t, ['CONFIG', 'SET', 'masterauth', auth], auth);
    const m = master ? parseAddr(master) : null;
    await redisCall(addr, t, m ? ['REPLICAOF', m.host, String(m.port)] : ['REPLICAOF', 'NO', 'ONE'], auth);
  }

  // ---- sentinel list ------------------------------------------------------------------------------

  private async storeSentinel(next: SentinelModel): Promise<void> {
    await this.h.store.writeSentinel(next);
    this.h.setSentinel(next);
  }

  addSentinel(addr: string): Promise<{ sentinels: string[]; resync: unknown }> {
    if (!isValidAddr(addr)) throw badRequest(`sentinel address "${addr}" is not host:port`);
    return this.h.exclusive(async () => {
      const cur = this.h.sentinel();
      if (cur.servers.includes(addr)) throw conflict(`sentinel ${addr} is already added`);
      try {
        await probeSentinel(addr, this.h.config.sentinelClientTimeout);
      } catch (e) {
        throw badGateway((e as Error).message, e);
      }
      await this.storeSentinel({ servers: [...cur.servers, addr], out_of_sync: true });
      this.h.log.info({ addr }, 'sentinel added');
      const resync = await this.resyncInner();
      return { sentinels: this.h.sentinel().servers, resync };
    });
  }

  delSentinel(addr: string, force: boolean): Promise<{ sentinels: string[]; removed: string[] }> {
    return this.h.exclusive(async () => {
      const cur = this.h.sentinel();
      if (!cur.servers.includes(addr)) throw notFound(`sentinel ${addr} is not in the list (${cur.servers.join(', ') || 'empty'})`);
      let removed: string[] = [];
      try {
        removed = await removeProduct(addr, this.h.config.productName, this.h.config.sentinelClientTimeout);
      } catch (e) {
        if (!force)
          throw badGateway(
            `cannot remove the product's masters from sentinel ${addr}: ${(e as Error).message}; use force to drop it anyway`,
            e,
          );
      }
      await this.storeSentinel({ servers: cur.servers.filter((s) => s !== addr), out_of_sync: cur.out_of_sync });
      this.watcher.setServers(this.h.sentinel().servers);
      await this.pushSentinelsToProxies();
      this.h.log.info({ addr, force }, 'sentinel removed');
      return { sentinels: this.h.sentinel().servers, removed };
    });
  }

  resyncAll(): Promise<Record<string, unknown>> {
    return this.h.exclusive(() => this.resyncInner());
  }

  /**
   * Catches up with a finished failover first (never re-point sentinels at a dead master), then makes
   * every sentinel monitor each group master with the configured options, then pushes the list to
   * every proxy. out_of_sync is cleared only if every sentinel was configured.
   */
  private async resyncInner(): Promise<Record<string, unknown>> {
    const cur = this.h.sentinel();
    const servers = cur.servers;
    let view: MajorityView | null = null;
    let caughtUp: MasterChange[] = [];
    if (servers.length > 0) {
      // Without a majority the dashboard cannot know whether a failover happened: configuring the
      // reachable sentinels from its own view could undo one. Refuse; the tick retries.
      view = await resolveMajority(servers, this.h.config.productName, Math.min(this.h.config.sentinelClientTimeout, 2000)).catch(
        (e: Error) => {
          throw conflict(`cannot resync the sentinels: ${e.message}`);
        },
      );
      caughtUp = await this.applyChanges(await this.confirmedChanges(view), 'sentinel resync');
    }
    const unsettled = new Set<number>();
    for (const a of view?.answers.values() ?? []) {
      if (!Array.isArray(a)) continue;
      for (const m of a) if (m.flags.includes('failover_in_progress') || !view!.masters.has(m.gid)) unsettled.add(m.gid);
    }
    const targets: MonitorTarget[] = [];
    const skipped: number[] = [];
    for (const g of this.h.groups().values()) {
      const first = g.servers[0];
      if (first === undefined) continue;
      const master = first.server;
      const seen = view?.masters.get(g.id);
      if (isPromoting(g) || unsettled.has(g.id) || (seen && seen.addr !== master)) {
        skipped.push(g.id);
        continue;
      }
      targets.push({ gid: g.id, master });
    }
    const results: Record<string, unknown> = {};
    let failed = 0;
    await Promise.all(
      servers.map(async (s) => {
        try {
          results[s] = await configureSentinel(s, this.h.config.productName, targets, this.h.config);
        } catch (e) {
          failed++;
          results[s] = { error: (e as Error).message };
        }
      }),
    );
    this.watcher.setServers(servers);
    const push = await this.pushSentinelsToProxies();
    const ok = failed === 0 && skipped.length === 0 && push.length === 0;
    if (this.h.sentinel().out_of_sync === ok) await this.storeSentinel({ servers, out_of_sync: !ok });
    if (failed || skipped.length) this.h.log.warn({ failed, skipped }, 'sentinel resync incomplete');
    return { sentinels: results, caught_up: caughtUp, skipped_groups: skipped, proxies_failed: push };
  }

  /** Sends the sentinel list to every proxy; returns the failures. */
  async pushSentinelsToProxies(): Promise<string[]> {
    const servers = this.h.sentinel().servers;
    const failed: string[] = [];
    await Promise.all(
      this.h.proxies().map(async (p) => {
        try {
          await this.h.proxyClient(p).setSentinels(servers);
        } catch (e) {
          failed.push(`proxy ${p.id} (${p.admin_addr}): ${(e as Error).message}`);
        }
      }),
    );
    this.lastSentinelPush = { unixtime: Math.floor(Date.now() / 1000), failed };
    return failed;
  }

  // ---- views --------------------------------------------------------------------------------------

  info(addr: string): Promise<Record<string, string>> {
    if (!isValidAddr(addr)) throw badRequest(`"${addr}" is not host:port`);
    return sentinelInfo(addr, this.h.config.sentinelClientTimeout).catch((e: Error) => {
      throw badGateway(`sentinel ${addr}: ${e.message}`, e);
    });
  }

  monitored(addr: string): Promise<unknown> {
    if (!isValidAddr(addr)) throw badRequest(`"${addr}" is not host:port`);
    return monitoredBy(addr, this.h.config.productName, this.h.config.sentinelClientTimeout).catch((e: Error) => {
      throw badGateway(`sentinel ${addr}: ${e.message}`, e);
    });
  }

  /**
   * Codis's `sentinels` stats section: the model, what each sentinel sees (from the last resolution),
   * the majority's masters, and every disagreement (a sentinel that does not answer, misses a group,
   * or names another master than servers[0]).
   */
  stats(): Record<string, unknown> {
    const view = this.watcher.lastView;
    const perSentinel: Record<string, unknown> = {};
    const disagreements: string[] = [];
    const groups = [...this.h.groups().values()].filter((g) => g.servers.length > 0);
    for (const s of this.h.sentinel().servers) {
      const a = view?.answers.get(s);
      if (!a) {
        perSentinel[s] = { error: 'not asked yet' };
        continue;
      }
      if (!Array.isArray(a)) {
        perSentinel[s] = a;
        disagreements.push(`sentinel ${s} does not answer: ${a.error}`);
        continue;
      }
      perSentinel[s] = {
        masters: Object.fromEntries(
          a.map((m: MonitoredMaster) => [
            m.name,
            { addr: m.addr, epoch: m.epoch, flags: m.flags, num_slaves: m.num_slaves, quorum: m.quorum },
          ]),
        ),
      };
      for (const g of groups) {
        const m = a.find((x) => x.gid === g.id);
        if (!m) disagreements.push(`sentinel ${s} does not monitor group ${g.id}`);
        else {
          const master = at(g.servers, 0, `group ${g.id} master`).server;
          if (m.addr !== master) disagreements.push(`sentinel ${s} sees ${m.addr} as master of group ${g.id}, the dashboard has ${master}`);
        }
      }
    }
    return {
      model: this.h.sentinel(),
      stats: perSentinel,
      masters: view ? Object.fromEntries([...view.masters].map(([g, m]) => [String(g), m.addr])) : {},
      disagreements,
      watcher: this.watcher.status,
      last_proxy_push: this.lastSentinelPush,
    };
  }

  // ---- replica groups -----------------------------------------------------------------------------

  /** Sets the replica_group flag of one server (addr) or of every server (addr null), then pushes the tables. */
  setReplicaGroup(gid: number | null, addr: string | null, value: boolean): Promise<{ changed: number; push: PushReport }> {
    return this.h.exclusive(async () => {
      const touched: number[] = [];
      let changed = 0;
      if (gid !== null && !this.h.groups().has(gid)) throw notFound(`group ${gid} does not exist`);
      if (
        gid !== null &&
        addr !== null &&
        !this.h
          .groups()
          .get(gid)!
          .servers.some((s) => s.server === addr)
      )
        throw notFound(`server ${addr} is not in group ${gid}`);
      for (const g of [...this.h.groups().values()]) {
        if (gid !== null && g.id !== gid) continue;
        const next = structuredClone(g);
        let n = 0;
        for (const s of next.servers)
          if ((addr === null || s.server === addr) && s.replica_group !== value) {
            s.replica_group = value;
            n++;
          }
        if (n === 0) continue;
        await this.h.store.writeGroup(next);
        this.h.setGroup(next);
        changed += n;
        touched.push(g.id);
      }
      const push = await this.h.pushAll();
      await this.h.markSync(touched, push);
      return { changed, push };
    });
  }

  // ---- sync action and promote ----------------------------------------------------------------------

  /** Points `addr` at its group's master (REPLICAOF), or makes the master a master (NO ONE). */
  /** Clears the sync action recorded on a server (Codis SyncRemoveAction); refused when it has none. */
  syncRemoveAction(addr: string): Promise<{ gid: number; addr: string }> {
    return this.h.exclusive(async () => {
      const g = [...this.h.groups().values()].find((x) => x.servers.some((s) => s.server === addr));
      if (!g) throw notFound(`server ${addr} is not in any group`);
      if (isPromoting(g)) throw conflict(`group ${g.id} is promoting a server; wait until it finished`);
      const next = structuredClone(g);
      const s = next.servers.find((x) => x.server === addr);
      if (!s?.action.state) throw conflict(`server ${addr} has no sync action to remove`);
      s.action = {};
      await this.h.store.writeGroup(next);
      this.h.setGroup(next);
      return { gid: g.id, addr };
    });
  }

  syncAction(addr: string): Promise<{ gid: number; addr: string; master: string | null }> {
    return this.h.exclusive(async () => {
      const g = [...this.h.groups().values()].find((x) => x.servers.some((s) => s.server === addr));
      if (!g) throw notFound(`server ${addr} is not in any group`);
      if (isPromoting(g)) throw conflict(`group ${g.id} is promoting a server; wait until it finished`);
      const current = at(g.servers, 0, `group ${g.id} master`).server;
      const master = current === addr ? null : current;
      const idx = g.servers.findIndex((s) => s.server === addr);
      const set = async (state: string): Promise<void> => {
        const next = structuredClone(this.h.groups().get(g.id)!);
        const entry = next.servers.find((s) => s.server === addr);
        if (!entry) return;
        entry.action = state ? { index: idx, state } : {};
        await this.h.store.writeGroup(next);
        this.h.setGroup(next);
      };
      await set('syncing');
      try {
        await this.pointAt(addr, master);
      } catch (e) {
        await set('synced_failed');
        throw badGateway(`REPLICAOF on ${addr} failed: ${(e as Error).message}`, e);
      }
      await set('synced');
      this.h.log.info({ gid: g.id, addr, master }, 'sync action done');
      return { gid: g.id, addr, master };
    });
  }

  /**
   * Planned switchover of group `gid` to `addr` with no acknowledged write lost: the group's slots
   * are pushed locked to every proxy (they park requests), the old master's writes are paused
   * (CLIENT PAUSE WRITE), the new master is waited for until it has the old master's replication
   * offset, the group is removed from the sentinels, `addr` is promoted, the old master and the other
   * replicas are re-pointed at it, the proxies get the new table (unlocked), and the sentinels monitor
   * the new master. Any failure before the promotion rolls back (unlock, unpause).
   * (Longer than ~60 lines on purpose: the rollback depends on how far the steps got, which one
   * function with one try/catch keeps visible.)
   */
  promote(gid: number, addr: string): Promise<{ group: Group; offset: number; waited_ms: number }> {
    return this.h.exclusive(async () => {
      const g0 = this.h.groups().get(gid);
      if (!g0) throw notFound(`group ${gid} does not exist`);
      if (isPromoting(g0)) throw conflict(`group ${gid} is already promoting a server`);
      const idx = g0.servers.findIndex((s) => s.server === addr);
      if (idx < 0) throw notFound(`server ${addr} is not in group ${gid}`);
      if (idx === 0) throw conflict(`${addr} is already the master of group ${gid}`);
      const oldMaster = at(g0.servers, 0, `group ${gid} master`).server;
      const auth = this.h.config.productAuth;
      const t = this.h.config.sentinelClientTimeout;
      const setPromoting = async (state: string): Promise<void> => {
        const next = structuredClone(this.h.groups().get(gid)!);
        next.promoting = state ? { index: idx, state } : {};
        await this.h.store.writeGroup(next);
        this.h.setGroup(next);
      };
      const started = Date.now();
      await setPromoting('preparing');
      await setPromoting('prepared');
      let paused = false;
      const rollback = async (why: string): Promise<never> => {
        if (paused) await redisCall(oldMaster, t, ['CLIENT', 'UNPAUSE'], auth).catch(() => undefined);
        await setPromoting('');
        await this.h.pushAll();
        throw conflict(`promotion of ${addr} in group ${gid} rolled back: ${why}`);
      };
      const locked = await this.h.pushAll();
      if (locked.failed.length)
        return rollback(`${locked.failed.length} proxy(ies) did not take the lock: ${locked.failed.map((f) => f.error).join('; ')}`);
      let offset = 0;
      try {
        await redisCall(oldMaster, t, ['CLIENT', 'PAUSE', String(Math.max(10000, 3 * t)), 'WRITE'], auth);
        paused = true;
        offset = Number(parseInfo(String(await redisCall(oldMaster, t, ['INFO', 'replication'], auth))).master_repl_offset ?? 0);
      } catch (e) {
        return rollback(`cannot pause writes on the old master ${oldMaster}: ${(e as Error).message}`);
      }
      const deadline = Date.now() + 10000;
      for (;;) {
        let have = -1;
        try {
          have = Number(parseInfo(String(await redisCall(addr, t, ['INFO', 'replication'], auth))).master_repl_offset ?? -1);
        } catch {
          /* retry */
        }
        if (have >= offset) break;
        if (Date.now() > deadline)
          return rollback(`${addr} did not reach the master's replication offset ${offset} within 10 s (it has ${have})`);
        await sleep(20);
      }
      const waited = Date.now() - started;
      // From here on there is no way back: take the group out of sentinel, promote.
      await Promise.all(this.h.sentinel().servers.map((s) => removeGroup(s, this.h.config.productName, gid, t).catch(() => false)));
      await this.pointAt(addr, null);
      const next = structuredClone(this.h.groups().get(gid)!);
      const promoted = at(next.servers.splice(idx, 1), 0, `group ${gid} server ${addr}`);
      const old = next.servers.shift()!;
      next.servers = [promoted, ...next.servers, old];
      next.promoting = {};
      next.out_of_sync = false;
      await this.h.store.writeGroup(next);
      this.h.setGroup(next);
      // The old master: replica of the new one; its paused clients are dropped (their writes were
      // never acknowledged), then writes resume — and are refused, it is a replica now.
      try {
        await this.pointAt(old.server, addr);
        await redisCall(old.server, t, ['CLIENT', 'KILL', 'TYPE', 'normal'], auth).catch(() => undefined);
        await redisCall(old.server, t, ['CLIENT', 'UNPAUSE'], auth);
      } catch (e) {
        this.h.log.warn(
          { gid, addr: old.server, err: (e as Error).message },
          'could not re-point the old master; it stays paused until the pause ends',
        );
      }
      for (const s of next.servers.slice(1, -1))
        await this.pointAt(s.server, addr).catch((e: Error) =>
          this.h.log.warn({ gid, addr: s.server, err: e.message }, 'could not re-point a replica'),
        );
      const push = await this.h.pushAll();
      await this.h.markSync([gid], push);
      if (this.h.sentinel().servers.length) {
        await this.storeSentinel({ ...this.h.sentinel(), out_of_sync: true });
        await this.resyncInner().catch((e: Error) =>
          this.h.log.warn({ err: e.message }, 'sentinel resync after promote failed; will retry'),
        );
      }
      this.h.log.info({ gid, from: oldMaster, to: addr, offset, waited_ms: waited }, 'group master promoted (planned switchover)');
      return { group: structuredClone(this.h.groups().get(gid)!), offset, waited_ms: waited };
    });
  }
}
