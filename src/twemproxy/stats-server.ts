// Observability of Twemproxy mode: nutcracker's stats port (a plain TCP socket; each accepted
// connection gets one JSON document, then is closed — what nutcracker exporters read) and an HTTP
// admin address with Prometheus /metrics (per pool and per server counters, ops, sessions), the same
// JSON at /stats, the sentinel state at /sentinels and /health.
import { AuthError, AuthGuard, bearerToken, type WarnLog } from '../util/admin-auth.js';
import { tokensEqual } from '../models/auth.js';
import net from 'node:net';
import http from 'node:http';
import { hostname } from 'node:os';
import { VERSION } from '../version.js';
import { parseAddr } from '../util/address.js';
import type { PoolServer } from './pool-server.js';
import { newPoolCounters, POOL_FIELDS, renderStats, SERVER_FIELDS, type ServerCounters, type StatsPool } from './stats-json.js';
import { at } from '../util/at.js';

/** The current stats of all pools, in nutcracker's terms. */
export function collectStats(
  pools: readonly PoolServer[],
  startTime: number,
): { head: Parameters<typeof renderStats>[0]; pools: StatsPool[] } {
  let total = 0,
    curr = 0;
  const out: StatsPool[] = [];
  for (const p of pools) {
    const st = p.ctx.stats;
    total += st.sessionsTotal;
    curr += st.sessionsAlive;
    const counters = { ...newPoolCounters(), ...p.placement.counters };
    counters.client_connections = st.sessionsAlive;
    counters.client_eof = st.sessionsTotal - st.sessionsAlive;
    counters.client_err = st.protocolErrors;
    const servers = p.pool.servers.map((s, i) => {
      const c: ServerCounters = { ...at(p.placement.serverCounters, i, 'server counters') };
      const state = p.serverState(at(p.placement.addrs, i, 'pool server'));
      c.server_connections = state.connected;
      c.in_queue = state.inflight;
      c.server_ejected_at = at(p.placement.ejector.ejectedAt, i, 'server ejection time');
      return { name: s.name, counters: c };
    });
    out.push({ name: p.pool.name, counters, servers });
  }
  const head = {
    service: 'nutcracker',
    source: hostname(),
    version: `0.5.0 (shardis ${VERSION})`,
    uptime: Math.floor((Date.now() - startTime) / 1000),
    timestamp: Math.floor(Date.now() / 1000),
    total_connections: total,
    curr_connections: curr,
  };
  return { head, pools: out };
}

/** The current stats document of all pools, in nutcracker's shape. */
export function statsDocument(pools: readonly PoolServer[], startTime: number): string {
  const c = collectStats(pools, startTime);
  return renderStats(c.head, c.pools);
}

