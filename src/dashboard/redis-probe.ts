// Talking to group servers (stock redis-server): the probe run before a server is added (PING and
// INFO server, authenticated with product_auth) and the INFO polling behind the stats, over one
// connection per server (redis-conn.ts, so every failure keeps its real cause: connection refused,
// NOAUTH, timeout).
import { parseAddr } from '../util/address.js';
import { RedisConn, RedisReplyError } from './redis-conn.js';

/** INFO fields the dashboard shows per server (plus every `dbN` keyspace line). */
const INFO_FIELDS = [
  'redis_version',
  'redis_mode',
  'run_id',
  'uptime_in_seconds',
  'role',
  'master_host',
  'master_port',
  'master_link_status',
  'master_link_down_since_seconds',
  'connected_slaves',
  'connected_clients',
  'used_memory',
  'used_memory_human',
  'maxmemory',
  'maxmemory_human',
  'maxmemory_policy',
  'instantaneous_ops_per_sec',
  'total_commands_processed',
  'loading',
  'rdb_bgsave_in_progress',
  'master_repl_offset',
  'slave_repl_offset',
];

export interface ServerStats {
  /** Selected INFO fields (strings, as Redis reports them), plus `master_addr` for replicas. */
  stats: Record<string, string>;
  /** Keys per database, from `INFO keyspace`. */
  dbs: Record<string, number>;
  error?: string;
  timeout?: boolean;
  unixtime: number;
}

export function parseInfo(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split(/\r?\n/)) {
    if (!line || line.startsWith('#')) continue;
    const i = line.indexOf(':');
    if (i > 0) out[line.slice(0, i)] = line.slice(i + 1);
  }
  return out;
}

/** Replicas in state=online (synced and streaming) among the `slaveN` lines of INFO replication. */
export function onlineReplicas(info: Record<string, string>): number {
  let n = 0;
  for (const [k, v] of Object.entries(info)) if (/^slave\d+$/.test(k) && /(^|,)state=online(,|$)/.test(v)) n++;
  return n;
}

/** Seconds since each online replica last acknowledged (`lag=` of its `slaveN` line). */
export function onlineReplicaLags(info: Record<string, string>): number[] {
  const out: number[] = [];
  for (const [k, v] of Object.entries(info)) {
    if (!/^slave\d+$/.test(k) || !/(^|,)state=online(,|$)/.test(v)) continue;
    const lag = /(?:^|,)lag=(\d+)/.exec(v)?.[1];
    out.push(lag === undefined ? 0 : Number(lag));
  }
  return out;
}

export function summarizeInfo(info: Record<string, string>): Pick<ServerStats, 'stats' | 'dbs'> {
  const stats: Record<string, string> = {};
  const dbs: Record<string, number> = {};
  for (const k of INFO_FIELDS) {
    const v = info[k];
    if (v !== undefined) stats[k] = v;
  }
  if (info.master_host) stats.master_addr = `${info.master_host}:${info.master_port ?? ''}`;
  if (info.role === 'master') {
    stats.online_replicas = String(onlineReplicas(info));
    stats.online_replica_lags = onlineReplicaLags(info).join(',');
  }
  for (const [k, v] of Object.entries(info)) {
    const db = /^db(\d+)$/.exec(k)?.[1];
    if (db === undefined) continue;
    stats[k] = v;
    const keys = /keys=(\d+)/.exec(v);
    dbs[db] = keys ? Number(keys[1]) : 0;
  }
  return { stats, dbs };
}

/** Connects and authenticates with product_auth (if any). */
async function open(addr: string, auth: string, timeoutMs: number): Promise<RedisConn> {
  const c = await RedisConn.connect(addr, timeoutMs);
  if (auth) {
    try {
      await c.command('AUTH', auth);
    } catch (e) {
      c.close();
      throw e;
    }
  }
  return c;
}

