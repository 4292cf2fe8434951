// The dashboard's model of one product ("topom", as in Codis): groups and their servers, proxies,
// the slot → group mapping and the sentinel record, loaded from the coordinator and written through
// to it, and the operations on them. Every mutation runs alone (one queue), checks Codis's safety
// rules first, persists, then has proxy-sync.ts push the resulting slot tables to every proxy and
// reports the proxies that did not acknowledge. The background stats loop is stats-poller.ts; slot
// migrations are slot-actions.ts; sentinels and failovers are sentinel-ha.ts.
// Once fenced (the product lock was lost, or the dashboard is closing) nothing is written or pushed.
import type { Logger } from '../util/log.js';
import { isStoreError } from '../coordinator/index.js';
import { isPromoting, isValidGroupId, MAX_GROUP_ID, MIN_GROUP_ID, newGroup, newGroupServer, type Group } from '../models/group.js';
import { hasAction, parseSlotMapping, type SlotMapping } from '../models/slot-mapping.js';
import type { SentinelModel } from '../models/sentinel.js';
import type { ProxyModel } from '../models/proxy.js';
import type { TopomModel } from '../models/topom.js';
import type { Slot } from '../models/slot.js';
import type { DashboardConfig } from './config.js';
import { ProductStore, type ProductSnapshot } from './store-models.js';
import { ProxyCallError, fetchProxyModel } from './proxy-client.js';
import { computeSlots, evenMappings, formatRanges, slotCounts } from './slots-compute.js';
import { infoFull, probeRedis, type ServerStats } from './redis-probe.js';
import { DashboardError, badGateway, badRequest, conflict, notFound, unavailable } from './errors.js';
import { SlotActions } from './slot-actions.js';
import { SentinelHa } from './sentinel-ha.js';
import { ProxySync, proxyFailureText, type ProxyRuntime } from './proxy-sync.js';
import { StatsPoller } from './stats-poller.js';
import { checkAddr, parseSlotId, reachableAdminAddr } from './input.js';
import type { PushReport } from './push-report.js';
import { at } from '../util/at.js';

export type { PushReport, PushFailure } from './push-report.js';
export type { ProxyRuntime } from './proxy-sync.js';
export { parseGroupId, parseSlotId } from './input.js';

export class Topom {
  private slots: SlotMapping[];
  private groups: Map<number, Group>;
  private proxies: Map<string, ProxyModel>;
  private sentinel: SentinelModel;
  private fencedReason: string | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  /** Pushes to the proxies and what is known about each of them (proxy-sync.ts). */
  private readonly sync: ProxySync;
  /** Server and proxy stats, re-online of stale proxies (stats-poller.ts). */
  private readonly poller: StatsPoller;
  /** True while a mutation runs (memory may be ahead of what the proxies were sent). */
  private mutating = false;
  /** Bumped whenever memory changes in a way that can change routing. */
  private routingVersion = 0;
  readonly startedAt = Date.now();
  /** Slot migration queue, state machine and executor (slot-actions.ts). */
  readonly actions: SlotActions;
  /** Sentinels, failover following, sync actions and promotion (sentinel-ha.ts). */
  readonly ha: SentinelHa;

  private constructor(
    readonly config: DashboardConfig,
    readonly store: ProductStore,
    readonly model: TopomModel,
    readonly log: Logger,
    snap: ProductSnapshot,
  ) {
    this.slots = snap.slots;
    this.groups = snap.groups;
    this.proxies = snap.proxies;
    this.sentinel = snap.sentinel;
    store.beforeWrite = () => this.assertActive();
    this.sync = new ProxySync({
      config,
      log,
      assertActive: () => this.assertActive(),
      proxies: () => this.proxies.values(),
      groups: () => this.groups,
      sentinel: () => this.sentinel,
      computedSlots: () => this.computedSlots(),
    });
    this.actions = this.newSlotActions();
    this.ha = this.newSentinelHa();
    this.poller = new StatsPoller({
      config,
      log,
      sync: this.sync,
      fenced: () => this.fenced,
      groups: () => this.groups,
      proxies: () => this.proxies.values(),
      proxy: (token) => this.proxies.get(token),
      computedSlots: () => this.computedSlots(),
      mutating: () => this.mutating,
      routingVersion: () => this.routingVersion,
      sentinelServers: () => this.sentinel.servers,
      sentinelWatch: () => ({ enabled: this.ha.watcher.enabled, caughtUp: this.ha.caughtUp, kick: (why) => this.ha.watcher.kick(why) }),
      exclusive: (fn) => this.exclusive(fn),
    });
  }

