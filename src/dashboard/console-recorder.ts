// The console's memory in the dashboard: from successive stats snapshots it derives an event history
// (failovers, promotions, migrations, groups/servers/proxies/sentinels coming and going), 15 minutes of
// ops/s + p99 samples, and per-slot request rates from the proxies' optional `slot_ops` counters.
// It only reads the public stats shape (defensively: unknown fields are ignored, missing ones skipped),
// so it needs no hooks in the topology code. Kept in memory: a restarted dashboard starts empty.
import type { ConsoleEvent, ConsoleEventKind, ConsoleSample } from '../models/console.js';
import { at } from '../util/at.js';

export const SAMPLE_WINDOW_MS = 15 * 60 * 1000;
export const MAX_EVENTS = 500;
const SLOTS = 1024;

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
const str = (v: unknown): string => (typeof v === 'string' ? v : '');

interface GroupView {
  master: string;
  servers: Map<string, string>;
  promoting: string;
}
interface SlotView {
  gid: number;
  actionState: string;
  target: number;
}
interface ProxyView {
  id: number;
  addr: string;
  error: string;
}
interface View {
  groups: Map<number, GroupView>;
  slots: SlotView[];
  proxies: Map<string, ProxyView>;
  serverErrors: Map<string, string>;
  sentinels: Set<string>;
  switchKeys: Set<string>;
  /** Groups whose master runs with a lowered min-replicas-to-write (stats write_safety), with why. */
  writeUnsafe: Map<number, string>;
  switches: Array<{ key: string; unixtime: number; gid: number; from: string; to: string; epoch: number }>;
}

/** "1-3, 7, 9-10" for a sorted list of ids. */
export function formatRanges(ids: number[]): string {
  const out: string[] = [];
  let i = 0;
  while (i < ids.length) {
    let j = i;
    while (j + 1 < ids.length && ids[j + 1] === at(ids, j, 'slot id') + 1) j++;
    out.push(i === j ? `${ids[i]}` : `${ids[i]}-${ids[j]}`);
    i = j + 1;
  }
  return out.join(', ');
}

function viewOf(stats: unknown): View {
  const s = obj(stats);
  const groups = new Map<number, GroupView>();
  const group = obj(s.group);
  for (const g of arr(group.models)) {
    const go = obj(g);
    const id = num(go.id);
    if (id === undefined) continue;
    const servers = new Map<string, string>();
    for (const sv of arr(go.servers)) {
      const so = obj(sv);
      if (str(so.server)) servers.set(str(so.server), str(so.datacenter));
    }
    groups.set(id, { master: str(obj(arr(go.servers)[0]).server), servers, promoting: str(obj(go.promoting).state) });
  }
  const serverErrors = new Map<string, string>();
  for (const [addr, st] of Object.entries(obj(group.stats))) {
    const so = obj(st);
    const err = str(so.error) || (so.timeout === true ? 'timeout' : '');
    if (err) serverErrors.set(addr, err);
  }
  const slots: SlotView[] = [];
  for (const m of arr(s.slots)) {
    const mo = obj(m);
    const a = obj(mo.action);
    slots.push({ gid: num(mo.group_id) ?? 0, actionState: str(a.state), target: num(a.target_id) ?? 0 });
  }
  const proxies = new Map<string, ProxyView>();
  const proxy = obj(s.proxy);
  const pstats = obj(proxy.stats);
  for (const p of arr(proxy.models)) {
    const po = obj(p);
    const token = str(po.token);
    if (!token) continue;
    const r = obj(pstats[token]);
    proxies.set(token, {
      id: num(po.id) ?? 0,
      addr: str(po.proxy_addr) || str(po.admin_addr),
      error: str(r.error) || (r.timeout === true ? 'timeout' : ''),
    });
  }
  const sent = obj(s.sentinels);
  const sentinels = new Set(arr(obj(sent.model).servers).map(str).filter(Boolean));
  const switches: View['switches'] = [];
  for (const w of arr(obj(sent.watcher).recent_switches)) {
    const wo = obj(w);
    const rec = {
      unixtime: num(wo.unixtime) ?? 0,
      gid: num(wo.gid) ?? 0,
      from: str(wo.from),
      to: str(wo.to),
      epoch: num(wo.epoch) ?? 0,
      key: '',
    };
    rec.key = `${rec.unixtime}/${rec.gid}/${rec.to}/${rec.epoch}`;
    switches.push(rec);
  }
  const writeUnsafe = new Map<number, string>();
  for (const [gid, ws] of Object.entries(obj(obj(s.write_safety).groups))) {
    const wo = obj(ws);
    if (wo.degraded === true) writeUnsafe.set(Number(gid), str(wo.reason));
  }
  return { groups, slots, proxies, serverErrors, sentinels, switches, switchKeys: new Set(switches.map((x) => x.key)), writeUnsafe };
}