/** A person-readable reason for a failed redis call. */
function redisError(addr: string, e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  const msg = err?.message ?? String(e);
  if (/^NOAUTH/i.test(msg)) return `redis at ${addr} requires a password: set product_auth to its requirepass`;
  if (/^WRONGPASS|invalid password|invalid username-password/i.test(msg)) return `redis at ${addr} rejected product_auth: ${msg}`;
  if (/without any password configured|no password is set/i.test(msg))
    return `redis at ${addr} has no password but product_auth is set: ${msg}`;
  if (msg === 'timed out') return `redis at ${addr} did not answer in time`;
  if (err?.code === 'ECONNREFUSED') return `cannot connect to redis at ${addr}: connection refused (is redis-server running there?)`;
  if (err?.code === 'ENOTFOUND' || err?.code === 'EAI_AGAIN') return `cannot resolve the host of ${addr}`;
  if (err?.code) return `cannot connect to redis at ${addr}: ${msg}`;
  if (e instanceof RedisReplyError) return `redis at ${addr} answered with an error: ${msg}`;
  return `redis at ${addr}: ${msg}`;
}

/**
 * Checks that `addr` is a usable redis server for this product: it accepts our password and answers
 * PING and INFO server. Returns the INFO fields; throws an Error with a message a person can act on.
 */
export async function probeRedis(addr: string, auth: string, timeoutMs: number): Promise<Record<string, string>> {
  parseAddr(addr);
  let c: RedisConn | null = null;
  try {
    c = await open(addr, auth, timeoutMs);
    const pong = await c.command('PING');
    if (pong !== 'PONG') throw new Error(`unexpected PING reply ${JSON.stringify(pong)}`);
    const info = parseInfo(String(await c.command('INFO', 'server')));
    if (!info.redis_version) throw new Error('INFO server did not report redis_version; is this a redis server?');
    if (info.redis_mode === 'sentinel') throw new Error('it is a redis-sentinel, not a data server');
    if (info.redis_mode === 'cluster') throw new Error('it runs in cluster mode; group servers must be stand-alone redis');
    return info;
  } catch (e) {
    throw new Error(redisError(addr, e));
  } finally {
    c?.close();
  }
}

/**
 * Every INFO field of a group server, plus `master_addr` for a replica and `maxmemory` from CONFIG
 * GET (Codis InfoFull, behind GET /api/topom/group/info/:addr).
 */
export async function infoFull(addr: string, auth: string, timeoutMs: number): Promise<Record<string, string>> {
  let c: RedisConn | null = null;
  try {
    c = await open(addr, auth, timeoutMs);
    const info = parseInfo(String(await c.command('INFO')));
    if (info.master_host || info.master_port) info.master_addr = `${info.master_host ?? ''}:${info.master_port ?? ''}`;
    const mm = await c.command('CONFIG', 'GET', 'maxmemory');
    if (Array.isArray(mm) && mm[1] !== undefined && mm[1] !== null) info.maxmemory = String(mm[1]);
    return info;
  } catch (e) {
    throw new Error(redisError(addr, e));
  } finally {
    c?.close();
  }
}

/** Keeps one connection per server for stats polling; a failed connection is dropped and redialed next time. */
export class RedisStatsPool {
  private readonly conns = new Map<string, RedisConn>();
  constructor(
    private readonly auth: string,
    private readonly timeoutMs: number,
  ) {}

  async poll(addr: string): Promise<ServerStats> {
    const unixtime = Math.floor(Date.now() / 1000);
    let c = this.conns.get(addr);
    try {
      if (!c || !c.alive) {
        c?.close();
        this.conns.delete(addr);
        c = await open(addr, this.auth, this.timeoutMs);
        this.conns.set(addr, c);
      }
      const text = String(await c.command('INFO'));
      return { ...summarizeInfo(parseInfo(text)), unixtime };
    } catch (e) {
      c?.close();
      this.conns.delete(addr);
      const error = redisError(addr, e);
      return { stats: {}, dbs: {}, error, timeout: /did not answer in time/.test(error) || undefined, unixtime };
    }
  }

  /** Runs one command on the pooled connection to `addr` (dialed if needed). */
  async command(addr: string, ...args: string[]): Promise<unknown> {
    let c = this.conns.get(addr);
    if (!c || !c.alive) {
      c?.close();
      c = await open(addr, this.auth, this.timeoutMs);
      this.conns.set(addr, c);
    }
    return c.command(...args);
  }

  /** Closes connections to servers no longer in `keep`. */
  retain(keep: Set<string>): void {
    for (const [a, c] of this.conns)
      if (!keep.has(a)) {
        c.close();
        this.conns.delete(a);
      }
  }

  close(): void {
    for (const c of this.conns.values()) c.close();
    this.conns.clear();
  }
}
