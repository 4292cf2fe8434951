// Keeping the proxies' slot tables in step with the dashboard's model (Codis topom_proxy.go's
// pushes): the full table (each proxy's replica groups filled in), the start command and the sentinel
// list go to one proxy or to all in parallel, each call with a deadline; a proxy that did not
// acknowledge is reported (PushReport) and marked for a re-push by the stats loop. Also owns what the
// dashboard knows about each proxy at run time (last stats, last push, whether it needs a re-push).
import type { Logger } from '../util/log.js';
import type { Group } from '../models/group.js';
import type { ProxyModel } from '../models/proxy.js';
import type { SentinelModel } from '../models/sentinel.js';
import type { Slot } from '../models/slot.js';
import type { DashboardConfig } from './config.js';
import { DashboardError } from './errors.js';
import { ProxyCallError, ProxyClient, type ProxyStatsReply } from './proxy-client.js';
import { withReplicaGroups } from './replica-groups.js';
import type { PushFailure, PushReport } from './push-report.js';

/** What the dashboard knows about one proxy at run time (shown in the stats). */
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

/** ProxyRuntime plus the bookkeeping of the stats loop (not shown). */
export interface RuntimeState extends ProxyRuntime {
  lastSlotCheck: number;
  repushing: boolean;
  opsAt?: number;
  opsTotal?: number;
}

/** What ProxySync reads from the model it pushes. */
export interface ProxySyncHost {
  readonly config: DashboardConfig;
  readonly log: Logger;
  /** Throws when the dashboard may no longer act (fenced). */
  assertActive(): void;
  proxies(): Iterable<ProxyModel>;
  groups(): ReadonlyMap<number, Group>;
  sentinel(): SentinelModel;
  /** The table every proxy gets (before its replica groups are filled in). */
  computedSlots(): Slot[];
}

export const unixNow = (): number => Math.floor(Date.now() / 1000);
const describeProxy = (p: ProxyModel): string => `proxy ${p.id} (${p.admin_addr})`;

/** A person-readable reason why a call to a proxy failed. */
export function proxyFailureText(p: ProxyModel, e: unknown, what: string): string {
  if (e instanceof ProxyCallError) {
    if (e.kind === 'unreachable') return `${describeProxy(p)} unreachable: ${e.message}`;
    if (e.kind === 'timeout') return `${describeProxy(p)} did not acknowledge ${what}: ${e.message}`;
    return `${describeProxy(p)} refused ${what}: ${e.message}`;
  }
  return `${describeProxy(p)}: ${(e as Error).message}`;
}

export class ProxySync {
  private readonly runtime = new Map<string, RuntimeState>();

  constructor(private readonly h: ProxySyncHost) {}

  /** The run-time record of a proxy (created on first use). */
  state(token: string): RuntimeState {
    let r = this.runtime.get(token);
    if (!r) {
      r = { needs_resync: false, lastSlotCheck: 0, repushing: false };
      this.runtime.set(token, r);
    }
    return r;
  }

  /** The public part of a proxy's run-time record. */
  publicState(token: string): ProxyRuntime | undefined {
    const r = this.runtime.get(token);
    if (!r) return undefined;
    const { lastSlotCheck: _a, repushing: _b, ...pub } = r;
    return pub;
  }

  allStates(): IterableIterator<RuntimeState> {
    return this.runtime.values();
  }

  /** Forgets a removed proxy. */
  forget(token: string): void {
    this.runtime.delete(token);
  }

  /** Keeps only the records of `tokens` and makes the stats loop re-check every table. */
  retain(tokens: ReadonlySet<string>): void {
    for (const t of [...this.runtime.keys()]) if (!tokens.has(t)) this.runtime.delete(t);
    for (const r of this.runtime.values()) r.lastSlotCheck = 0;
  }

  client(p: ProxyModel, timeoutMs = this.h.config.proxyPushTimeout): ProxyClient {
    const c = this.h.config;
    return new ProxyClient(p.admin_addr, c.productName, c.productAuth, p.token, timeoutMs);
  }

  /** Sends the full table (and with `start`, the start command) to one proxy; returns the error text or null. */
  async pushOne(p: ProxyModel, table: Slot[], start: boolean): Promise<string | null> {
    const r = this.state(p.token);
    const c = this.client(p);
    let what = 'the slot table';
    try {
      this.h.assertActive();
      await c.fillSlots(withReplicaGroups(table, this.h.groups(), p));
      if (start) {
        what = 'start';
        await c.start();
        // (A proxy without sentinels follows nothing: no need to send it an empty list.)
        const sentinels = this.h.sentinel().servers;
        if (sentinels.length > 0) {
          what = 'the sentinel list';
          await c.setSentinels(sentinels);
        }
      }
      r.last_push = { unixtime: unixNow(), ok: true };
      r.needs_resync = false;
      r.lastSlotCheck = Date.now();
      return null;
    } catch (e) {
      const msg = e instanceof DashboardError ? e.message : proxyFailureText(p, e, what);
      r.last_push = { unixtime: unixNow(), ok: false, error: msg };
      r.needs_resync = true;
      this.h.log.warn({ proxy: p.token, admin: p.admin_addr, err: msg }, 'slot table push failed');
      return msg;
    }
  }

  /** Pushes one proxy and reports it as a PushReport. */
  async pushReportOne(p: ProxyModel, start: boolean): Promise<PushReport> {
    const err = await this.pushOne(p, this.h.computedSlots(), start);
    return { proxies: 1, acked: err ? 0 : 1, failed: err ? [{ id: p.id, token: p.token, admin_addr: p.admin_addr, error: err }] : [] };
  }

  /** Pushes the current table to every proxy in parallel; never throws for a proxy's failure. */
  async pushAll(start = false): Promise<PushReport> {
    const table = this.h.computedSlots();
    const list = [...this.h.proxies()];
    const results = await Promise.all(list.map(async (p) => ({ p, err: await this.pushOne(p, table, start) })));
    const failed: PushFailure[] = [];
    for (const { p, err } of results) if (err !== null) failed.push({ id: p.id, token: p.token, admin_addr: p.admin_addr, error: err });
    return { proxies: list.length, acked: list.length - failed.length, failed };
  }
}