export class ConsoleRecorder {
  private readonly samples: ConsoleSample[] = [];
  private readonly events: ConsoleEvent[] = [];
  private nextId = 1;
  private prev: View | null = null;
  private readonly slotPrev = new Map<string, { t: number; counts: number[] }>();
  private slotRates: number[] | null = null;
  private readonly latencyPrev = new Map<string, number[]>();
  private p99: number | null = null;
  /** Promotions asked through the API: gid -> {target, since}; a master change to target is a promotion, not a failover. */
  private readonly promotions = new Map<number, { addr: string; t: number }>();

  /** Called when a promote request arrives, so the master change it causes is named a promotion. */
  notePromotion(gid: number, addr: string, t: number): void {
    this.promotions.set(gid, { addr, t });
    this.add('promotion', `group ${gid}: promotion of ${addr} requested`, t, gid);
  }

  /** Called when a promote request failed: no master change is expected from it. */
  promotionFailed(gid: number, addr: string, error: string, t: number): void {
    this.promotions.delete(gid);
    this.add('promotion', `group ${gid}: promotion of ${addr} failed: ${error}`, t, gid);
  }

  /** Records an event (also used by the API module for its own events). */
  add(kind: ConsoleEventKind, text: string, t: number, gid?: number): void {
    this.events.push({ id: this.nextId++, t, kind, text, ...(gid !== undefined ? { gid } : {}) });
    if (this.events.length > MAX_EVENTS) this.events.splice(0, this.events.length - MAX_EVENTS);
  }

  /** Forget the previous snapshot (after a takeover: the next one is a new baseline, not a diff). */
  resetBaseline(): void {
    this.prev = null;
    this.slotPrev.clear();
    this.latencyPrev.clear();
    this.slotRates = null;
  }

  eventsAfter(id: number): ConsoleEvent[] {
    return this.events.filter((e) => e.id > id);
  }
  samplesAfter(t: number): ConsoleSample[] {
    return this.samples.filter((s) => s.t > t);
  }
  lastEventId(): number {
    return this.nextId - 1;
  }
  slotOps(): number[] | null {
    return this.slotRates;
  }

  /** Diffs `stats` against the previous snapshot into events; samples ops/s; updates per-slot rates. */
  observe(stats: unknown, now: number): void {
    const cur = viewOf(stats);
    if (this.prev) this.diff(this.prev, cur, now);
    this.prev = cur;
    let ops = 0;
    const pstats = obj(obj(obj(stats).proxy).stats);
    for (const r of Object.values(pstats)) ops += num(obj(r).ops_per_sec) ?? 0;
    this.samples.push({ t: now, ops: Math.round(ops), p99_us: this.p99 });
    while ((this.samples[0]?.t ?? Infinity) < now - SAMPLE_WINDOW_MS) this.samples.shift();
    this.updateSlotRates(pstats, now);
  }

  private updateSlotRates(pstats: Obj, now: number): void {
    let sum: number[] | null = null;
    const seen = new Set<string>();
    for (const [token, r] of Object.entries(pstats)) {
      const counts = arr(obj(obj(r).stats).slot_ops);
      if (counts.length !== SLOTS) continue;
      seen.add(token);
      const c = counts.map((x) => num(x) ?? 0);
      const p = this.slotPrev.get(token);
      this.slotPrev.set(token, { t: now, counts: c });
      sum ??= new Array<number>(SLOTS).fill(0);
      if (!p || now <= p.t) continue;
      const dt = (now - p.t) / 1000;
      // `sum` and `c` both have SLOTS entries (checked above).
      for (let i = 0; i < SLOTS; i++) sum[i] = (sum[i] ?? 0) + Math.max(0, ((c[i] ?? 0) - (p.counts[i] ?? 0)) / dt);
    }
    for (const k of [...this.slotPrev.keys()]) if (!seen.has(k)) this.slotPrev.delete(k);
    this.slotRates = sum ? sum.map((x) => Math.round(x * 10) / 10) : null;
  }