  private newSlotActions(): SlotActions {
    const { config, log } = this;
    return new SlotActions({
      config,
      log,
      exclusive: (fn) => this.exclusive(fn),
      mappings: () => this.slots,
      groups: () => this.groups,
      writeSlots: async (ms) => {
        await this.store.writeSlots(ms);
        this.setSlots(ms);
      },
      setSlots: (ms) => this.setSlots(ms),
      pushAll: () => this.sync.pushAll(),
      removeProxy: async (token, why) => {
        const p = this.proxies.get(token);
        if (!p) return;
        await this.store.deleteProxy(token);
        this.proxies.delete(token);
        this.sync.forget(token);
        this.log.warn({ id: p.id, token, admin: p.admin_addr, why }, 'proxy fenced out: removed from the product');
      },
      isFenced: () => this.fenced,
      clientOpsPerSec: () => {
        // Only fresh rates count (a proxy that stopped answering is not traffic).
        const fresh = Date.now() - 3 * Math.max(1000, this.config.statsPeriod);
        let sum = 0;
        for (const r of this.sync.allStates()) if (!r.error && (r.opsAt ?? 0) >= fresh) sum += r.ops_per_sec ?? 0;
        return sum;
      },
    });
  }

  private newSentinelHa(): SentinelHa {
    const { config, log, store } = this;
    return new SentinelHa({
      config,
      log,
      store,
      fenced: () => this.fenced,
      groups: () => this.groups,
      setGroup: (g) => {
        this.groups.set(g.id, g);
        this.routingVersion++;
      },
      sentinel: () => this.sentinel,
      setSentinel: (x) => {
        this.sentinel = x;
      },
      exclusive: (fn) => this.exclusive(fn),
      pushAll: () => this.sync.pushAll(),
      markSync: (gids, report) => this.markSync(gids, report),
      proxies: () => [...this.proxies.values()],
      proxyClient: (p) => this.sync.client(p),
      serverStats: (a) => this.poller.serverStatsOf(a),
    });
  }

  /** Loads the product's metadata from the store. */
  static async load(config: DashboardConfig, store: ProductStore, model: TopomModel, log: Logger): Promise<Topom> {
    const snap = await store.loadAll();
    const t = new Topom(config, store, model, log, snap);
    log.info(
      { groups: snap.groups.size, proxies: snap.proxies.size, assigned: snap.slots.filter((s) => s.group_id).length },
      'metadata loaded from the coordinator',
    );
    return t;
  }

  // ---- lifecycle ----------------------------------------------------------------------------------

  get fenced(): boolean {
    return this.fencedReason !== null;
  }

  /** Stops acting at once: no more writes, pushes or polls. */
  fence(reason: string): void {
    if (this.fencedReason) return;
    this.fencedReason = reason;
    void this.actions.stop();
    this.ha.stop();
    this.poller.stop();
  }

  private setSlots(ms: readonly SlotMapping[]): void {
    for (const m of ms) this.slots[m.id] = { id: m.id, group_id: m.group_id, action: { ...m.action } };
  }

  assertActive(): void {
    if (this.fencedReason) throw unavailable(`this dashboard is no longer active (${this.fencedReason}); nothing was changed`);
  }

  startPolling(): void {
    this.actions.start();
    void this.ha.start().catch((e: Error) => this.log.warn({ err: e.message }, 'sentinel watcher start failed'));
    this.poller.start();
  }

  /** One stats round now (tests and the CLI's fresh reads). */
  pollOnce(): Promise<void> {
    return this.poller.pollOnce();
  }

  /** Fences and waits for running operations and the current poll to end. */
  async close(reason = 'closed'): Promise<void> {
    this.fence(reason);
    await Promise.allSettled([this.queue, this.poller.done(), this.actions.stop()]);
  }

