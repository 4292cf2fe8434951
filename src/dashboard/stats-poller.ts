// The dashboard's background loop (Codis topom_stats.go + its auto re-online): every stats_period it
// reads INFO from every group server and stats from every proxy, keeps the last answers for the
// stats API, and re-pushes a proxy whose table is missing or stale (it restarted, its last push
// failed, or its table differs from the model's) — but never a proxy that is only ahead of the
// dashboard by a sentinel failover. After each round it sends the cluster façade proxies the list of
// live façade proxies (facade-peers.ts) and its client users to proxies that lack them (acl-push.ts).
import type { Logger } from '../util/log.js';
import type { Group } from '../models/group.js';
import type { ProxyModel } from '../models/proxy.js';
import type { Slot } from '../models/slot.js';
import type { DashboardConfig } from './config.js';
import { ProxyCallError, type ProxyClient } from './proxy-client.js';
import { RedisStatsPool, type ServerStats } from './redis-probe.js';
import { WriteSafety, needsSentinelCheck, type GroupWriteSafety, type ServerView, type WriteSafetyConfig } from './write-safety.js';
import { majoritySeesMaster } from './sentinel-reach.js';
import { differsOnlyInMaster, formatRanges, slotDifferences } from './slots-compute.js';
import { proxyFailureText, unixNow, type ProxySync, type RuntimeState } from './proxy-sync.js';
import { FacadePeers } from './facade-peers.js';
import { AclPush } from './acl-push.js';

/** What the loop reads from the Topom it serves. */
export interface StatsPollerHost {
  readonly config: DashboardConfig;
  readonly log: Logger;
  readonly sync: ProxySync;
  fenced(): boolean;
  groups(): ReadonlyMap<number, Group>;
  proxies(): Iterable<ProxyModel>;
  proxy(token: string): ProxyModel | undefined;
  computedSlots(): Slot[];
  /** True while a mutation runs (memory may be ahead of what the proxies were sent). */
  mutating(): boolean;
  /** Bumped whenever memory changes in a way that can change routing. */
  routingVersion(): number;
  /** The product's sentinels (write safety asks them whether they reach a master). */
  sentinelServers(): readonly string[];
  /** The sentinel watcher: asked to catch up before a differing table is re-pushed. */
  sentinelWatch(): { enabled: boolean; caughtUp: boolean; kick(why: string): Promise<void> };
  exclusive<T>(fn: () => Promise<T>): Promise<T>;
}

export class StatsPoller {
  private readonly serverStats = new Map<string, ServerStats>();
  private readonly pool: RedisStatsPool;
  private timer: NodeJS.Timeout | null = null;
  private round: Promise<void> | null = null;
  private stopped = false;
  /** Keeps min-replicas-to-write / -max-lag on the group servers (write-safety.ts). */
  private readonly writeSafety: WriteSafety;
  private readonly writeSafetyConfig: WriteSafetyConfig;
  /** The live proxies pushed to the cluster façade proxies after every round. */
  private readonly facade: FacadePeers;
  /** The dashboard's client users (acl_users) pushed to proxies that lack them, after every round. */
  private readonly acl: AclPush;

  constructor(private readonly h: StatsPollerHost) {
    this.facade = new FacadePeers({
      log: h.log,
      proxies: () => h.proxies(),
      state: (t) => h.sync.state(t),
      client: (p) => h.sync.client(p),
    });
    this.acl = new AclPush(
      { log: h.log, proxies: () => h.proxies(), state: (t) => h.sync.state(t), client: (p) => h.sync.client(p) },
      h.config.aclLines,
    );
    this.pool = new RedisStatsPool(h.config.productAuth, h.config.statsTimeout);
    this.writeSafetyConfig = {
      minReplicasToWrite: h.config.groupMinReplicasToWrite,
      minReplicasMaxLagMs: h.config.groupMinReplicasMaxLag,
    };
    this.writeSafety = new WriteSafety(this.writeSafetyConfig);
  }

  serverStatsOf(addr: string): ServerStats | undefined {
    return this.serverStats.get(addr);
  }