  /**
   * Feeds the cumulative latency histograms of the proxies (`token` -> counts per bucket, same bucket
   * order for all, the last being +Inf) and recomputes the p99 of the requests since the last call.
   */
  observeLatency(perProxy: Map<string, number[]>, boundsUs: number[]): void {
    const delta = new Array<number>(boundsUs.length + 1).fill(0);
    let total = 0;
    for (const [token, counts] of perProxy) {
      const p = this.latencyPrev.get(token);
      this.latencyPrev.set(token, counts);
      if (!p) continue;
      counts.forEach((c, i) => {
        const d = Math.max(0, c - (p[i] ?? 0));
        delta[i] = (delta[i] ?? 0) + d;
        total += d;
      });
    }
    for (const k of [...this.latencyPrev.keys()]) if (!perProxy.has(k)) this.latencyPrev.delete(k);
    if (total === 0) {
      this.p99 = null;
      return;
    }
    let cum = 0;
    const top = boundsUs[boundsUs.length - 1];
    for (const [i, d] of delta.entries()) {
      cum += d;
      if (cum >= total * 0.99) {
        this.p99 = boundsUs[i] ?? (top === undefined ? null : top * 2);
        return;
      }
    }
  }

  private diff(a: View, b: View, now: number): void {
    for (const [id, g] of b.groups) {
      const old = a.groups.get(id);
      if (!old) {
        this.add('group', `group ${id} created`, now, id);
      }
      for (const [sv, dc] of g.servers) {
        if (!old?.servers.has(sv)) this.add('server', `server ${sv} added to group ${id}${dc ? ` (datacenter ${dc})` : ''}`, now, id);
      }
      if (!old) continue;
      for (const sv of old.servers.keys()) if (!g.servers.has(sv)) this.add('server', `server ${sv} removed from group ${id}`, now, id);
      if (!old.promoting && g.promoting) this.add('promotion', `group ${id}: promotion started (${g.promoting})`, now, id);
      if (old.master && g.master && old.master !== g.master) {
        const asked = this.promotions.get(id);
        if (asked && asked.addr === g.master && now - asked.t < 120000) {
          this.promotions.delete(id);
          this.add('promotion', `group ${id}: ${g.master} promoted to master (was ${old.master})`, now, id);
        } else if (old.promoting || g.promoting)
          this.add('promotion', `group ${id}: ${g.master} promoted to master (was ${old.master})`, now, id);
        else this.add('failover', `group ${id}: failover, master ${old.master} → ${g.master}`, now, id);
      } else if (old.promoting && !g.promoting && old.master === g.master) {
        this.add('promotion', `group ${id}: promotion ended, master still ${g.master}`, now, id);
      }
    }
    for (const id of a.groups.keys()) if (!b.groups.has(id)) this.add('group', `group ${id} removed`, now, id);
    for (const [id, why] of b.writeUnsafe)
      if (!a.writeUnsafe.has(id)) this.add('group', `group ${id}: write safety degraded, min-replicas-to-write lowered (${why})`, now, id);
    for (const id of a.writeUnsafe.keys())
      if (!b.writeUnsafe.has(id) && b.groups.has(id)) this.add('group', `group ${id}: write safety restored`, now, id);

    const queued = new Map<string, number[]>();
    const done = new Map<string, number[]>();
    const cancelled: number[] = [];
    const n = Math.min(a.slots.length, b.slots.length);
    for (let i = 0; i < n; i++) {
      const x = at(a.slots, i, 'slot');
      const y = at(b.slots, i, 'slot');
      if (!x.actionState && y.actionState) push(queued, `${y.gid}→${y.target}`, i);
      else if (x.actionState && !y.actionState) {
        if (y.gid !== x.gid) push(done, `${x.gid}→${y.gid}`, i);
        else cancelled.push(i);
      } else if (!x.actionState && !y.actionState && x.gid !== y.gid) push(done, `${x.gid}→${y.gid}`, i);
    }
    for (const [k, ids] of queued) {
      const [f, t] = k.split('→');
      this.add('migration', `migration queued: slots ${formatRanges(ids)} from group ${f} to group ${t}`, now, Number(t));
    }
    for (const [k, ids] of done) {
      const [f, t] = k.split('→');
      this.add(
        'migration',
        `slots ${formatRanges(ids)} now served by group ${t} (was ${f === '0' ? 'offline' : `group ${f}`})`,
        now,
        Number(t),
      );
    }
    if (cancelled.length) this.add('migration', `migration cancelled: slots ${formatRanges(cancelled)}`, now);

    for (const [token, p] of b.proxies) {
      const old = a.proxies.get(token);
      if (!old) this.add('proxy', `proxy ${p.id} (${p.addr}) online`, now);
      else if (!old.error && p.error) this.add('proxy', `proxy ${p.id} (${p.addr}) not answering: ${p.error}`, now);
      else if (old.error && !p.error) this.add('proxy', `proxy ${p.id} (${p.addr}) answers again`, now);
    }
    for (const [token, p] of a.proxies) if (!b.proxies.has(token)) this.add('proxy', `proxy ${p.id} (${p.addr}) removed`, now);

    for (const [addr, err] of b.serverErrors)
      if (!a.serverErrors.has(addr)) this.add('server', `server ${addr} not answering: ${err}`, now, gidOf(b, addr));
    for (const addr of a.serverErrors.keys())
      if (!b.serverErrors.has(addr) && serverKnown(b, addr)) this.add('server', `server ${addr} answers again`, now, gidOf(b, addr));

    for (const s of b.sentinels) if (!a.sentinels.has(s)) this.add('sentinel', `sentinel ${s} added`, now);
    for (const s of a.sentinels) if (!b.sentinels.has(s)) this.add('sentinel', `sentinel ${s} removed`, now);
    for (const w of b.switches) {
      if (a.switchKeys.has(w.key)) continue;
      this.add(
        'switch-master',
        `sentinels: +switch-master group ${w.gid} ${w.from} → ${w.to} (epoch ${w.epoch})`,
        w.unixtime ? w.unixtime * 1000 : now,
        w.gid,
      );
    }
  }
}