  /** Runs `fn` after every earlier mutation finished. */
  private exclusive<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.queue.then(async () => {
      this.assertActive();
      this.mutating = true;
      try {
        return await fn();
      } catch (e) {
        if (isStoreError(e)) {
          // Memory may be ahead of the store now: re-read what was persisted.
          this.log.error({ err: e.message }, 'coordinator write failed; reloading metadata');
          try {
            await this.reloadNow();
          } catch {
            /* keep what we have */
          }
          throw new DashboardError(503, `coordinator error: ${e.message}`, { cause: e });
        }
        throw e;
      } finally {
        this.mutating = false;
        this.routingVersion++;
      }
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  // ---- views --------------------------------------------------------------------------------------

  slotMappings(): SlotMapping[] {
    return this.slots.map((m) => ({ ...m, action: { ...m.action } }));
  }
  groupList(): Group[] {
    return [...this.groups.values()].sort((a, b) => a.id - b.id).map((g) => structuredClone(g));
  }
  proxyList(): ProxyModel[] {
    return [...this.proxies.values()].sort((a, b) => a.id - b.id).map((p) => ({ ...p }));
  }
  sentinelModel(): SentinelModel {
    return structuredClone(this.sentinel);
  }

  /** The table every proxy gets (no per-proxy context yet: replica groups are empty). */
  computedSlots(): Slot[] {
    return computeSlots(this.slots, this.groups);
  }

  serverStatsOf(addr: string): ServerStats | undefined {
    return this.poller.serverStatsOf(addr);
  }

  proxyRuntime(token: string): ProxyRuntime | undefined {
    return this.sync.publicState(token);
  }

  /** Codis's Stats, plus slot counts per group. */
  stats(): Record<string, unknown> {
    const serverStats: Record<string, ServerStats> = {};
    for (const g of this.groups.values())
      for (const s of g.servers) {
        const st = this.poller.serverStatsOf(s.server);
        if (st) serverStats[s.server] = st;
      }
    const proxyStats: Record<string, ProxyRuntime> = {};
    for (const p of this.proxies.values()) {
      const r = this.proxyRuntime(p.token);
      if (r) proxyStats[p.token] = r;
    }
    return {
      closed: this.fenced,
      slots: this.slotMappings(),
      slot_counts: slotCounts(this.slots),
      group: { models: this.groupList(), stats: serverStats },
      proxy: { models: this.proxyList(), stats: proxyStats },
      slot_action: this.actions.statsSection(),
      sentinels: this.ha.stats(),
      write_safety: this.poller.writeSafetyStats(),
    };
  }

  /** Numbers for /metrics. */
  counters(): {
    groups: number;
    servers: number;
    serversUp: number;
    proxies: number;
    proxiesUp: number;
    slotsAssigned: number;
    writeSafetyDegraded: number;
  } {
    let servers = 0,
      serversUp = 0,
      proxiesUp = 0;
    for (const g of this.groups.values())
      for (const s of g.servers) {
        servers++;
        const st = this.poller.serverStatsOf(s.server);
        if (st && !st.error) serversUp++;
      }
    for (const p of this.proxies.values()) {
      const r = this.sync.publicState(p.token);
      if (r?.stats && !r.error) proxiesUp++;
    }
    return {
      groups: this.groups.size,
      servers,
      serversUp,
      proxies: this.proxies.size,
      proxiesUp,
      slotsAssigned: this.slots.filter((s) => s.group_id !== 0).length,
      writeSafetyDegraded: this.poller.writeSafetyStats().degraded,
    };
  }

  private getGroup(gid: number): Group {
    const g = this.groups.get(gid);
    if (!g) throw notFound(`group ${gid} does not exist`);
    return g;
  }

  /** Slots that route to `gid` now or will after their migration. */
  private slotsUsing(gid: number): number[] {
    return this.slots.filter((m) => m.group_id === gid || m.action.target_id === gid).map((m) => m.id);
  }

  private groupOfServer(addr: string): Group | undefined {
    for (const g of this.groups.values()) if (g.servers.some((s) => s.server === addr)) return g;
    return undefined;
  }

  /** Every INFO field of a server of some group (Codis's group/info; other addresses are refused). */
  async serverInfo(addr: string): Promise<Record<string, string>> {
    checkAddr(addr, 'server address');
    if (!this.groupOfServer(addr)) throw notFound(`server ${addr} is not in any group`);
    try {
      return await infoFull(addr, this.config.productAuth, this.config.statsTimeout);
    } catch (e) {
      throw badGateway((e as Error).message, e);
    }
  }

  /** A proxy by token, id, admin address or proxy address. */
  lookupProxy(ref: string): ProxyModel {
    const byToken = this.proxies.get(ref);
    if (byToken) return byToken;
    for (const p of this.proxies.values()) {
      if ((/^\d+$/.test(ref) && p.id === Number(ref)) || p.admin_addr === ref || p.proxy_addr === ref) return p;
    }
    throw notFound(`no proxy with token, id or address "${ref}"`);
  }

  // ---- sync state ---------------------------------------------------------------------------------

  /** After a push: a group is out of sync while some proxy may route it by an old table. */
  private async markSync(gids: Iterable<number>, report: PushReport): Promise<void> {
    const out = report.failed.length > 0;
    for (const gid of new Set(gids)) {
      const g = this.groups.get(gid);
      if (!g || g.out_of_sync === out) continue;
      const next = { ...structuredClone(g), out_of_sync: out };
      await this.store.writeGroup(next);
      this.groups.set(gid, next);
    }
  }

  private async markSentinelOutOfSync(): Promise<void> {
    if (this.sentinel.servers.length === 0 || this.sentinel.out_of_sync) return;
    const next = { ...this.sentinel, out_of_sync: true };
    await this.store.writeSentinel(next);
    this.sentinel = next;
  }

  // ---- groups and servers -------------------------------------------------------------------------

  createGroup(gid: number): Promise<{ group: Group }> {
    return this.exclusive(async () => {
      if (this.groups.has(gid)) throw conflict(`group ${gid} already exists`);
      const g = newGroup(gid);
      await this.store.writeGroup(g);
      this.groups.set(gid, g);
      this.log.info({ gid }, 'group created');
      return { group: structuredClone(g) };
    });
  }

  removeGroup(gid: number): Promise<Record<string, never>> {
    return this.exclusive(async () => {
      const g = this.getGroup(gid);
      if (g.servers.length > 0) {
        throw conflict(
          `group ${gid} still has ${g.servers.length} server(s) (${g.servers.map((s) => s.server).join(', ')}); remove them first`,
        );
      }
      const used = this.slotsUsing(gid);
      if (used.length)
        throw conflict(`group ${gid} still owns ${used.length} slots (${formatRanges(used)}); move them before removing the group`);
      await this.store.deleteGroup(gid);
      this.groups.delete(gid);
      this.log.info({ gid }, 'group removed');
      return {};
    });
  }

  addServer(
    gid: number,
    addr: string,
    datacenter = '',
  ): Promise<{ group: Group; role: 'master' | 'replica'; redis_version: string; push?: PushReport }> {
    checkAddr(addr, 'server address');
    return this.exclusive(async () => {
      const g = this.getGroup(gid);
      if (isPromoting(g)) throw conflict(`group ${gid} is promoting a server; wait until it finished`);
      const other = this.groupOfServer(addr);
      if (other) throw conflict(`server ${addr} is already in group ${other.id}; a server can belong to one group only`);
      let info: Record<string, string>;
      try {
        info = await probeRedis(addr, this.config.productAuth, this.config.proxyPushTimeout);
      } catch (e) {
        throw badGateway(`cannot add ${addr} to group ${gid}: ${(e as Error).message}`, e);
      }
      this.assertActive();
      const next = structuredClone(g);
      next.servers.push(newGroupServer(addr, datacenter));
      await this.store.writeGroup(next);
      this.groups.set(gid, next);
      await this.markSentinelOutOfSync();
      const role = next.servers.length === 1 ? 'master' : 'replica';
      this.log.info({ gid, addr, role }, 'server added');
      let push: PushReport | undefined;
      if (role === 'master' && this.slotsUsing(gid).length > 0) {
        push = await this.sync.pushAll();
        await this.markSync([gid], push);
      }
      return { group: structuredClone(this.getGroup(gid)), role, redis_version: info.redis_version ?? '', push };
    });
  }

  delServer(gid: number, addr: string): Promise<{ group: Group }> {
    return this.exclusive(async () => {
      const g = this.getGroup(gid);
      const index = g.servers.findIndex((s) => s.server === addr);
      if (index < 0) {
        const other = this.groupOfServer(addr);
        throw notFound(`server ${addr} is not in group ${gid}${other ? ` (it is in group ${other.id})` : ''}`);
      }
      if (isPromoting(g)) throw conflict(`group ${gid} is promoting a server; wait until it finished`);
      if (index === 0) {
        if (g.servers.length > 1) {
          throw conflict(
            `${addr} is the master of group ${gid}, which still has ${g.servers.length - 1} replica(s) (${g.servers
              .slice(1)
              .map((s) => s.server)
              .join(', ')}); remove the replicas first`,
          );
        }
        const used = this.slotsUsing(gid);
        if (used.length)
          throw conflict(
            `group ${gid} still owns ${used.length} slots (${formatRanges(used)}); move them before removing the master ${addr}`,
          );
      }
      const next = structuredClone(g);
      if (next.servers[index]?.replica_group) next.out_of_sync = true;
      next.servers.splice(index, 1);
      await this.store.writeGroup(next);
      this.groups.set(gid, next);
      await this.markSentinelOutOfSync();
      this.log.info({ gid, addr }, 'server removed');
      return { group: structuredClone(next) };
    });
  }

  /** Re-pushes the tables to every proxy and clears out_of_sync on `gid` (or all groups) if all acknowledged. */
  resync(gid?: number): Promise<{ push: PushReport }> {
    return this.exclusive(async () => {
      if (gid !== undefined) this.getGroup(gid);
      const push = await this.sync.pushAll();
      await this.markSync(gid !== undefined ? [gid] : this.groups.keys(), push);
      return { push };
    });
  }

  // ---- slots --------------------------------------------------------------------------------------

  /**
   * Remaps slots to groups without moving data (Codis SlotsAssignGroup). Group 0 = offline. Refused
   * for slots with a migration action, and for groups that do not exist, have no master or are promoting.
   */
  assignSlots(input: unknown): Promise<{ changed: number; push?: PushReport }> {
    if (!Array.isArray(input)) throw badRequest('body must be a JSON array of slot mappings [{"id": 0, "group_id": 1}, ...]');
    const wanted: SlotMapping[] = [];
    const seen = new Set<number>();
    input.forEach((raw, i) => {
      let m: SlotMapping;
      try {
        m = parseSlotMapping(raw, `entry ${i}`);
      } catch (e) {
        throw badRequest((e as Error).message);
      }
      if (hasAction(m)) throw badRequest(`slot ${m.id}: an assignment cannot carry an action (action.state "${m.action.state}")`);
      if (seen.has(m.id)) throw badRequest(`slot ${m.id} appears twice`);
      if (m.group_id !== 0 && !isValidGroupId(m.group_id))
        throw badRequest(`slot ${m.id}: group_id must be 0 (offline) or ${MIN_GROUP_ID}..${MAX_GROUP_ID}`);
      seen.add(m.id);
      wanted.push({ id: m.id, group_id: m.group_id, action: {} });
    });
    return this.exclusive(() => this.assignNow(wanted));
  }

  private async assignNow(wanted: SlotMapping[]): Promise<{ changed: number; push?: PushReport }> {
    for (const gid of new Set(wanted.map((m) => m.group_id))) {
      if (gid === 0) continue;
      const g = this.groups.get(gid);
      if (!g) throw notFound(`group ${gid} does not exist; create it and add a server first`);
      if (g.servers.length === 0) throw conflict(`group ${gid} has no master; add a server to it before assigning slots`);
      if (isPromoting(g)) throw conflict(`group ${gid} is promoting a server; wait until it finished`);
    }
    const slot = (id: number): SlotMapping => at(this.slots, id, 'slot');
    const busy = wanted.filter((m) => hasAction(slot(m.id))).map((m) => m.id);
    if (busy.length) {
      const first = slot(at(busy, 0, 'busy slot'));
      throw conflict(
        `${busy.length} slot(s) have a migration action (${formatRanges(busy)}; slot ${first.id} is ${first.action.state} → group ${first.action.target_id ?? 0}); wait for it to finish or cancel it first`,
      );
    }
    const changes = wanted.filter((m) => slot(m.id).group_id !== m.group_id);
    if (changes.length === 0) return { changed: 0 };
    const affected = new Set<number>();
    for (const m of changes) {
      affected.add(m.group_id);
      affected.add(slot(m.id).group_id);
    }
    affected.delete(0);
    await this.store.writeSlots(changes);
    this.setSlots(changes.map((m) => ({ ...m, action: {} })));
    this.log.info({ changed: changes.length, groups: [...affected] }, 'slots assigned');
    const push = await this.sync.pushAll();
    await this.markSync(affected, push);
    return { changed: changes.length, push };
  }

  /** Slots beg..end (inclusive) → gid (0 = offline). */
  assignRange(beg: number, end: number, gid: number): Promise<{ changed: number; push?: PushReport }> {
    if (beg > end) throw badRequest(`range ${beg}-${end} is empty: the first slot must not be after the last`);
    const list = [];
    for (let id = beg; id <= end; id++) list.push({ id, group_id: gid });
    return this.assignSlots(list);
  }

  /** Slots → offline (group 0). Accepts ids or SlotMappings. */
  assignOffline(input: unknown): Promise<{ changed: number; push?: PushReport }> {
    if (!Array.isArray(input)) throw badRequest('body must be a JSON array of slot ids or slot mappings');
    return this.assignSlots(
      input.map((x, i) => {
        if (typeof x === 'number') return { id: parseSlotId(x), group_id: 0 };
        if (typeof x === 'object' && x !== null && 'id' in x) return { id: (x as { id: unknown }).id, group_id: 0 };
        throw badRequest(`entry ${i}: expected a slot id or {"id": N}`);
      }),
    );
  }

  /** Spreads all 1024 slots evenly (contiguous ranges) over the groups that have a master. */
  initEven(force: boolean): Promise<{ changed: number; groups: number[]; push?: PushReport }> {
    return this.exclusive(async () => {
      const gids = [...this.groups.values()]
        .filter((g) => g.servers.length > 0 && !isPromoting(g))
        .map((g) => g.id)
        .sort((a, b) => a - b);
      if (gids.length === 0) throw conflict('no group has a server; create a group and add a server to it first');
      const assigned = this.slots.filter((m) => m.group_id !== 0).length;
      if (assigned > 0 && !force) {
        throw conflict(
          `${assigned} slots are already assigned; init-even is for an empty layout. Use force to reassign them without moving data (keys in slots that change group become unreachable), or migrate instead`,
        );
      }
      const r = await this.assignNow(evenMappings(gids));
      return { ...r, groups: gids };
    });
  }

  // ---- proxies ------------------------------------------------------------------------------------

  /**
   * Registers the proxy whose admin API is at `addr` (Codis CreateProxy / OnlineProxy): fetch its
   * model, check product and xauth, store it (a new id = max+1, or the existing id), then push the
   * full slot table and start it. `mode: 'create'` fails if the proxy is already registered.
   */
  onlineProxy(addr: string, mode: 'create' | 'online'): Promise<{ proxy: ProxyModel; push: PushReport }> {
    checkAddr(addr, 'proxy admin address');
    return this.exclusive(async () => {
      const p = await this.checkedProxyModel(addr);
      const existing = this.proxies.get(p.token);
      if (existing && mode === 'create')
        throw conflict(`proxy ${existing.id} (token ${p.token}) is already registered; use online or reinit`);
      // A record with the same admin address but another token is a previous incarnation of this proxy.
      const stale = [...this.proxies.values()].filter((o) => o.token !== p.token && o.admin_addr === p.admin_addr);
      const maxId = Math.max(0, ...[...this.proxies.values()].map((o) => o.id));
      p.id = existing?.id ?? stale[0]?.id ?? maxId + 1;
      for (const o of stale) {
        await this.store.deleteProxy(o.token);
        this.proxies.delete(o.token);
        this.sync.forget(o.token);
        this.log.info(
          { old: o.token, token: p.token, admin: p.admin_addr },
          'replaced the record of a previous proxy at the same admin address',
        );
      }
      await this.store.writeProxy(p);
      this.proxies.set(p.token, p);
      this.log.info(
        { id: p.id, token: p.token, admin: p.admin_addr, proxy: p.proxy_addr },
        existing ? 'proxy online again' : 'proxy registered',
      );
      const push = await this.sync.pushReportOne(p, true);
      const err = push.failed[0]?.error;
      if (err !== undefined)
        throw badGateway(`proxy ${p.id} is registered but could not be initialised: ${err}; it will be retried automatically`);
      return { proxy: { ...p }, push };
    });
  }

  /** The model of the proxy at `addr`, checked: same product, and it accepts this dashboard's xauth. */
  private async checkedProxyModel(addr: string): Promise<ProxyModel> {
    let model: ProxyModel;
    try {
      model = await fetchProxyModel(addr, this.config.proxyPushTimeout);
    } catch (e) {
      throw badGateway(`cannot read the proxy model at ${addr}: ${(e as Error).message}`, e);
    }
    if (typeof model?.token !== 'string' || !model.token) throw badGateway(`${addr} did not answer with a proxy model (no token)`);
    if (model.product_name !== this.config.productName) {
      throw conflict(`proxy at ${addr} belongs to product "${model.product_name}", this dashboard manages "${this.config.productName}"`);
    }
    const p: ProxyModel = { ...model, admin_addr: reachableAdminAddr(model.admin_addr, addr) };
    try {
      await this.sync.client(p).xping();
    } catch (e) {
      if (e instanceof ProxyCallError && e.kind === 'rejected') {
        throw conflict(`proxy at ${addr} rejected the dashboard's xauth: its product_auth differs from this dashboard's (${e.message})`);
      }
      throw badGateway(proxyFailureText(p, e, 'xping'), e);
    }
    return p;
  }

  /** Pushes the full table to one proxy (or all) and starts it (Codis ReinitProxy). */
  reinitProxy(ref: string | null): Promise<{ push: PushReport }> {
    return this.exclusive(async () => {
      if (ref === null) {
        const push = await this.sync.pushAll(true);
        return { push };
      }
      const p = this.lookupProxy(ref);
      const push = await this.sync.pushReportOne(p, true);
      const err = push.failed[0]?.error;
      if (err !== undefined) throw badGateway(err);
      return { push };
    });
  }

  /** Shuts the proxy down and deletes its record; with `force`, a proxy that cannot be shut down is removed anyway. */
  removeProxy(ref: string, force: boolean): Promise<{ proxy: ProxyModel; shutdown: string }> {
    return this.exclusive(async () => {
      const p = this.lookupProxy(ref);
      let shutdown = 'ok';
      try {
        this.assertActive();
        await this.sync.client(p).shutdown();
      } catch (e) {
        const msg = e instanceof DashboardError ? e.message : proxyFailureText(p, e, 'shutdown');
        if (!force) throw badGateway(`${msg}; it was not removed. Use force to remove it anyway`, e);
        shutdown = `failed (ignored with force): ${msg}`;
        this.log.warn({ proxy: p.token, err: msg }, 'proxy shutdown failed; removing it anyway (force)');
      }
      await this.store.deleteProxy(p.token);
      this.proxies.delete(p.token);
      this.sync.forget(p.token);
      this.log.info({ id: p.id, token: p.token, admin: p.admin_addr, force }, 'proxy removed');
      return { proxy: { ...p }, shutdown };
    });
  }

  // ---- reload -------------------------------------------------------------------------------------

  private async reloadNow(): Promise<void> {
    const snap = await this.store.loadAll();
    this.slots = snap.slots;
    this.groups = snap.groups;
    this.proxies = snap.proxies;
    this.sentinel = snap.sentinel;
    this.sync.retain(new Set(this.proxies.keys())); // and re-verify every proxy's table
  }

  /** Drops the cached state and reads everything from the store again (after external edits). */
  reload(): Promise<{ groups: number; proxies: number; assigned: number }> {
    return this.exclusive(async () => {
      await this.reloadNow();
      return { groups: this.groups.size, proxies: this.proxies.size, assigned: this.slots.filter((s) => s.group_id).length };
    });
  }
}