  /** Polls now and then every stats_period until stopped. */
  start(): void {
    const tick = (): void => {
      if (this.stopped || this.h.fenced()) return;
      this.round = this.pollOnce().catch((e: Error) => {
        this.h.log.warn({ err: e.message }, 'stats poll failed');
      });
      void this.round.then(() => {
        if (!this.stopped && !this.h.fenced()) this.timer = setTimeout(tick, this.h.config.statsPeriod);
      });
    };
    tick();
  }

  /** Stops the timer and closes the connections; `done()` waits for the running round. */
  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.pool.close();
  }

  async done(): Promise<void> {
    await this.round;
    this.pool.close();
  }

  /** One round: INFO of every server, stats of every proxy; re-push proxies whose table is missing or stale. */
  async pollOnce(): Promise<void> {
    if (this.h.fenced()) return;
    const addrs = new Set<string>();
    const groupOf = new Map<string, Group>();
    for (const g of this.h.groups().values())
      for (const s of g.servers) {
        addrs.add(s.server);
        groupOf.set(s.server, g);
      }
    this.pool.retain(addrs);
    this.writeSafety.retain(addrs, new Set(this.h.groups().keys()));
    for (const a of [...this.serverStats.keys()]) if (!addrs.has(a)) this.serverStats.delete(a);
    await Promise.all([
      ...[...addrs].map(async (a) => {
        const st = await this.pool.poll(a);
        if (this.h.fenced()) return;
        this.serverStats.set(a, st);
        const g = groupOf.get(a);
        if (g && !st.error) await this.applyWriteSafety(a, st, g);
      }),
      ...[...this.h.proxies()].map((p) => this.pollProxy(p)),
    ]);
    if (!this.h.fenced()) await Promise.all([this.facade.sync(), this.acl.sync()]);
  }

  /** Keeps min-replicas-to-write / -max-lag on one server; says so loudly when a group's master is left alone. */
  private async applyWriteSafety(a: string, st: ServerStats, g: Group): Promise<void> {
    const lags = st.stats.online_replica_lags;
    const view: ServerView = {
      role: st.stats.role ?? '',
      onlineReplicas: Number(st.stats.online_replicas ?? 0),
      ...(lags !== undefined ? { replicaLags: lags === '' ? [] : lags.split(',').map(Number) } : {}),
    };
    try {
      if (needsSentinelCheck(this.writeSafetyConfig, g, a, view)) {
        const timeout = Math.min(this.h.config.sentinelClientTimeout, 1000);
        view.majoritySeesMaster = await majoritySeesMaster(this.h.sentinelServers(), this.h.config.productName, g.id, a, timeout);
      }
      const { set, transition: t } = await this.writeSafety.ensure(a, st.stats.run_id, g, view, (...args) => this.pool.command(a, ...args));
      if (this.h.fenced()) return;
      if (set)
        this.h.log.info(
          { server: a, group: g.id, role: view.role, online_replicas: view.onlineReplicas },
          'min-replicas-to-write / min-replicas-max-lag applied',
        );
      if (t?.kind === 'degraded')
        this.h.log.warn(
          {
            group: t.gid,
            master: t.state.master,
            online_replicas: t.state.online_replicas,
            wanted: t.state.wanted,
            applied: t.state.applied,
          },
          'write safety degraded: too few replicas follow the group master, min-replicas-to-write lowered so it keeps taking writes; a partition of this master now loses every write it acknowledges until a replica is back',
        );
      else if (t?.kind === 'restored')
        this.h.log.info(
          { group: t.gid, master: t.state.master, online_replicas: t.state.online_replicas, applied: t.state.applied },
          'write safety restored: min-replicas-to-write set back on the group master',
        );
    } catch (e) {
      this.h.log.warn({ server: a, err: (e as Error).message }, 'cannot set min-replicas-to-write on a group server');
    }
  }

  /** Write safety per group (stats API) and how many groups run degraded (/metrics). */
  writeSafetyStats(): { groups: Record<string, GroupWriteSafety>; degraded: number } {
    return { groups: this.writeSafety.groupStates(), degraded: this.writeSafety.degradedCount() };
  }

  private async pollProxy(p: ProxyModel): Promise<void> {
    const r = this.h.sync.state(p.token);
    const c = this.h.sync.client(p, this.h.config.statsTimeout);
    let why: string | null;
    try {
      why = await this.readStats(p, c, r);
    } catch (e) {
      const msg = proxyFailureText(p, e, 'stats');
      if (!r.error) this.h.log.warn({ proxy: p.token, admin: p.admin_addr, err: msg }, 'proxy stopped answering stats polls');
      Object.assign(r, {
        error: msg,
        timeout: e instanceof ProxyCallError && e.kind === 'timeout' ? true : undefined,
        unixtime: unixNow(),
      });
      r.needs_resync = true;
      return;
    }
    // Until the sentinels were asked once, the table may name a master that failed over meanwhile.
    if (why) await this.repush(p, r, why);
  }

  /** Reads a proxy's stats into `r`; returns why its table must be pushed again, or null. */
  private async readStats(p: ProxyModel, c: ProxyClient, r: RuntimeState): Promise<string | null> {
    const st = await c.stats();
    if (r.error) this.h.log.info({ proxy: p.token, admin: p.admin_addr }, 'proxy answers again');
    const t = Date.now(),
      total = st.ops?.total;
    if (typeof total === 'number' && r.opsAt !== undefined && r.opsTotal !== undefined && t > r.opsAt) {
      r.ops_per_sec = Math.max(0, Math.round(((total - r.opsTotal) * 1000) / (t - r.opsAt)));
    }
    r.opsAt = t;
    r.opsTotal = total;
    // Codis's ops.qps (codis-fe sums it): a proxy that does not report it gets the rate measured here.
    if (st.ops && typeof st.ops.qps !== 'number') st.ops.qps = r.ops_per_sec ?? 0;
    Object.assign(r, { stats: st, error: undefined, timeout: undefined, unixtime: unixNow() });
    if (st.online === false) return 'it answers but is not online';
    if (r.needs_resync) return 'its last push failed';
    if (this.h.mutating() || Date.now() - r.lastSlotCheck < Math.max(3 * this.h.config.statsPeriod, 1000)) return null;
    return this.checkTable(c, r);
  }

  /** Compares the proxy's table with the model's, only against a settled state (no mutation ran meanwhile). */
  private async checkTable(c: ProxyClient, r: RuntimeState): Promise<string | null> {
    const v0 = this.h.routingVersion();
    const actual = await c.slots();
    if (this.h.mutating() || v0 !== this.h.routingVersion()) return null;
    r.lastSlotCheck = Date.now();
    const expected = this.h.computedSlots();
    const diff = slotDifferences(expected, actual);
    if (diff.length === 0) return null;
    const why = `its slot table differs in ${diff.length} slot(s) (${formatRanges(diff).slice(0, 60)})`;
    const watch = this.h.sentinelWatch();
    if (!watch.enabled) return why;
    // The proxy may have followed a sentinel failover before us: catch up first, then compare again.
    const v1 = this.h.routingVersion();
    await watch.kick('a proxy table differs');
    if (this.h.routingVersion() !== v1 || this.h.mutating()) return null;
    // Still ahead of us (our sentinel view lags): pushing our table would send its writes back to the
    // old master. Our watcher catches up by itself; then the tables agree.
    const serversOf = (gid: number): string[] =>
      this.h
        .groups()
        .get(gid)
        ?.servers.map((x) => x.server) ?? [];
    const onlyMaster = diff.every((sid) => {
      const e = expected[sid];
      return (
        e !== undefined &&
        differsOnlyInMaster(
          e,
          actual.find((a) => a.id === sid),
          serversOf,
        )
      );
    });
    return onlyMaster ? null : why;
  }

  private async repush(p: ProxyModel, r: RuntimeState, why: string): Promise<void> {
    if (r.repushing || this.h.fenced() || !this.h.sentinelWatch().caughtUp) return;
    r.repushing = true;
    try {
      await this.h.exclusive(async () => {
        const cur = this.h.proxy(p.token);
        if (!cur) return;
        this.h.log.info({ proxy: cur.token, admin: cur.admin_addr, why }, 'pushing the full slot table again (re-online)');
        this.facade.forget(cur.token);
        await this.h.sync.pushOne(cur, this.h.computedSlots(), true);
      });
    } catch {
      /* fenced, or reported in last_push */
    } finally {
      r.repushing = false;
    }
  }
}