/** nutcracker's stats port: one document per connection. */
export function startStatsPort(host: string, port: number, render: () => string): Promise<net.Server> {
  const server = net.createServer((s) => {
    s.on('error', () => {
      /* client went away */
    });
    s.end(render());
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port }, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

const esc = (v: string): string => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const COUNTER_FIELDS = new Set([
  'client_eof',
  'client_err',
  'server_ejects',
  'forward_error',
  'fragments',
  'server_eof',
  'server_err',
  'server_timedout',
  'requests',
  'request_bytes',
  'responses',
  'response_bytes',
]);

/** Prometheus text: nutcracker's counters with pool/server labels, plus ops and sessions per pool. */
export function renderTwemMetrics(pools: readonly PoolServer[]): string {
  const out: string[] = [];
  const family = (name: string, type: string, help: string, rows: Array<[string, number]>): void => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [l, v] of rows) out.push(`${name}{${l}} ${v}`);
  };
  const doc = collectStats(pools, Date.now()).pools;
  for (const f of POOL_FIELDS) {
    family(
      `shardis_twemproxy_pool_${f}${COUNTER_FIELDS.has(f) ? '_total' : ''}`,
      COUNTER_FIELDS.has(f) ? 'counter' : 'gauge',
      `nutcracker pool stat ${f}.`,
      doc.map((p) => [`pool="${esc(p.name)}"`, p.counters[f]]),
    );
  }
  for (const f of SERVER_FIELDS) {
    const rows: Array<[string, number]> = [];
    for (const p of doc)
      for (const s of p.servers)
        rows.push([`pool="${esc(p.name)}",server="${esc(s.name)}"`, f === 'server_ejected_at' ? s.counters[f] / 1e6 : s.counters[f]]);
    family(
      `shardis_twemproxy_server_${f}${COUNTER_FIELDS.has(f) ? '_total' : ''}`,
      COUNTER_FIELDS.has(f) ? 'counter' : 'gauge',
      f === 'server_ejected_at' ? "Unix time (s) of the server's last ejection, 0 if never." : `nutcracker server stat ${f}.`,
      rows,
    );
  }
  family(
    'shardis_twemproxy_server_live',
    'gauge',
    '1 when the server is in the distribution (not ejected).',
    pools.flatMap((p) =>
      p.pool.servers.map((s, i): [string, number] => [
        `pool="${esc(p.pool.name)}",server="${esc(s.name)}"`,
        p.placement.dist.isLive(i) ? 1 : 0,
      ]),
    ),
  );
  family(
    'shardis_proxy_ops_total',
    'counter',
    'Commands answered.',
    pools.map((p) => [`pool="${esc(p.pool.name)}"`, p.ctx.stats.opsTotal]),
  );
  family(
    'shardis_proxy_ops_errors_total',
    'counter',
    'Commands answered with an error reply.',
    pools.map((p) => [`pool="${esc(p.pool.name)}"`, p.ctx.stats.opsErrors]),
  );
  family(
    'shardis_proxy_sessions_alive',
    'gauge',
    'Client sessions open now.',
    pools.map((p) => [`pool="${esc(p.pool.name)}"`, p.ctx.stats.sessionsAlive]),
  );
  family(
    'shardis_twemproxy_sentinel_switches_total',
    'counter',
    'Pool servers moved to a new master after a Sentinel failover.',
    pools.filter((p) => p.sentinels).map((p) => [`pool="${esc(p.pool.name)}"`, p.sentinels!.status().switches]),
  );
  return out.join('\n') + '\n';
}

/**
 * HTTP admin: /metrics, /stats (the stats document), /sentinels, /health. Every path but /health names
 * the servers, so with a `token` they need `Authorization: Bearer <token>` (constant-time compare;
 * refusals logged and rate-limited per address, util/admin-auth.ts); without one the caller keeps the
 * address on loopback (run.ts refuses otherwise).
 */
export function startTwemAdmin(
  addr: string,
  pools: readonly PoolServer[],
  startTime: number,
  auth: { token: string; log: WarnLog } | null = null,
): Promise<http.Server> {
  const guard = auth ? new AuthGuard(auth.log, 'twemproxy admin') : null;
  const server = http.createServer((req, res) => {
    const send = (code: number, type: string, body: string, headers: Record<string, string> = {}): void => {
      res.writeHead(code, { 'content-type': type, ...headers });
      res.end(body);
    };
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    if (auth && guard && path !== '/health') {
      const ip = req.socket.remoteAddress ?? '';
      try {
        guard.checkNotLocked(ip, req.method ?? 'GET', path);
        const t = bearerToken(req.headers.authorization);
        if (!t || !tokensEqual(t, auth.token)) {
          guard.failed(ip, req.method ?? 'GET', path, t ? 'wrong token' : 'no token');
          throw new AuthError(t ? 403 : 401, 'this path needs "Authorization: Bearer <admin token>"');
        }
      } catch (e) {
        const a = e as AuthError;
        send(
          a.statusCode,
          'application/json',
          JSON.stringify({ error: a.message }),
          a.retryAfterSec ? { 'retry-after': String(a.retryAfterSec) } : {},
        );
        return;
      }
    }
    if (path === '/metrics') send(200, 'text/plain; version=0.0.4', renderTwemMetrics(pools));
    else if (path === '/stats') send(200, 'application/json', statsDocument(pools, startTime));
    else if (path === '/sentinels')
      send(
        200,
        'application/json',
        JSON.stringify(Object.fromEntries(pools.filter((p) => p.sentinels).map((p) => [p.pool.name, p.sentinels!.status()]))),
      );
    else if (path === '/health')
      send(
        200,
        'application/json',
        JSON.stringify({ status: 'ok', mode: 'twemproxy', version: VERSION, pools: pools.map((p) => p.pool.name) }),
      );
    else send(404, 'application/json', JSON.stringify({ error: `no such path ${path}: try /metrics, /stats, /sentinels, /health` }));
  });
  const { host, port } = parseAddr(addr, { allowEmptyHost: true, allowPortZero: true });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port }, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}
