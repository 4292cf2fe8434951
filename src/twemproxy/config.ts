// Reads a nutcracker.yml (twemproxy 0.5.0's format, src/nc_conf.c) into validated pools: every pool
// key nutcracker knows, with its defaults, plus the `sentinels:` extension (the twemproxy sentinel
// branch's syntax: `host:port[:weight]`, and per server the name is the Sentinel master name).
// Everything is checked before anything starts; every error names the file line. Memcached pools
// (no `redis: true`) are refused: Shardis speaks Redis only.
import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument, isMap, isSeq, isScalar, type Node, type Pair } from 'yaml';
import { isHashName, type HashName } from './hashes.js';
import { DISTRIBUTIONS, type DistributionName } from './distribution.js';

export class NutcrackerConfigError extends Error {}

export type NutListen =
  { kind: 'tcp'; host: string; port: number; text: string } | { kind: 'unix'; path: string; mode: number; text: string };

export interface NutServer {
  /** `host:port` (or the socket path) the proxy connects to at start. */
  addr: string;
  host: string;
  port: number;
  weight: number;
  /** The ketama name and stats key: the given name, else `host:port` (`host` alone for port 11211). */
  name: string;
  /** The name written after the address, if any (the Sentinel master name in a sentinel pool). */
  givenName: string;
  /** The line as written before the name (`host:port:weight`). */
  pname: string;
  line: number;
}

export interface NutPool {
  name: string;
  line: number;
  listen: NutListen;
  hash: HashName;
  hashTag: string;
  distribution: DistributionName;
  /** ms; -1 waits forever. */
  timeout: number;
  backlog: number;
  preconnect: boolean;
  redis: boolean;
  redisAuth: string;
  redisDb: number;
  serverConnections: number;
  autoEjectHosts: boolean;
  /** ms. */
  serverRetryTimeout: number;
  serverFailureLimit: number;
  clientConnections: number;
  tcpkeepalive: boolean;
  reuseport: boolean;
  servers: NutServer[];
  /** Sentinel addresses (host:port); empty for a plain pool. */
  sentinels: string[];
}

const POOL_KEYS = new Set([
  'listen',
  'hash',
  'hash_tag',
  'distribution',
  'timeout',
  'backlog',
  'preconnect',
  'redis',
  'redis_auth',
  'redis_db',
  'server_connections',
  'auto_eject_hosts',
  'server_retry_timeout',
  'server_failure_limit',
  'client_connections',
  'tcpkeepalive',
  'reuseport',
  'servers',
  'sentinels',
]);

function validPort(p: number): boolean {
  return Number.isInteger(p) && p > 0 && p < 65536;
}

/** nutcracker's string_compare: shorter first, then bytewise. */
export function compareNames(a: { name: string }, b: { name: string }): number {
  const x = Buffer.from(a.name),
    y = Buffer.from(b.name);
  return x.length !== y.length ? x.length - y.length : Buffer.compare(x, y);
}

/** Parses `host:port:weight [name]` or `/path:weight [name]` the way nutcracker's conf_add_server does. */
export function parseServerLine(value: string): Omit<NutServer, 'line'> | string {
  const format = 'has an invalid "hostname:port:weight [name]" or "/path/unix_socket:weight [name]" format string';
  const sp = value.lastIndexOf(' ');
  const givenName = sp >= 0 ? value.slice(sp + 1) : '';
  const pname = sp >= 0 ? value.slice(0, sp).trimEnd() : value;
  if (sp >= 0 && givenName === '') return format;
  const wi = pname.lastIndexOf(':');
  if (wi < 0) return format;
  const weightText = pname.slice(wi + 1);
  const rest = pname.slice(0, wi);
  const unix = value.startsWith('/');
  let host = rest,
    port = 0;
  if (!unix) {
    const pi = rest.lastIndexOf(':');
    if (pi < 0) return format;
    host = rest.slice(0, pi);
    if (!/^\d+$/.test(rest.slice(pi + 1))) return 'has an invalid port in "hostname:port:weight [name]" format string';
    port = Number(rest.slice(pi + 1));
    if (!validPort(port)) return 'has an invalid port in "hostname:port:weight [name]" format string';
    if (host === '') return format;
  }
  if (!/^\d+$/.test(weightText)) return 'has an invalid weight in "hostname:port:weight [name]" format string';
  const weight = Number(weightText);
  if (weight === 0) return 'has a zero weight in "hostname:port:weight [name]" format string';
  const addr = unix ? rest : `${host}:${port}`;
  const name = givenName !== '' ? givenName : unix ? rest : port === 11211 ? host : addr;
  return { addr, host, port, weight, name, givenName, pname };
}

