// The dashboard's state and operations for one product ("topom", as in Codis): groups and their
// servers, proxies, the slot → group mapping, and the sentinel record, loaded from the coordinator
// and written through to it. Every mutation runs alone (one queue), checks Codis's safety rules
// first, persists, then pushes the resulting slot tables to every proxy in parallel (each with a
// deadline) and reports the proxies that did not acknowledge. A background loop polls server and
// proxy stats and re-pushes proxies whose table is missing or stale (Codis's auto re-online).
// Once fenced (the product lock was lost, or the dashboard is closing) nothing is written or pushed.
import type { Logger } from '../util/log.js';
import { isStoreError } from '../coordinator/index.js';
import {
  isPromoting, isValidGroupId, MAX_GROUP_ID, MIN_GROUP_ID, newGroup, newGroupServer, type Group,
} from '../models/group.js';
import { hasAction, isValidSlotId, parseSlotMapping, type SlotMapping } from '../models/slot-mapping.js';
import type { SentinelModel } from '../models/sentinel.js';
import type { ProxyModel } from '../models/proxy.js';
import type { TopomModel } from '../models/topom.js';
import type { Slot } from '../models/slot.js';
import { MAX_SLOT_NUM } from '../slots/hash.js';
import type { DashboardConfig } from './config.js';
import { ProductStore, type ProductSnapshot } from './store-models.js';
import { ProxyCallError, ProxyClient, fetchProxyModel, type ProxyStatsReply } from './proxy-client.js';
import { computeSlots, evenMappings, formatRanges, differsOnlyInMaster, slotCounts, slotDifferences } from './slots-compute.js';
import { probeRedis, RedisStatsPool, type ServerStats } from './redis-probe.js';
import { DashboardError, badGateway, badRequest, conflict, notFound, unavailable } from './errors.js';
import { SlotActions } from './slot-actions.js';
import { SentinelHa } from './sentinel-ha.js';
import { withReplicaGroups } from './replica-groups.js';

export interface PushFailure {
  id: number;
  token: string;
  admin_addr: string;
  error: string;
}

/** What a push of slot tables to the proxies achieved. */
export interface PushReport {
  proxies: number;
  acked: number;
  failed: PushFailure[];
}

export interface ProxyRuntime {
  /** Last stats answer. */
  stats?: ProxyStatsReply;
  /** Why the last stats poll failed. */
  error?: string;
  timeout?: boolean;
  unixtime?: number;
  last_push?: { unixtime: number; ok: boolean; error?: string };
  /** True while the proxy's table is known or suspected to be out of date. */
  needs_resync: boolean;
  /** Client ops/s between the last two stats polls. */
  ops_per_sec?: number;
}

interface RuntimeState extends ProxyRuntime {
  lastSlotCheck: number;
  repushing: boolean;
  opsAt?: number;
  opsTotal?: number;
}

const now = (): number => Math.floor(Date.now() / 1000);
const describeProxy = (p: ProxyModel): string => `proxy ${p.id} (${p.admin_addr})`;
const ADDR_RE = /^[^\s/]+:\d{1,5}$/;

function checkAddr(addr: string, what: string): string {
  if (!ADDR_RE.test(addr)) throw badRequest(`${what} "${addr}" is not host:port`);
  const port = Number(addr.slice(addr.lastIndexOf(':') + 1));
  if (port < 1 || port > 65535) throw badRequest(`${what} "${addr}" has a bad port`);
  return addr;
}

export function parseGroupId(v: unknown): number {
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  if (!isValidGroupId(n)) throw badRequest(`group id must be an integer from ${MIN_GROUP_ID} to ${MAX_GROUP_ID}, got ${JSON.stringify(v)}`);
  return n;
}

export function parseSlotId(v: unknown): number {
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  if (!isValidSlotId(n)) throw badRequest(`slot id must be an integer from 0 to ${MAX_SLOT_NUM - 1}, got ${JSON.stringify(v)}`);
  return n;
}

/** A proxy model may carry 0.0.0.0:port when it listens on all interfaces: use the address we reached it at. */
function reachableAdminAddr(modelAddr: string, calledAddr: string): string {
  const i = modelAddr.lastIndexOf(':');
  const host = i >= 0 ? modelAddr.slice(0, i) : '';
  if (!modelAddr || ['', '0.0.0.0', '::', '[::]'].includes(host)) {
    const ch = calledAddr.slice(0, calledAddr.lastIndexOf(':'));
    return `${ch}:${i >= 0 ? modelAddr.slice(i + 1) : calledAddr.slice(calledAddr.lastIndexOf(':') + 1)}`;
  }
  return modelAddr;
}

