// Human-readable output of the admin CLI: aligned tables of groups, servers, proxies and slot
// ranges built from the dashboard's stats, and one-line summaries of push reports.
import type { Group } from '../../models/group.js';
import type { SlotMapping } from '../../models/slot-mapping.js';
import type { ProxyModel } from '../../models/proxy.js';
import type { ServerStats } from '../../dashboard/redis-probe.js';
import type { ProxyRuntime } from '../../dashboard/proxy-sync.js';
import type { PushReport } from '../../dashboard/push-report.js';
import { formatRanges } from '../../dashboard/slots-compute.js';

export interface StatsReply {
  closed: boolean;
  slots: SlotMapping[];
  slot_counts: Record<string, number>;
  group: { models: Group[]; stats: Record<string, ServerStats> };
  proxy: { models: ProxyModel[]; stats: Record<string, ProxyRuntime> };
}

export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]): string =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n') + '\n';
}

function totalKeys(st: ServerStats | undefined): string {
  if (!st || st.error) return '-';
  return String(Object.values(st.dbs).reduce((a, b) => a + b, 0));
}

function serverStatus(st: ServerStats | undefined, master: boolean): string {
  if (!st) return 'unknown';
  if (st.error) return `DOWN: ${st.error}`;
  const role = st.stats.role ?? '?';
  if (master && role !== 'master') return `up (WARNING: role ${role})`;
  if (!master && role === 'slave') return `up (link ${st.stats.master_link_status ?? '?'} to ${st.stats.master_addr ?? '?'})`;
  if (!master && role === 'master') return 'up (not replicating: role master)';
  return 'up';
}

export function formatGroups(s: StatsReply): string {
  const rows: string[][] = [];
  const used = (gid: number): number => s.slots.filter((m) => m.group_id === gid).length;
  for (const g of s.group.models) {
    if (g.servers.length === 0) {
      rows.push([String(g.id), '(no servers)', '', '', '', '', '', String(used(g.id)), g.out_of_sync ? 'out of sync' : '']);
      continue;
    }
    g.servers.forEach((srv, i) => {
      const st = s.group.stats[srv.server];
      rows.push([
        String(g.id),
        srv.server,
        i === 0 ? 'master' : 'replica',
        srv.datacenter || '-',
        st?.stats.used_memory_human ?? '-',
        totalKeys(st),
        st?.stats.connected_slaves ?? '-',
        i === 0 ? String(used(g.id)) : '',
        serverStatus(st, i === 0) + (i === 0 && g.out_of_sync ? ' [group out of sync]' : ''),
      ]);
    });
  }
  if (rows.length === 0) return 'no groups\n';
  return table(['GROUP', 'SERVER', 'ROLE', 'DC', 'MEMORY', 'KEYS', 'REPLICAS', 'SLOTS', 'STATUS'], rows);
}

export function formatProxies(s: StatsReply): string {
  if (s.proxy.models.length === 0) return 'no proxies\n';
  const rows = s.proxy.models.map((p) => {
    const r = s.proxy.stats[p.token];
    let status = 'unknown';
    if (r?.error) status = `ERROR: ${r.error}`;
    else if (r?.stats) status = r.stats.online === false ? 'not online' : 'online';
    if (r?.last_push && !r.last_push.ok) status += ` (last push failed: ${r.last_push.error})`;
    return [String(p.id), p.token, p.admin_addr, p.proxy_addr, p.datacenter || '-', status];
  });
  return table(['ID', 'TOKEN', 'ADMIN', 'PROXY', 'DC', 'STATUS'], rows);
}

export function formatSlots(slots: SlotMapping[]): string {
  const byGroup = new Map<number, number[]>();
  for (const m of slots) {
    const l = byGroup.get(m.group_id) ?? [];
    l.push(m.id);
    byGroup.set(m.group_id, l);
  }
  const rows = [...byGroup.entries()]
    .sort((a, b) => (a[0] || 1e9) - (b[0] || 1e9))
    .map(([gid, ids]) => [gid === 0 ? 'offline' : String(gid), String(ids.length), formatRanges(ids)]);
  let out = table(['GROUP', 'SLOTS', 'RANGES'], rows);
  const actions = slots.filter((m) => m.action.state);
  if (actions.length) {
    out +=
      '\n' +
      table(
        ['SLOT', 'ACTION', 'TARGET'],
        actions.map((m) => [String(m.id), m.action.state!, String(m.action.target_id ?? '')]),
      );
  }
  return out;
}

export function formatOverview(o: {
  model: { product_name: string; admin_addr: string; pid: number; start_time: string };
  stats: StatsReply;
}): string {
  const s = o.stats;
  let servers = 0,
    up = 0;
  for (const g of s.group.models)
    for (const srv of g.servers) {
      servers++;
      const st = s.group.stats[srv.server];
      if (st && !st.error) up++;
    }
  const proxiesUp = s.proxy.models.filter((p) => {
    const r = s.proxy.stats[p.token];
    return r?.stats && !r.error;
  }).length;
  const assigned = s.slots.filter((m) => m.group_id !== 0).length;
  const head = [
    `product:   ${o.model.product_name}`,
    `dashboard: ${o.model.admin_addr} (pid ${o.model.pid}, since ${o.model.start_time})`,
    `groups:    ${s.group.models.length}, servers up ${up}/${servers}`,
    `proxies:   ${proxiesUp}/${s.proxy.models.length} up`,
    `slots:     ${assigned}/1024 assigned`,
  ].join('\n');
  return `${head}\n\n${formatGroups(s)}\n${formatProxies(s)}`;
}

/** Lines describing a push report, or [] when there was nothing to say. */
export function pushLines(push: PushReport | undefined): string[] {
  if (!push) return [];
  const lines = [`slot tables pushed to ${push.acked}/${push.proxies} proxies`];
  for (const f of push.failed) lines.push(`  warning: ${f.error}`);
  return lines;
}