function push(m: Map<string, number[]>, k: string, v: number): void {
  const l = m.get(k);
  if (l) l.push(v);
  else m.set(k, [v]);
}

function gidOf(v: View, addr: string): number | undefined {
  for (const [id, g] of v.groups) if (g.servers.has(addr)) return id;
  return undefined;
}

function serverKnown(v: View, addr: string): boolean {
  return gidOf(v, addr) !== undefined;
}

/** Sums the proxy's Prometheus latency histogram over commands: cumulative counts per `le` bound. */
export function parseLatencyHistogram(text: string): { boundsUs: number[]; counts: number[] } | null {
  const byLe = new Map<number, number>();
  for (const line of text.split('\n')) {
    if (!line.startsWith('shardis_proxy_command_duration_seconds_bucket{')) continue;
    const m = /le="([^"]+)"\}\s+([0-9.eE+-]+)/.exec(line);
    if (!m) continue;
    const le = m[1] === '+Inf' ? Infinity : Number(m[1]);
    if (Number.isNaN(le)) continue;
    byLe.set(le, (byLe.get(le) ?? 0) + Number(m[2]));
  }
  if (byLe.size === 0) return null;
  const les = [...byLe.keys()].filter((k) => k !== Infinity).sort((x, y) => x - y);
  const cumulative = [...les.map((l) => byLe.get(l) ?? 0), byLe.get(Infinity) ?? 0];
  // Per-bucket counts from cumulative ones.
  const counts = cumulative.map((c, i) => Math.max(0, c - (cumulative[i - 1] ?? 0)));
  return { boundsUs: les.map((l) => Math.round(l * 1e6)), counts };
}
