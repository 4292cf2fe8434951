// Renders a proxy stats snapshot in the Prometheus text format: ops, errors, per-command calls and
// latency histograms, sessions, backend connection states, plus Node process metrics (prom-client).
import { Registry, collectDefaultMetrics } from 'prom-client';
import { LATENCY_BUCKETS_US, type StatsSnapshot } from './stats.js';

const processRegistry = new Registry();
collectDefaultMetrics({ register: processRegistry, prefix: 'shardis_proxy_' });

const esc = (v: string): string => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

export async function renderMetrics(s: StatsSnapshot, product: string): Promise<string> {
  const L = `product="${esc(product)}"`;
  const out: string[] = [];
  const metric = (name: string, type: string, help: string, rows: Array<[string, number]>): void => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, v] of rows) out.push(`${name}{${labels}} ${v}`);
  };
  metric('shardis_proxy_ops_total', 'counter', 'Commands answered.', [[L, s.opsTotal]]);
  metric('shardis_proxy_ops_errors_total', 'counter', 'Commands answered with an error reply.', [[L, s.opsErrors]]);
  metric('shardis_proxy_protocol_errors_total', 'counter', 'Connections closed for unparseable input.', [[L, s.protocolErrors]]);
  metric('shardis_proxy_sessions_total', 'counter', 'Client sessions accepted.', [[L, s.sessionsTotal]]);
  metric('shardis_proxy_sessions_alive', 'gauge', 'Client sessions open now.', [[L, s.sessionsAlive]]);
  metric('shardis_proxy_rejected_connections_total', 'counter', 'Connections refused (max clients, shutting down).', [
    [L, s.rejectedConnections],
  ]);
  const m = s.migration;
  metric(
    'shardis_proxy_migration_move_calls_total',
    'counter',
    'Key-move script calls on migration sources (requests on migrating slots, coalesced per source).',
    [[L, m.calls]],
  );
  metric(
    'shardis_proxy_migration_keys_moved_total',
    'counter',
    'Keys this proxy moved from a migration source to its target before using them.',
    [[L, m.keysMoved]],
  );
  metric(
    'shardis_proxy_migration_in_place_total',
    'counter',
    'One-key requests on migrating slots run on the source, where the key still was.',
    [[L, m.inPlace]],
  );
  metric('shardis_proxy_migration_waits_total', 'counter', 'Waits for a locked slot or a key under a big-key copy.', [[L, m.waits]]);
  metric('shardis_proxy_migration_errors_total', 'counter', 'Key moves that failed (the request got an error).', [[L, m.errors]]);
  metric(
    'shardis_proxy_command_calls_total',
    'counter',
    'Calls per command.',
    s.commands.map((c) => [`${L},command="${esc(c.name)}"`, c.calls]),
  );
  metric(
    'shardis_proxy_command_errors_total',
    'counter',
    'Error replies per command.',
    s.commands.map((c) => [`${L},command="${esc(c.name)}"`, c.errors]),
  );
  out.push(
    '# HELP shardis_proxy_command_duration_seconds Time from request parsed to reply ready, per command.',
    '# TYPE shardis_proxy_command_duration_seconds histogram',
  );
  for (const c of s.commands) {
    const lab = `${L},command="${esc(c.name)}"`;
    let cum = 0;
    LATENCY_BUCKETS_US.forEach((b, i) => {
      cum += c.buckets[i] ?? 0;
      out.push(`shardis_proxy_command_duration_seconds_bucket{${lab},le="${b / 1e6}"} ${cum}`);
    });
    cum += c.buckets[LATENCY_BUCKETS_US.length] ?? 0;
    out.push(`shardis_proxy_command_duration_seconds_bucket{${lab},le="+Inf"} ${cum}`);
    out.push(
      `shardis_proxy_command_duration_seconds_sum{${lab}} ${c.usecs / 1e6}`,
      `shardis_proxy_command_duration_seconds_count{${lab}} ${c.calls}`,
    );
  }
  const byAddr = new Map<string, { up: number; conns: number; inflight: number }>();
  for (const b of s.backends) {
    const cur = byAddr.get(b.addr) ?? { up: 0, conns: 0, inflight: 0 };
    cur.conns++;
    cur.inflight += b.inflight;
    if (b.state === 'connected') cur.up++;
    byAddr.set(b.addr, cur);
  }
  metric(
    'shardis_proxy_backend_connections',
    'gauge',
    'Backend connections per server.',
    [...byAddr].map(([a, v]) => [`${L},backend="${esc(a)}"`, v.conns]),
  );
  metric(
    'shardis_proxy_backend_connections_up',
    'gauge',
    'Backend connections currently connected per server.',
    [...byAddr].map(([a, v]) => [`${L},backend="${esc(a)}"`, v.up]),
  );
  metric(
    'shardis_proxy_backend_inflight',
    'gauge',
    'Requests waiting for a backend reply per server.',
    [...byAddr].map(([a, v]) => [`${L},backend="${esc(a)}"`, v.inflight]),
  );
  return out.join('\n') + '\n' + (await processRegistry.metrics());
}
