// nutcracker's stats document (src/nc_stats.c): the counters Shardis keeps per pool and per server
// in Twemproxy mode, the JSON text in nutcracker's shape and key order, and a parser that reads
// either nutcracker's or Shardis's document (tests and tools use the same parser for both).

export const POOL_FIELDS = ['client_eof', 'client_err', 'client_connections', 'server_ejects', 'forward_error', 'fragments'] as const;
export const SERVER_FIELDS = [
  'server_eof',
  'server_err',
  'server_timedout',
  'server_connections',
  'server_ejected_at',
  'requests',
  'request_bytes',
  'responses',
  'response_bytes',
  'in_queue',
  'in_queue_bytes',
  'out_queue',
  'out_queue_bytes',
] as const;

export type PoolCounters = Record<(typeof POOL_FIELDS)[number], number>;
export type ServerCounters = Record<(typeof SERVER_FIELDS)[number], number>;

export const newPoolCounters = (): PoolCounters => Object.fromEntries(POOL_FIELDS.map((f) => [f, 0])) as PoolCounters;
export const newServerCounters = (): ServerCounters => Object.fromEntries(SERVER_FIELDS.map((f) => [f, 0])) as ServerCounters;

export interface StatsPool {
  name: string;
  counters: PoolCounters;
  servers: Array<{ name: string; counters: ServerCounters }>;
}

export interface StatsDocument {
  service: string;
  source: string;
  version: string;
  uptime: number;
  timestamp: number;
  total_connections: number;
  curr_connections: number;
  pools: Map<string, { counters: PoolCounters; servers: Map<string, ServerCounters> }>;
}

/** The stats document as nutcracker writes it (same keys, same order, same spacing). */
export function renderStats(head: Omit<StatsDocument, 'pools'>, pools: readonly StatsPool[]): string {
  const num = (k: string, v: number): string => `"${k}":${Math.trunc(v)}`;
  const q = (s: string): string => JSON.stringify(s);
  const parts = [
    `"service":${q(head.service)}`,
    `"source":${q(head.source)}`,
    `"version":${q(head.version)}`,
    num('uptime', head.uptime),
    num('timestamp', head.timestamp),
    num('total_connections', head.total_connections),
    num('curr_connections', head.curr_connections),
  ];
  for (const p of pools) {
    const inner = POOL_FIELDS.map((f) => num(f, p.counters[f]));
    const servers = p.servers.map((s) => `${q(s.name)}: {${SERVER_FIELDS.map((f) => num(f, s.counters[f])).join(', ')}}`);
    parts.push(`${q(p.name)}: {${inner.join(', ')}${servers.length ? `, ${servers.join(',')}` : ''}}`);
  }
  return `{${parts.join(', ')}}\n`;
}

/** Parses a nutcracker (or Shardis Twemproxy-mode) stats document; throws on anything else. */
export function parseStats(text: string): StatsDocument {
  const raw = JSON.parse(text) as Record<string, unknown>;
  const str = (k: string): string => {
    if (typeof raw[k] !== 'string') throw new Error(`stats: "${k}" is missing or not a string`);
    return raw[k] as string;
  };
  const int = (o: Record<string, unknown>, k: string, where: string): number => {
    if (typeof o[k] !== 'number') throw new Error(`stats: ${where}"${k}" is missing or not a number`);
    return o[k] as number;
  };
  const head = ['service', 'source', 'version', 'uptime', 'timestamp', 'total_connections', 'curr_connections'];
  const pools: StatsDocument['pools'] = new Map();
  for (const [k, v] of Object.entries(raw)) {
    if (head.includes(k)) continue;
    if (typeof v !== 'object' || v === null) throw new Error(`stats: unexpected top-level field "${k}"`);
    const o = v as Record<string, unknown>;
    const counters = Object.fromEntries(POOL_FIELDS.map((f) => [f, int(o, f, `pool ${k}: `)])) as PoolCounters;
    const servers = new Map<string, ServerCounters>();
    for (const [sk, sv] of Object.entries(o)) {
      if ((POOL_FIELDS as readonly string[]).includes(sk)) continue;
      if (typeof sv !== 'object' || sv === null) throw new Error(`stats: pool ${k}: unexpected field "${sk}"`);
      const so = sv as Record<string, unknown>;
      servers.set(sk, Object.fromEntries(SERVER_FIELDS.map((f) => [f, int(so, f, `server ${k}/${sk}: `)])) as ServerCounters);
    }
    pools.set(k, { counters, servers });
  }
  return {
    service: str('service'),
    source: str('source'),
    version: str('version'),
    uptime: int(raw, 'uptime', ''),
    timestamp: int(raw, 'timestamp', ''),
    total_connections: int(raw, 'total_connections', ''),
    curr_connections: int(raw, 'curr_connections', ''),
    pools,
  };
}
