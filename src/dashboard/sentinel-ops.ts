// The dashboard's commands to stock redis-sentinel (Codis topom_sentinel.go / utils/redis/sentinel.go):
// probe a sentinel before adding it, make one sentinel monitor exactly the product's group masters as
// `<product>-<gid>` with the configured options, remove the product from a sentinel, and read what a
// sentinel knows (INFO, the product's masters and their replicas).
import { masterName, pairs, redisCall, sentinelMasters, type MonitoredMaster } from '../ha/sentinels.js';
import { parseInfo } from './redis-probe.js';
import type { DashboardConfig } from './config.js';
import { parseAddr } from '../util/address.js';

export interface MonitorTarget {
  gid: number;
  master: string;
}

function split(addr: string): [string, string] {
  const { host, port } = parseAddr(addr);
  return [host, String(port)];
}

/** Checks that `addr` is a redis-sentinel that can persist its config (Codis: SENTINEL FLUSHCONFIG). */
export async function probeSentinel(addr: string, timeoutMs: number): Promise<Record<string, string>> {
  let info: Record<string, string>;
  try {
    info = parseInfo(String(await redisCall(addr, timeoutMs, ['INFO', 'server'])));
  } catch (e) {
    throw new Error(`cannot reach a sentinel at ${addr}: ${(e as Error).message}`);
  }
  if (info.redis_mode !== 'sentinel') throw new Error(`${addr} is not a redis-sentinel (redis_mode ${info.redis_mode ?? '?'})`);
  try {
    await redisCall(addr, timeoutMs, ['SENTINEL', 'FLUSHCONFIG']);
  } catch (e) {
    throw new Error(`sentinel at ${addr} cannot rewrite its config file (SENTINEL FLUSHCONFIG: ${(e as Error).message})`);
  }
  return info;
}

/**
 * Makes the sentinel at `addr` monitor exactly `targets` among the product's masters: names of
 * removed groups are dropped, a master whose address differs is re-monitored, and every master gets
 * the configured options (SENTINEL SET). Returns what changed.
 */
export async function configureSentinel(
  addr: string,
  product: string,
  targets: readonly MonitorTarget[],
  cfg: DashboardConfig,
): Promise<{ removed: string[]; monitored: string[] }> {
  const t = cfg.sentinelClientTimeout;
  const have = new Map((await sentinelMasters(addr, product, t)).map((m) => [m.gid, m]));
  const want = new Map(targets.map((x) => [x.gid, x]));
  const removed: string[] = [];
  const monitored: string[] = [];
  for (const [gid, m] of have) {
    const w = want.get(gid);
    if (!w || w.master !== m.addr) {
      await redisCall(addr, t, ['SENTINEL', 'REMOVE', m.name]);
      removed.push(m.name);
      have.delete(gid);
    }
  }
  for (const w of targets) {
    const name = masterName(product, w.gid);
    if (!have.has(w.gid)) {
      const [host, port] = split(w.master);
      await redisCall(addr, t, ['SENTINEL', 'MONITOR', name, host, port, String(cfg.sentinelQuorum)]);
      monitored.push(name);
    }
    const set = [
      'SENTINEL',
      'SET',
      name,
      'down-after-milliseconds',
      String(cfg.sentinelDownAfter),
      'failover-timeout',
      String(cfg.sentinelFailoverTimeout),
      'parallel-syncs',
      String(cfg.sentinelParallelSyncs),
      'quorum',
      String(cfg.sentinelQuorum),
    ];
    if (cfg.productAuth) set.push('auth-pass', cfg.productAuth);
    await redisCall(addr, t, set);
    // Scripts can only be set when the sentinel allows it (sentinel deny-scripts-reconfig no).
    if (cfg.sentinelNotificationScript)
      await redisCall(addr, t, ['SENTINEL', 'SET', name, 'notification-script', cfg.sentinelNotificationScript]);
    if (cfg.sentinelClientReconfigScript)
      await redisCall(addr, t, ['SENTINEL', 'SET', name, 'client-reconfig-script', cfg.sentinelClientReconfigScript]);
  }
  if (removed.length || monitored.length) await redisCall(addr, t, ['SENTINEL', 'FLUSHCONFIG']).catch(() => undefined);
  return { removed, monitored };
}

/** Drops every master of the product from the sentinel at `addr`. */
export async function removeProduct(addr: string, product: string, timeoutMs: number): Promise<string[]> {
  const names = (await sentinelMasters(addr, product, timeoutMs)).map((m) => m.name);
  for (const n of names) await redisCall(addr, timeoutMs, ['SENTINEL', 'REMOVE', n]);
  if (names.length) await redisCall(addr, timeoutMs, ['SENTINEL', 'FLUSHCONFIG']).catch(() => undefined);
  return names;
}

/** Drops one group's master from the sentinel (before a planned promotion). */
export async function removeGroup(addr: string, product: string, gid: number, timeoutMs: number): Promise<boolean> {
  try {
    await redisCall(addr, timeoutMs, ['SENTINEL', 'REMOVE', masterName(product, gid)]);
    return true;
  } catch (e) {
    if (/No such master/i.test((e as Error).message)) return false;
    throw e;
  }
}

/** `INFO` of a sentinel, parsed. */
export async function sentinelInfo(addr: string, timeoutMs: number): Promise<Record<string, string>> {
  return parseInfo(String(await redisCall(addr, timeoutMs, ['INFO'])));
}

export interface MonitoredGroup extends MonitoredMaster {
  replicas: Array<{ addr: string; flags: string; master_link_status: string }>;
}

/** The product's masters the sentinel monitors, with the replicas it knows for each. */
export async function monitoredBy(addr: string, product: string, timeoutMs: number): Promise<MonitoredGroup[]> {
  const masters = await sentinelMasters(addr, product, timeoutMs);
  return Promise.all(
    masters.map(async (m) => {
      const reps = await redisCall(addr, timeoutMs, ['SENTINEL', 'REPLICAS', m.name]);
      const replicas = (Array.isArray(reps) ? reps : []).map((r) => {
        const o = pairs(r);
        return { addr: `${o.ip}:${o.port}`, flags: o.flags ?? '', master_link_status: o['master-link-status'] ?? '' };
      });
      return { ...m, replicas };
    }),
  );
}