function parseListen(v: string): NutListen | string {
  if (v.startsWith('/')) {
    const sp = v.lastIndexOf(' ');
    if (sp < 0) return { kind: 'unix', path: v, mode: 0, text: v };
    const perm = v.slice(sp + 1);
    if (!/^[0-7]+$/.test(perm) || parseInt(perm, 8) > 0o777)
      return 'has an invalid file permission in "socket_path permission" format string';
    return { kind: 'unix', path: v.slice(0, sp), mode: parseInt(perm, 8), text: v };
  }
  const i = v.lastIndexOf(':');
  if (i < 0) return 'has an invalid "hostname:port" format string';
  const portText = v.slice(i + 1);
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || !validPort(port)) return 'has an invalid port in "hostname:port" format string';
  const host = v.slice(0, i).replace(/^\[(.*)\]$/, '$1');
  if (host === '') return 'has an invalid "hostname:port" format string';
  return { kind: 'tcp', host, port, text: v };
}

/** Reads and validates a nutcracker.yml file. Throws NutcrackerConfigError naming `file:line`. */
export function readNutcrackerConfig(file: string): NutPool[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new NutcrackerConfigError(`${file}: cannot read: ${(e as Error).message}`);
  }
  return parseNutcrackerConfig(text, file);
}

/** Parses and validates nutcracker.yml text (`file` only names it in errors). */
export function parseNutcrackerConfig(text: string, file = 'nutcracker.yml'): NutPool[] {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, uniqueKeys: true, prettyErrors: false });
  const lineOf = (n: Node | Pair | null | undefined): number => {
    const r =
      n && 'range' in n
        ? n.range
        : n && 'key' in n && n.key && typeof n.key === 'object' && 'range' in n.key
          ? (n.key as Node).range
          : undefined;
    return r ? lc.linePos(r[0]).line : 0;
  };
  const fail = (line: number, msg: string): never => {
    throw new NutcrackerConfigError(`${file}:${line}: ${msg}`);
  };
  const first = doc.errors[0];
  if (first !== undefined) fail(first.linePos?.[0]?.line ?? 0, `malformed YAML: ${first.message.split('\n')[0]}`);
  const root = doc.contents;
  if (root === null || !isMap(root)) return fail(lineOf(root) || 1, 'the file must be a mapping of pool names to pools');
  const pools: NutPool[] = [];
  for (const pair of root.items) {
    const poolLine = lineOf(pair.key as Node);
    const poolName = isScalar(pair.key) ? String(pair.key.value) : '';
    if (poolName === '') fail(poolLine, 'a pool needs a name');
    const body = pair.value;
    if (!isMap(body)) return fail(poolLine, `pool '${poolName}' must be a mapping of directives`);
    const seen = new Map<string, Node>();
    for (const item of body.items) {
      const key = isScalar(item.key) ? String(item.key.value) : '';
      const line = lineOf(item.key as Node);
      if (!POOL_KEYS.has(key)) fail(line, `directive "${key}" in pool '${poolName}' is unknown to nutcracker`);
      seen.set(key, (item.value ?? item.key) as Node);
    }
    const at = (k: string): number => lineOf(seen.get(k)) || poolLine;
    const scalar = (k: string): string | undefined => {
      const n = seen.get(k);
      if (n === undefined) return undefined;
      if (!isScalar(n) || n.value === null || typeof n.value === 'object') return fail(at(k), `directive "${k}:" needs a single value`);
      return String(n.value as string | number | boolean);
    };
    const num = (k: string, def: number, min = 0): number => {
      const v = scalar(k);
      if (v === undefined) return def;
      if (!/^-?\d+$/.test(v)) return fail(at(k), `directive "${k}:" is not a number: '${v}'`);
      const n = Number(v);
      if (n < min) fail(at(k), `directive "${k}:" must be at least ${min}`);
      return n;
    };
    const bool = (k: string, def: boolean): boolean => {
      const v = scalar(k);
      if (v === undefined) return def;
      if (v !== 'true' && v !== 'false') fail(at(k), `directive "${k}:" is not "true" or "false": '${v}'`);
      return v === 'true';
    };
    const listenText = scalar('listen');
    if (listenText === undefined) fail(poolLine, `pool '${poolName}': directive "listen:" is missing`);
    const listen = parseListen(listenText!);
    if (typeof listen === 'string') return fail(at('listen'), `directive "listen:" ${listen}`);
    const hash = scalar('hash') ?? 'fnv1a_64';
    if (!isHashName(hash))
      return fail(
        at('hash'),
        `directive "hash:" has an unknown hash function '${hash}' (one of one_at_a_time, md5, crc16, crc32, crc32a, fnv1_64, fnv1a_64, fnv1_32, fnv1a_32, hsieh, murmur, jenkins)`,
      );
    const distribution = scalar('distribution') ?? 'ketama';
    if (!(DISTRIBUTIONS as readonly string[]).includes(distribution))
      fail(at('distribution'), `directive "distribution:" has an unknown distribution '${distribution}' (ketama, modula or random)`);
    const hashTag = scalar('hash_tag') ?? '';
    if (seen.has('hash_tag') && Buffer.byteLength(hashTag) !== 2)
      fail(at('hash_tag'), 'directive "hash_tag:" must be exactly two characters, e.g. "{}"');
    const redis = bool('redis', false);
    if (!redis)
      fail(
        seen.has('redis') ? at('redis') : poolLine,
        `pool '${poolName}' is a memcached pool (nutcracker's default without "redis: true"); Shardis serves Redis pools only`,
      );
    const redisAuth = scalar('redis_auth') ?? '';
    if (redisAuth.length >= 256) fail(at('redis_auth'), 'directive "redis_auth:" must be shorter than 256 characters');
    const serverConnections = num('server_connections', 1);
    if (serverConnections === 0) fail(at('server_connections'), 'directive "server_connections:" cannot be 0');
    const timeoutText = scalar('timeout');
    const timeout = timeoutText === undefined ? -1 : num('timeout', -1, -1);
    const serversNode = seen.get('servers');
    if (serversNode === undefined) return fail(poolLine, `pool '${poolName}' has no servers`);
    if (!isSeq(serversNode) || serversNode.items.length === 0)
      return fail(at('servers'), `pool '${poolName}' has no servers ("servers:" must be a list)`);
    const servers: NutServer[] = [];
    for (const it of serversNode.items) {
      const line = lineOf(it as Node) || at('servers');
      if (!isScalar(it) || it.value === null || typeof it.value === 'object')
        fail(line, 'a server must be a "host:port:weight [name]" string');
      const parsed = parseServerLine(String((it as { value: unknown }).value).trim());
      if (typeof parsed === 'string') fail(line, `server '${String((it as { value: unknown }).value)}' ${parsed}`);
      if ((parsed as Omit<NutServer, 'line'>).port === 0)
        fail(line, `server '${String((it as { value: unknown }).value)}' is a unix socket: Shardis connects to servers over TCP only`);
      servers.push({ ...(parsed as Omit<NutServer, 'line'>), line });
    }
    // nutcracker sorts a pool's servers by name (shorter first, then bytewise; conf_validate_server):
    // that order, not the file's, is the order modula and the stats use.
    servers.sort(compareNames);
    const byName = new Map<string, NutServer>();
    for (const s of servers) {
      const dup = byName.get(s.name);
      if (dup)
        fail(
          Math.max(s.line, dup.line),
          `pool '${poolName}' has servers with the same name '${s.name}' (lines ${Math.min(s.line, dup.line)} and ${Math.max(s.line, dup.line)})`,
        );
      byName.set(s.name, s);
    }
    const sentinels: string[] = [];
    const sentNode = seen.get('sentinels');
    if (sentNode !== undefined) {
      if (!isSeq(sentNode) || sentNode.items.length === 0) fail(at('sentinels'), '"sentinels:" must be a list of host:port[:weight]');
      for (const it of (sentNode as { items: unknown[] }).items) {
        const line = lineOf(it as Node) || at('sentinels');
        const v = isScalar(it) ? String(it.value).trim() : '';
        const m = /^(.+?):(\d+)(?::\d+)?$/.exec(v);
        if (!m || !validPort(Number(m[2]))) fail(line, `sentinel '${v}' is not host:port[:weight]`);
        sentinels.push(`${m![1]}:${m![2]}`);
      }
      for (const s of servers)
        if (s.givenName === '')
          fail(s.line, `server '${s.pname}' in a sentinel pool needs a name: the Sentinel master name ("host:port:weight mastername")`);
    }
    pools.push({
      name: poolName,
      line: poolLine,
      listen,
      hash,
      hashTag,
      distribution: distribution as DistributionName,
      timeout,
      backlog: num('backlog', 512),
      preconnect: bool('preconnect', false),
      redis,
      redisAuth,
      redisDb: num('redis_db', 0),
      serverConnections,
      autoEjectHosts: bool('auto_eject_hosts', false),
      serverRetryTimeout: num('server_retry_timeout', 30000),
      serverFailureLimit: num('server_failure_limit', 2),
      clientConnections: num('client_connections', 0),
      tcpkeepalive: bool('tcpkeepalive', false),
      reuseport: bool('reuseport', false),
      servers,
      sentinels,
    });
  }
  if (pools.length === 0) fail(1, 'has no pools');
  const byListen = new Map<string, NutPool>();
  for (const p of pools) {
    const key = p.listen.kind === 'tcp' ? `${p.listen.host}:${p.listen.port}` : p.listen.path;
    const dup = byListen.get(key);
    if (dup) fail(p.line, `pools '${dup.name}' (line ${dup.line}) and '${p.name}' have the same listen address '${key}'`);
    byListen.set(key, p);
  }
  return pools.sort(compareNames);
}
