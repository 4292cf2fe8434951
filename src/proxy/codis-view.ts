// The proxy admin API's Codis 3.2 fields (what `codis-admin --proxy=ADDR` and codis-fe's proxy
// links decode): the config under Codis's snake_case names with timesize strings, and the stats
// fields Codis has and Shardis did not (ops.qps, ops.redis.errors, closed, rusage.now/cpu,
// backend.primary_only). Added beside the fields Shardis's own tools read.
import { codisDuration } from '../util/codis-units.js';
import type { ProxyConfig } from './config.js';
import type { StatsSnapshot } from './stats.js';

/** Codis's proxy.Config fields for a Shardis proxy config (secrets left out, as Codis does). */
export function codisProxyConfig(c: ProxyConfig): Record<string, unknown> {
  return {
    proto_type: 'tcp4',
    proxy_addr: c.proxyAddr,
    admin_addr: c.adminAddr,
    jodis_name: '',
    jodis_addr: '',
    jodis_auth: '',
    jodis_timeout: codisDuration(c.jodisTimeout),
    jodis_compatible: false,
    product_name: c.productName,
    proxy_datacenter: c.datacenter,
    proxy_max_clients: c.maxClients,
    backend_ping_period: codisDuration(c.backendPingPeriod),
    backend_recv_timeout: codisDuration(c.backendRecvTimeout),
    backend_max_pipeline: c.backendMaxPipeline,
    backend_primary_only: c.primaryOnly,
    backend_primary_parallel: c.backendParallel,
    backend_keepalive_period: codisDuration(c.backendKeepalive),
    backend_number_databases: c.databases,
    session_recv_timeout: codisDuration(c.sessionRecvTimeout),
    session_max_pipeline: c.sessionMaxPipeline,
    session_keepalive_period: codisDuration(c.sessionKeepalive),
    session_break_on_failure: c.breakOnFailure,
  };
}

/**
 * Client ops/s and CPU share since the previous reading at least a second ago (Codis keeps a
 * per-second rate; here each stats read advances it, and the dashboard reads every stats_period).
 */
export class RateMeter {
  private at = 0;
  private ops = 0;
  private cpuUs = 0;
  private qps = 0;
  private cpu = 0;

  read(opsTotal: number): { qps: number; cpu: number } {
    const now = Date.now();
    const u = process.cpuUsage();
    const cpuUs = u.user + u.system;
    if (this.at === 0 || opsTotal < this.ops) {
      this.at = now;
      this.ops = opsTotal;
      this.cpuUs = cpuUs;
    } else if (now - this.at >= 1000) {
      const secs = (now - this.at) / 1000;
      this.qps = Math.max(0, Math.round((opsTotal - this.ops) / secs));
      this.cpu = Math.max(0, (cpuUs - this.cpuUs) / 1e6 / secs);
      this.at = now;
      this.ops = opsTotal;
      this.cpuUs = cpuUs;
    }
    return { qps: this.qps, cpu: this.cpu };
  }
}

/** Codis's stats fields for a snapshot (merged into the admin API's stats JSON). */
export function codisStatsFields(
  s: StatsSnapshot,
  rate: { qps: number; cpu: number },
  primaryOnly: boolean,
): {
  closed: boolean;
  qps: number;
  redisErrors: number;
  rusage: { now: string; cpu: number };
  backend: { primary_only: boolean };
} {
  let redisErrors = 0;
  for (const c of s.commands) redisErrors += c.errors;
  return {
    closed: false,
    qps: rate.qps,
    redisErrors,
    rusage: { now: new Date().toISOString(), cpu: rate.cpu },
    backend: { primary_only: primaryOnly },
  };
}