function proxyFailureText(p: ProxyModel, e: unknown, what: string): string {
  if (e instanceof ProxyCallError) {
    if (e.kind === 'unreachable') return `${describeProxy(p)} unreachable: ${e.message}`;
    if (e.kind === 'timeout') return `${describeProxy(p)} did not acknowledge ${what}: ${e.message}`;
    return `${describeProxy(p)} refused ${what}: ${e.message}`;
  }
  return `${describeProxy(p)}: ${(e as Error).message}`;
}

export class Topom {
  private slots: SlotMapping[];
  private groups: Map<number, Group>;
  private proxies: Map<string, ProxyModel>;
  private sentinel: SentinelModel;
  private fencedReason: string | null = null;
  private queue: Promise<unknown> = Promise.resolve();
  private readonly runtime = new Map<string, RuntimeState>();
  private readonly serverStats = new Map<string, ServerStats>();
  private readonly statsPool: RedisStatsPool;
  private pollTimer: NodeJS.Timeout | null = null;
  private pollRound: Promise<void> | null = null;
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
    this.statsPool = new RedisStatsPool(config.productAuth, config.statsTimeout);
    store.beforeWrite = () => this.assertActive();
    this.actions = new SlotActions({
      config, log,
      exclusive: (fn) => this.exclusive(fn),
      mappings: () => this.slots,
      groups: () => this.groups,
      writeSlots: async (ms) => { await this.store.writeSlots(ms); this.setSlots(ms); },
      setSlots: (ms) => this.setSlots(ms),
      pushAll: () => this.pushAll(),
      removeProxy: async (token, why) => {
        const p = this.proxies.get(token);
        if (!p) return;
        await this.store.deleteProxy(token);
        this.proxies.delete(token);
        this.runtime.delete(token);
        this.log.warn({ id: p.id, token, admin: p.admin_addr, why }, 'proxy fenced out: removed from the product');
      },
      isFenced: () => this.fenced,
      clientOpsPerSec: () => {
        // Only fresh rates count (a proxy that stopped answering is not traffic).
        const fresh = Date.now() - 3 * Math.max(1000, this.config.statsPeriod);
        let sum = 0;
        for (const r of this.runtime.values()) if (!r.error && (r.opsAt ?? 0) >= fresh) sum += r.ops_per_sec ?? 0;
        return sum;
      },
    });
    this.ha = new SentinelHa({
      config, log, store,
      fenced: () => this.fenced,
      groups: () => this.groups,
      setGroup: (g) => { this.groups.set(g.id, g); this.routingVersion++; },
      sentinel: () => this.sentinel,
      setSentinel: (x) => { this.sentinel = x; },
      exclusive: (fn) => this.exclusive(fn),
      pushAll: () => this.pushAll(),
      markSync: (gids, report) => this.markSync(gids, report),
      proxies: () => [...this.proxies.values()],
      proxyClient: (p) => this.client(p),
      serverStats: (a) => this.serverStats.get(a),
    });
  }

  /** Loads the product's metadata from the store. */
  static async load(config: DashboardConfig, store: ProductStore, model: TopomModel, log: Logger): Promise<Topom> {
    const snap = await store.loadAll();
    const t = new Topom(config, store, model, log, snap);
    log.info({ groups: snap.groups.size, proxies: snap.proxies.size, assigned: snap.slots.filter((s) => s.group_id).length }, 'metadata loaded from the coordinator');
    return t;
  }

  // ---- lifecycle ----------------------------------------------------------------------------------

  get fenced(): boolean { return this.fencedReason !== null; }

  /** Stops acting at once: no more writes, pushes or polls. */
  fence(reason: string): void {
    if (this.fencedReason) return;
    this.fencedReason = reason;
    void this.actions.stop();
    this.ha.stop();
    if (this.pollTimer) clearTimeout(this.pollTimer);
    this.pollTimer = null;
    this.statsPool.close();
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
    const tick = (): void => {
      if (this.fencedReason) return;
      this.pollRound = this.pollOnce().catch((e: Error) => { this.log.warn({ err: e.message }, 'stats poll failed'); });
      void this.pollRound.then(() => {
        if (!this.fencedReason) this.pollTimer = setTimeout(tick, this.config.statsPeriod);
      });
    };
    tick();
  }

  /** Fences and waits for running operations and the current poll to end. */
  async close(reason = 'closed'): Promise<void> {
    this.fence(reason);
    await Promise.allSettled([this.queue, this.pollRound, this.actions.stop()]);
    this.statsPool.close();
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
          try { await this.reloadNow(); } catch { /* keep what we have */ }
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

  slotMappings(): SlotMapping[] { return this.slots.map((m) => ({ ...m, action: { ...m.action } })); }
  groupList(): Group[] { return [...this.groups.values()].sort((a, b) => a.id - b.id).map((g) => structuredClone(g)); }
  proxyList(): ProxyModel[] { return [...this.proxies.values()].sort((a, b) => a.id - b.id).map((p) => ({ ...p })); }
  sentinelModel(): SentinelModel { return structuredClone(this.sentinel); }

  /** The table every proxy gets (no per-proxy context yet: replica groups are empty). */
  computedSlots(): Slot[] { return computeSlots(this.slots, this.groups); }

  serverStatsOf(addr: string): ServerStats | undefined { return this.serverStats.get(addr); }

  proxyRuntime(token: string): ProxyRuntime | undefined {
    const r = this.runtime.get(token);
    if (!r) return undefined;
    const { lastSlotCheck: _a, repushing: _b, ...pub } = r;
    return pub;
  }

  /** Codis's Stats, plus slot counts per group. */
  stats(): Record<string, unknown> {
    const serverStats: Record<string, ServerStats> = {};
    for (const g of this.groups.values()) for (const s of g.servers) {
      const st = this.serverStats.get(s.server);
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
    };
  }

  /** Numbers for /metrics. */
  counters(): { groups: number; servers: number; serversUp: number; proxies: number; proxiesUp: number; slotsAssigned: number } {
    let servers = 0, serversUp = 0, proxiesUp = 0;
    for (const g of this.groups.values()) for (const s of g.servers) {
      servers++;
      const st = this.serverStats.get(s.server);
      if (st && !st.error) serversUp++;
    }
    for (const p of this.proxies.values()) {
      const r = this.runtime.get(p.token);
      if (r?.stats && !r.error) proxiesUp++;
    }
    return { groups: this.groups.size, servers, serversUp, proxies: this.proxies.size, proxiesUp, slotsAssigned: this.slots.filter((s) => s.group_id !== 0).length };
  }

  private rt(token: string): RuntimeState {
    let r = this.runtime.get(token);
    if (!r) { r = { needs_resync: false, lastSlotCheck: 0, repushing: false }; this.runtime.set(token, r); }
    return r;
  }

  private client(p: ProxyModel): ProxyClient {
    return new ProxyClient(p.admin_addr, this.config.productName, this.config.productAuth, p.token, this.config.proxyPushTimeout);
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

  /** A proxy by token, id, admin address or proxy address. */
  lookupProxy(ref: string): ProxyModel {
    const byToken = this.proxies.get(ref);
    if (byToken) return byToken;
    for (const p of this.proxies.values()) {
      if ((/^\d+$/.test(ref) && p.id === Number(ref)) || p.admin_addr === ref || p.proxy_addr === ref) return p;
    }
    throw notFound(`no proxy with token, id or address "${ref}"`);
  }

  // ---- pushing ------------------------------------------------------------------------------------

  /** Sends the full table (and with `start`, the start command) to one proxy; returns the error text or null. */
  private async pushOne(p: ProxyModel, table: Slot[], start: boolean): Promise<string | null> {
    const r = this.rt(p.token);
    const c = this.client(p);
    let what = 'the slot table';
    try {
      this.assertActive();
      await c.fillSlots(withReplicaGroups(table, this.groups, p));
      if (start) {
        what = 'start'; await c.start();
        // (A proxy without sentinels follows nothing: no need to send it an empty list.)
        if (this.sentinel.servers.length > 0) { what = 'the sentinel list'; await c.setSentinels(this.sentinel.servers); }
      }
      r.last_push = { unixtime: now(), ok: true };
      r.needs_resync = false;
      r.lastSlotCheck = Date.now();
      return null;
    } catch (e) {
      const msg = e instanceof DashboardError ? e.message : proxyFailureText(p, e, what);
      r.last_push = { unixtime: now(), ok: false, error: msg };
      r.needs_resync = true;
      this.log.warn({ proxy: p.token, admin: p.admin_addr, err: msg }, 'slot table push failed');
      return msg;
    }
  }

  /** Pushes the current table to every proxy in parallel; never throws for a proxy's failure. */
  private async pushAll(start = false): Promise<PushReport> {
    const table = this.computedSlots();
    const list = [...this.proxies.values()];
    const results = await Promise.all(list.map(async (p) => ({ p, err: await this.pushOne(p, table, start) })));
    const failed = results.filter((r) => r.err !== null).map(({ p, err }) => ({ id: p.id, token: p.token, admin_addr: p.admin_addr, error: err! }));
    return { proxies: list.length, acked: list.length - failed.length, failed };
  }

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
        throw conflict(`group ${gid} still has ${g.servers.length} server(s) (${g.servers.map((s) => s.server).join(', ')}); remove them first`);
      }
      const used = this.slotsUsing(gid);
      if (used.length) throw conflict(`group ${gid} still owns ${used.length} slots (${formatRanges(used)}); move them before removing the group`);
      await this.store.deleteGroup(gid);
      this.groups.delete(gid);
      this.log.info({ gid }, 'group removed');
      return {};
    });
  }

  addServer(gid: number, addr: string, datacenter = ''): Promise<{ group: Group; role: 'master' | 'replica'; redis_version: string; push?: PushReport }> {
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
        push = await this.pushAll();
        await this.markSync([gid], push);
      }
      return { group: structuredClone(this.groups.get(gid)!), role, redis_version: info.redis_version ?? '', push };
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
          throw conflict(`${addr} is the master of group ${gid}, which still has ${g.servers.length - 1} replica(s) (${g.servers.slice(1).map((s) => s.server).join(', ')}); remove the replicas first`);
        }
        const used = this.slotsUsing(gid);
        if (used.length) throw conflict(`group ${gid} still owns ${used.length} slots (${formatRanges(used)}); move them before removing the master ${addr}`);
      }
      const next = structuredClone(g);
      if (next.servers[index]!.replica_group) next.out_of_sync = true;
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
      const push = await this.pushAll();
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
      try { m = parseSlotMapping(raw, `entry ${i}`); } catch (e) { throw badRequest((e as Error).message); }
      if (hasAction(m)) throw badRequest(`slot ${m.id}: an assignment cannot carry an action (action.state "${m.action.state}")`);
      if (seen.has(m.id)) throw badRequest(`slot ${m.id} appears twice`);
      if (m.group_id !== 0 && !isValidGroupId(m.group_id)) throw badRequest(`slot ${m.id}: group_id must be 0 (offline) or ${MIN_GROUP_ID}..${MAX_GROUP_ID}`);
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
    const busy = wanted.filter((m) => hasAction(this.slots[m.id]!)).map((m) => m.id);
    if (busy.length) {
      const first = this.slots[busy[0]!]!;
      throw conflict(`${busy.length} slot(s) have a migration action (${formatRanges(busy)}; slot ${first.id} is ${first.action.state} → group ${first.action.target_id ?? 0}); wait for it to finish or cancel it first`);
    }
    const changes = wanted.filter((m) => this.slots[m.id]!.group_id !== m.group_id);
    if (changes.length === 0) return { changed: 0 };
    const affected = new Set<number>();
    for (const m of changes) { affected.add(m.group_id); affected.add(this.slots[m.id]!.group_id); }
    affected.delete(0);
    await this.store.writeSlots(changes);
    this.setSlots(changes.map((m) => ({ ...m, action: {} })));
    this.log.info({ changed: changes.length, groups: [...affected] }, 'slots assigned');
    const push = await this.pushAll();
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
    return this.assignSlots(input.map((x, i) => {
      if (typeof x === 'number') return { id: parseSlotId(x), group_id: 0 };
      if (typeof x === 'object' && x !== null && 'id' in x) return { id: (x as { id: unknown }).id, group_id: 0 };
      throw badRequest(`entry ${i}: expected a slot id or {"id": N}`);
    }));
  }

  /** Spreads all 1024 slots evenly (contiguous ranges) over the groups that have a master. */
  initEven(force: boolean): Promise<{ changed: number; groups: number[]; push?: PushReport }> {
    return this.exclusive(async () => {
      const gids = [...this.groups.values()].filter((g) => g.servers.length > 0 && !isPromoting(g)).map((g) => g.id).sort((a, b) => a - b);
      if (gids.length === 0) throw conflict('no group has a server; create a group and add a server to it first');
      const assigned = this.slots.filter((m) => m.group_id !== 0).length;
      if (assigned > 0 && !force) {
        throw conflict(`${assigned} slots are already assigned; init-even is for an empty layout. Use force to reassign them without moving data (keys in slots that change group become unreachable), or migrate instead`);
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
        await this.client(p).xping();
      } catch (e) {
        if (e instanceof ProxyCallError && e.kind === 'rejected') {
          throw conflict(`proxy at ${addr} rejected the dashboard's xauth: its product_auth differs from this dashboard's (${e.message})`);
        }
        throw badGateway(proxyFailureText(p, e, 'xping'), e);
      }
      const existing = this.proxies.get(p.token);
      if (existing && mode === 'create') throw conflict(`proxy ${existing.id} (token ${p.token}) is already registered; use online or reinit`);
      // A record with the same admin address but another token is a previous incarnation of this proxy.
      const stale = [...this.proxies.values()].filter((o) => o.token !== p.token && o.admin_addr === p.admin_addr);
      const maxId = Math.max(0, ...[...this.proxies.values()].map((o) => o.id));
      p.id = existing?.id ?? stale[0]?.id ?? maxId + 1;
      for (const o of stale) {
        await this.store.deleteProxy(o.token);
        this.proxies.delete(o.token);
        this.runtime.delete(o.token);
        this.log.info({ old: o.token, token: p.token, admin: p.admin_addr }, 'replaced the record of a previous proxy at the same admin address');
      }
      await this.store.writeProxy(p);
      this.proxies.set(p.token, p);
      this.log.info({ id: p.id, token: p.token, admin: p.admin_addr, proxy: p.proxy_addr }, existing ? 'proxy online again' : 'proxy registered');
      const err = await this.pushOne(p, this.computedSlots(), true);
      const push = { proxies: 1, acked: err ? 0 : 1, failed: err ? [{ id: p.id, token: p.token, admin_addr: p.admin_addr, error: err }] : [] };
      if (err) throw badGateway(`proxy ${p.id} is registered but could not be initialised: ${err}; it will be retried automatically`);
      return { proxy: { ...p }, push };
    });
  }

  /** Pushes the full table to one proxy (or all) and starts it (Codis ReinitProxy). */
  reinitProxy(ref: string | null): Promise<{ push: PushReport }> {
    return this.exclusive(async () => {
      if (ref === null) {
        const push = await this.pushAll(true);
        return { push };
      }
      const p = this.lookupProxy(ref);
      const err = await this.pushOne(p, this.computedSlots(), true);
      if (err) throw badGateway(err);
      return { push: { proxies: 1, acked: 1, failed: [] } };
    });
  }

  /** Shuts the proxy down and deletes its record; with `force`, a proxy that cannot be shut down is removed anyway. */
  removeProxy(ref: string, force: boolean): Promise<{ proxy: ProxyModel; shutdown: string }> {
    return this.exclusive(async () => {
      const p = this.lookupProxy(ref);
      let shutdown = 'ok';
      try {
        this.assertActive();
        await this.client(p).shutdown();
      } catch (e) {
        const msg = e instanceof DashboardError ? e.message : proxyFailureText(p, e, 'shutdown');
        if (!force) throw badGateway(`${msg}; it was not removed. Use force to remove it anyway`, e);
        shutdown = `failed (ignored with force): ${msg}`;
        this.log.warn({ proxy: p.token, err: msg }, 'proxy shutdown failed; removing it anyway (force)');
      }
      await this.store.deleteProxy(p.token);
      this.proxies.delete(p.token);
      this.runtime.delete(p.token);
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
    for (const t of [...this.runtime.keys()]) if (!this.proxies.has(t)) this.runtime.delete(t);
    for (const r of this.runtime.values()) r.lastSlotCheck = 0; // re-verify every proxy's table
  }

  /** Drops the cached state and reads everything from the store again (after external edits). */
  reload(): Promise<{ groups: number; proxies: number; assigned: number }> {
    return this.exclusive(async () => {
      await this.reloadNow();
      return { groups: this.groups.size, proxies: this.proxies.size, assigned: this.slots.filter((s) => s.group_id).length };
    });
  }

  // ---- background ---------------------------------------------------------------------------------

  /** One round: INFO of every server, stats of every proxy; re-push proxies whose table is missing or stale. */
  async pollOnce(): Promise<void> {
    if (this.fencedReason) return;
    const addrs = new Set<string>();
    for (const g of this.groups.values()) for (const s of g.servers) addrs.add(s.server);
    this.statsPool.retain(addrs);
    for (const a of [...this.serverStats.keys()]) if (!addrs.has(a)) this.serverStats.delete(a);
    await Promise.all([
      ...[...addrs].map(async (a) => {
        const st = await this.statsPool.poll(a);
        if (!this.fencedReason) this.serverStats.set(a, st);
      }),
      ...[...this.proxies.values()].map((p) => this.pollProxy(p)),
    ]);
  }

  private async pollProxy(p: ProxyModel): Promise<void> {
    const r = this.rt(p.token);
    const c = new ProxyClient(p.admin_addr, this.config.productName, this.config.productAuth, p.token, this.config.statsTimeout);
    let why: string | null = null;
    try {
      const st = await c.stats();
      if (r.error) this.log.info({ proxy: p.token, admin: p.admin_addr }, 'proxy answers again');
      const t = Date.now(), total = st.ops?.total;
      if (typeof total === 'number' && r.opsAt !== undefined && r.opsTotal !== undefined && t > r.opsAt) {
        r.ops_per_sec = Math.max(0, Math.round(((total - r.opsTotal) * 1000) / (t - r.opsAt)));
      }
      r.opsAt = t; r.opsTotal = total;
      Object.assign(r, { stats: st, error: undefined, timeout: undefined, unixtime: now() });
      if (st.online === false) why = 'it answers but is not online';
      else if (r.needs_resync) why = 'its last push failed';
      else if (!this.mutating && Date.now() - r.lastSlotCheck >= Math.max(3 * this.config.statsPeriod, 1000)) {
        // Compare only against a settled state: no mutation ran while the table was fetched.
        const v0 = this.routingVersion;
        const actual = await c.slots();
        if (!this.mutating && v0 === this.routingVersion) {
          r.lastSlotCheck = Date.now();
          const expected = this.computedSlots();
          const diff = slotDifferences(expected, actual);
          if (diff.length) why = `its slot table differs in ${diff.length} slot(s) (${formatRanges(diff).slice(0, 60)})`;
          // The proxy may have followed a sentinel failover before us: catch up first, then compare again.
          if (diff.length && this.ha.watcher.enabled) {
            const v1 = this.routingVersion;
            await this.ha.watcher.kick('a proxy table differs');
            if (this.routingVersion !== v1 || this.mutating) why = null;
            // Still ahead of us (our sentinel view lags): pushing our table would send its writes back
            // to the old master. Our watcher catches up by itself; then the tables agree.
            else if (diff.every((sid) => differsOnlyInMaster(expected[sid]!, actual.find((a) => a.id === sid), (gid) => this.groups.get(gid)?.servers.map((x) => x.server) ?? []))) {
              why = null;
            }
          }
        }
      }
    } catch (e) {
      const msg = proxyFailureText(p, e, 'stats');
      if (!r.error) this.log.warn({ proxy: p.token, admin: p.admin_addr, err: msg }, 'proxy stopped answering stats polls');
      Object.assign(r, { error: msg, timeout: e instanceof ProxyCallError && e.kind === 'timeout' ? true : undefined, unixtime: now() });
      r.needs_resync = true;
      return;
    }
    // Until the sentinels were asked once, the table may name a master that failed over meanwhile.
    if (!why || r.repushing || this.fencedReason || !this.ha.caughtUp) return;
    r.repushing = true;
    try {
      await this.exclusive(async () => {
        const cur = this.proxies.get(p.token);
        if (!cur) return;
        this.log.info({ proxy: cur.token, admin: cur.admin_addr, why }, 'pushing the full slot table again (re-online)');
        await this.pushOne(cur, this.computedSlots(), true);
      });
    } catch { /* fenced, or reported in last_push */ } finally {
      r.repushing = false;
    }
  }
}

