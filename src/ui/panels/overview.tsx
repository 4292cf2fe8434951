// Overview: the product at a glance (who serves it, how many of what are up, load, memory, keys) and
// the ops/s and p99 charts of the last 15 minutes.
import { Chart } from '../chart.js';
import { fmtBytes, fmtNum, type Cluster } from '../cluster.js';

export interface OverviewProps {
  c: Cluster;
  product: string;
  dashboard: { addr: string; coordinator: string; version: string } | undefined;
  xs: number[];
  ops: Array<number | null>;
  p99: Array<number | null>;
}

export function Overview({ c, product, dashboard, xs, ops, p99 }: OverviewProps) {
  const t = c.totals;
  const row = (k: string, v: string, id: string, bad = false) => (
    <tr><th scope="row">{k}</th><td data-testid={`ov-${id}`} class={bad ? 'bad' : ''}>{v}</td></tr>
  );
  return (
    <section aria-label="Overview">
      <div class="cols">
        <table class="kv">
          <tbody>
            {row('Product', product, 'product')}
            {row('Coordinator', dashboard?.coordinator ?? '?', 'coordinator')}
            {row('Dashboard', dashboard ? `${dashboard.addr} (v${dashboard.version})` : '?', 'dashboard')}
            {row('Proxies up / total', `${t.proxiesUp} / ${t.proxies}`, 'proxies', t.proxiesUp < t.proxies)}
            {row('Groups', String(t.groups), 'groups')}
            {row('Servers up / total', `${t.serversUp} / ${t.servers}`, 'servers', t.serversUp < t.servers)}
          </tbody>
        </table>
        <table class="kv">
          <tbody>
            {row('Ops/s (all proxies)', fmtNum(t.opsPerSec), 'ops')}
            {row('Client sessions', fmtNum(t.sessions), 'sessions')}
            {row('Memory (masters)', fmtBytes(t.memory), 'memory')}
            {row('Keys (masters)', fmtNum(t.keys), 'keys')}
            {row('Slots assigned / migrating / offline', `${t.slotsAssigned} / ${t.slotsMigrating} / ${t.slotsOffline}`, 'slots', t.slotsOffline > 0)}
            {row('Metadata', c.closed ? 'fenced (dashboard lost its lock)' : 'writable', 'closed', c.closed)}
          </tbody>
        </table>
      </div>
      <div class="cols">
        <Chart title="ops/s" xs={xs} ys={ops} unit="" color="#58a6ff" testId="chart-ops" />
        <Chart title="p99 latency" xs={xs} ys={p99} unit=" ms" color="#f0883e" testId="chart-p99" />
      </div>
    </section>
  );
}
