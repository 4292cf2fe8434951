// Runs Twemproxy mode: every pool of a validated nutcracker.yml gets its listener (all or nothing: if
// one cannot start, the ones already started are closed and the error is raised), plus nutcracker's
// stats port and, when asked, the HTTP admin address with /metrics. SIGTERM/SIGINT are the caller's.
import type net from 'node:net';
import type http from 'node:http';
import type { ProxyConfig } from '../proxy/config.js';
import type { NutPool } from './config.js';
import { PoolServer, type Logger } from './pool-server.js';
import { hostOf, isLoopbackHost } from '../util/address.js';
import { startStatsPort, startTwemAdmin, statsDocument } from './stats-server.js';

export interface TwemproxyRunOptions {
  pools: NutPool[];
  /** Shared proxy defaults (session limits, backend timeouts, ...); pool keys override them. */
  base: ProxyConfig;
  /** nutcracker's -a / -s; port 0 picks a free one; null disables the stats port. */
  stats: { host: string; port: number } | null;
  /** host:port for /metrics, /stats, /sentinels, /health ('' for none). */
  adminAddr: string;
  /** Bearer token those paths (but /health) need; '' allows only a loopback adminAddr. */
  adminToken?: string;
  log: Logger;
}

export interface TwemproxyRunning {
  servers: PoolServer[];
  /** TCP port per pool name (0 for unix sockets). */
  ports: Map<string, number>;
  statsPort: number;
  adminPort: number;
  shutdown(): Promise<void>;
}

export async function runTwemproxy(o: TwemproxyRunOptions): Promise<TwemproxyRunning> {
  const startTime = Date.now();
  const servers = o.pools.map((p) => new PoolServer(p, o.base, o.log));
  const ports = new Map<string, number>();
  let stats: net.Server | null = null;
  let admin: http.Server | null = null;
  const closeAll = async (): Promise<void> => {
    await Promise.all(servers.map((s) => s.shutdown()));
    await Promise.all([stats, admin].map((srv) => (srv ? new Promise<void>((r) => srv.close(() => r())) : Promise.resolve())));
  };
  try {
    for (const s of servers) {
      try {
        ports.set(s.pool.name, await s.start());
      } catch (e) {
        throw new Error(`pool '${s.pool.name}' (line ${s.pool.line}): cannot listen on ${s.pool.listen.text}: ${(e as Error).message}`);
      }
    }
    if (o.stats) {
      try {
        stats = await startStatsPort(o.stats.host, o.stats.port, () => statsDocument(servers, startTime));
      } catch (e) {
        throw new Error(`cannot open the stats port ${o.stats.host}:${o.stats.port}: ${(e as Error).message}`);
      }
    }
    if (o.adminAddr) {
      const token = o.adminToken ?? '';
      if (!token && !isLoopbackHost(hostOf(o.adminAddr)))
        throw new Error(
          `the admin address ${o.adminAddr} is not on loopback: its /stats and /metrics name every server, so give an admin token (--admin-token or SHARDIS_ADMIN_TOKEN)`,
        );
      const log = o.log;
      try {
        admin = await startTwemAdmin(
          o.adminAddr,
          servers,
          startTime,
          token ? { token, log: { warn: (fields, msg) => log(msg, fields) } } : null,
        );
      } catch (e) {
        throw new Error(`cannot open the admin address ${o.adminAddr}: ${(e as Error).message}`);
      }
    }
  } catch (e) {
    await closeAll();
    throw e;
  }
  const portOf = (srv: net.Server | http.Server | null): number => {
    const a = srv?.address();
    return typeof a === 'object' && a ? a.port : 0;
  };
  return { servers, ports, statsPort: portOf(stats), adminPort: portOf(admin), shutdown: closeAll };
}
