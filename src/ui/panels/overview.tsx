// Overview: the product at a glance (who serves it, how many of what are up, load, memory, keys) and
// the ops/s and p99 charts of the last 15 minutes.
import { Chart } from '../chart.js';
import { fmtBytes, fmtNum, type Cluster } from '../cluster.js';

/** Everything that needs an operator's eye, one line each. */
export function problems(c: Cluster): string[] {
  const out: string[] = [];
  for (const p of c.proxies) {
    if (p.error) out.push(`proxy ${p.id} (${p.adminAddr}) does not answer: ${p.error}`);
    else if (p.needsResync)
      out.push(`proxy ${p.id} (${p.adminAddr}) has an out-of-date slot table${p.lastPushError ? `: ${p.lastPushError}` : ''}`);
  }
  for (const g of c.groups) {
    if (g.sentinelMismatch) out.push(`group ${g.id}: the sentinels say the master is ${g.sentinelMismatch}, the group has ${g.master}`);
    if (g.outOfSync) out.push(`group ${g.id} is out of sync (a push did not reach every proxy)`);
    if (g.promoting) out.push(`group ${g.id} is promoting (${g.promoting})`);
    for (const s of g.servers) {
      if (s.error) out.push(`server ${s.addr} (group ${g.id}) does not answer: ${s.error}`);
      else if (s.replicationProblem) out.push(`server ${s.addr} (group ${g.id}): ${s.replicationProblem}`);
    }
  }
  if (c.totals.slotsOffline > 0) out.push(`${c.totals.slotsOffline} slots are offline (no group): requests for their keys fail`);
  if (c.action.errors > 0) out.push(`migration errors: ${c.action.errors} (last: ${c.action.lastError})`);
  out.push(...c.sentinels.disagreements);
  return out;
}

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
    <tr>
      <th scope="row">{k}</th>
      <td data-testid={`ov-${id}`} class={bad ? 'bad' : ''}>
        {v}
      </td>
    </tr>
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
            {row(
              'Slots assigned / migrating / offline',
              `${t.slotsAssigned} / ${t.slotsMigrating} / ${t.slotsOffline}`,
              'slots',
              t.slotsOffline > 0,
            )}
            {row('Metadata', c.closed ? 'fenced (dashboard lost its lock)' : 'writable', 'closed', c.closed)}
          </tbody>
        </table>
      </div>
      {(() => {
        const list = problems(c);
        return list.length === 0 ? (
          <p class="good" data-testid="problems">
            No problem seen.
          </p>
        ) : (
          <ul class="problems bad" role="alert" data-testid="problems">
            {list.slice(0, 12).map((x) => (
              <li key={x}>⚠ {x}</li>
            ))}
            {list.length > 12 ? <li>… and {list.length - 12} more</li> : null}
          </ul>
        );
      })()}
      <div class="cols">
        <Chart title="ops/s" xs={xs} ys={ops} unit="" color="#58a6ff" testId="chart-ops" />
        <Chart title="p99 latency" xs={xs} ys={p99} unit=" ms" color="#f0883e" testId="chart-p99" />
      </div>
    </section>
  );
}
