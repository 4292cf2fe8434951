// The proxy's INFO reply: its own server, clients, stats and commandstats sections, plus a keyspace
// section summed over every group master.
import os from 'node:os';
import { VERSION, REDIS_COMPAT_VERSION } from '../version.js';
import type { ProxyContext } from './context.js';
import { portTextOf } from '../util/address.js';

/** Sums "db0:keys=1,expires=0,avg_ttl=0" lines from several INFO keyspace replies. */
export function keyspaceOf(replies: Buffer[]): Map<number, { keys: number; expires: number }> {
  const out = new Map<number, { keys: number; expires: number }>();
  for (const r of replies) {
    for (const m of r.toString('utf8').matchAll(/db(\d+):keys=(\d+),expires=(\d+)/g)) {
      const db = Number(m[1]);
      const cur = out.get(db) ?? { keys: 0, expires: 0 };
      cur.keys += Number(m[2]);
      cur.expires += Number(m[3]);
      out.set(db, cur);
    }
  }
  return out;
}

export function infoReply(ctx: ProxyContext, sections: string[], keyspace: Map<number, { keys: number; expires: number }> | null): string {
  const all = sections.length === 0 || sections.some((s) => ['all', 'everything', 'default'].includes(s));
  const want = (s: string): boolean => all || sections.includes(s);
  const st = ctx.stats;
  const uptime = Math.floor((Date.now() - st.startTime) / 1000);
  const out: string[] = [];
  if (want('server')) {
    out.push(
      '# Server',
      `redis_version:${REDIS_COMPAT_VERSION}`,
      `shardis_version:${VERSION}`,
      'redis_mode:standalone',
      `os:${os.type()} ${os.release()} ${os.arch()}`,
      `process_id:${process.pid}`,
      `tcp_port:${portTextOf(ctx.config.proxyAddr)}`,
      `uptime_in_seconds:${uptime}`,
      `uptime_in_days:${Math.floor(uptime / 86400)}`,
      `product_name:${ctx.config.productName}`,
      `worker:${ctx.worker}`,
      '',
    );
  }
  if (want('clients')) {
    out.push(
      '# Clients',
      `connected_clients:${st.sessionsAlive}`,
      `maxclients:${ctx.config.maxClients}`,
      `blocked_clients:${ctx.apps.blocked.size}`,
      `pubsub_channels_patterns:${ctx.apps.pubsub.size}`,
      `borrowed_connections:${ctx.apps.borrowed.inUse()}`,
      '',
    );
  }
  // The cluster façade (src/proxy/apps/cluster-facade.ts): cluster clients check cluster_enabled first.
  if (want('cluster')) out.push('# Cluster', `cluster_enabled:${ctx.config.clusterFacade ? 1 : 0}`, '');
  if (want('memory')) {
    const m = process.memoryUsage();
    out.push('# Memory', `used_memory:${m.heapUsed}`, `used_memory_rss:${m.rss}`, '');
  }
  if (want('stats')) {
    out.push(
      '# Stats',
      `total_connections_received:${st.sessionsTotal}`,
      `total_commands_processed:${st.opsTotal}`,
      `total_error_replies:${st.opsErrors}`,
      `total_net_input_bytes:${st.netInputBytes}`,
      `rejected_connections:${st.rejectedConnections}`,
      `protocol_errors:${st.protocolErrors}`,
      `slots_served:${ctx.router.servedSlots()}`,
      `backend_servers:${ctx.router.masters().length}`,
      '',
    );
  }
  if (sections.includes('commandstats') || sections.includes('everything') || sections.includes('all')) {
    out.push('# Commandstats');
    for (const c of [...st.commands.values()].sort((a, b) => a.name.localeCompare(b.name))) {
      out.push(
        `cmdstat_${c.name}:calls=${c.calls},usec=${Math.round(c.usecs)},usec_per_call=${c.calls ? (c.usecs / c.calls).toFixed(2) : '0.00'},rejected_calls=0,failed_calls=${c.errors}`,
      );
    }
    out.push('');
  }
  if (want('keyspace')) {
    out.push('# Keyspace');
    if (keyspace)
      for (const [db, v] of [...keyspace].sort((a, b) => a[0] - b[0])) out.push(`db${db}:keys=${v.keys},expires=${v.expires},avg_ttl=0`);
    out.push('');
  }
  return out.join('\r\n');
}
