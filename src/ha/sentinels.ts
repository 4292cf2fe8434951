// Talking to stock redis-sentinel for one product (shared by the proxy and the dashboard): commands
// with deadlines, +switch-master subscriptions on every sentinel, and Codis's majority resolution —
// `SENTINEL MASTERS` on all sentinels, at least ⌊n/2⌋+1 answers, per group the address with the
// highest config-epoch — then `ROLE` on the chosen address, which must say `master`.
// Master names are `<product>-<gid>` (Codis).
import { createRequire } from 'node:module';
import type { Redis } from 'ioredis';
import { parseAddr, tryParseAddr } from '../util/address.js';
import { at } from '../util/at.js';
import { redisTlsFor } from '../util/redis-client-tls.js';

// ioredis (~25 MB resident) is loaded on first use only: a proxy that follows no sentinels never pays for it.
const requireCjs = createRequire(import.meta.url);
let redisClass: typeof Redis | undefined;
const RedisClient = (): typeof Redis => (redisClass ??= (requireCjs('ioredis') as typeof import('ioredis')).Redis);

export const masterName = (product: string, gid: number): string => `${product}-${gid}`;

/** The group id of a `<product>-<gid>` name, or null for another product's master. */
export function groupOfName(product: string, name: string): number | null {
  if (!name.startsWith(`${product}-`)) return null;
  const rest = name.slice(product.length + 1);
  return /^\d+$/.test(rest) ? Number(rest) : null;
}

/**
 * Which sentinel master names are ours: a product (names `<product>-<gid>`), or a function from a
 * name to a group number (Twemproxy pools: one Sentinel master name per pool server).
 */
export type MasterNames = string | ((name: string) => number | null);

export function gidOfName(names: MasterNames, name: string): number | null {
  return typeof names === 'string' ? groupOfName(names, name) : names(name);
}

/** A short-lived connection (fails fast, never retries), for one-off commands. */
export function oneShot(addr: string, timeoutMs: number, password = ''): Redis {
  const { host, port } = parseAddr(addr);
  const r = new (RedisClient())({
    host,
    port,
    tls: redisTlsFor(host),
    password: password || undefined,
    lazyConnect: true,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: true,
    retryStrategy: () => null,
    enableReadyCheck: false,
  });
  r.on('error', () => {
    /* reported through the command's rejection */
  });
  return r;
}

/** Runs one command on a fresh connection to `addr`. */
export async function redisCall(addr: string, timeoutMs: number, args: string[], password = ''): Promise<unknown> {
  const r = oneShot(addr, timeoutMs, password);
  try {
    await r.connect();
    return await r.call(at(args, 0, 'redis command name'), ...args.slice(1));
  } finally {
    r.disconnect();
  }
}

/** `ROLE` of a data server: 'master', 'slave' or an error text. */
export async function roleOf(addr: string, timeoutMs: number, password = ''): Promise<string> {
  try {
    const r = await redisCall(addr, timeoutMs, ['ROLE'], password);
    return Array.isArray(r) ? String(r[0]) : String(r);
  } catch (e) {
    return `error: ${(e as Error).message}`;
  }
}

/** Flat [k, v, k, v] → object. */
export function pairs(v: unknown): Record<string, string> {
  const o: Record<string, string> = {};
  if (Array.isArray(v)) for (let i = 0; i + 1 < v.length; i += 2) o[String(v[i])] = String(v[i + 1]);
  return o;
}

/** What one sentinel says about one of the product's masters. */
export interface MonitoredMaster {
  gid: number;
  name: string;
  addr: string;
  epoch: number;
  flags: string;
  num_slaves: number;
  quorum: number;
}

/** `SENTINEL MASTERS` on one sentinel, filtered to the product. */
export async function sentinelMasters(addr: string, product: MasterNames, timeoutMs: number): Promise<MonitoredMaster[]> {
  const reply = await redisCall(addr, timeoutMs, ['SENTINEL', 'MASTERS']);
  const out: MonitoredMaster[] = [];
  for (const m of Array.isArray(reply) ? reply : []) {
    const o = pairs(m);
    const gid = gidOfName(product, o.name ?? '');
    if (gid === null) continue;
    out.push({
      gid,
      name: o.name!,
      addr: `${o.ip}:${o.port}`,
      epoch: Number(o['config-epoch'] ?? 0),
      flags: o.flags ?? '',
      num_slaves: Number(o['num-slaves'] ?? 0),
      quorum: Number(o.quorum ?? 0),
    });
  }
  return out;
}

export interface MajorityView {
  /** Per group: the address with the highest config-epoch among the answers. */
  masters: Map<number, { addr: string; epoch: number }>;
  /** Per sentinel: its answer, or the error. */
  answers: Map<string, MonitoredMaster[] | { error: string }>;
  /** Sentinels that answered / asked. */
  answered: number;
  asked: number;
}

/**
 * Asks every sentinel for the product's masters. Throws unless a majority answered (then nothing is
 * known for sure: a minority may be stale).
 */
export async function resolveMajority(sentinels: readonly string[], product: MasterNames, timeoutMs: number): Promise<MajorityView> {
  const answers = new Map<string, MonitoredMaster[] | { error: string }>();
  await Promise.all(
    sentinels.map(async (s) => {
      try {
        answers.set(s, await sentinelMasters(s, product, timeoutMs));
      } catch (e) {
        answers.set(s, { error: (e as Error).message });
      }
    }),
  );
  const ok = [...answers.values()].filter((a): a is MonitoredMaster[] => Array.isArray(a));
  const need = Math.floor(sentinels.length / 2) + 1;
  if (ok.length < need) {
    throw new Error(`only ${ok.length} of ${sentinels.length} sentinels answered SENTINEL MASTERS (a majority of ${need} is needed)`);
  }
  // A failover leader reports the new config-epoch with the OLD address between +promoted-slave and
  // +switch-master (sentinel.c sets config_epoch when the promotion is seen, the address at the
  // switch), so answers flagged failover_in_progress are skipped, and a group whose best epoch is
  // claimed for two addresses is left undecided until the sentinels agree.
  const masters = new Map<number, { addr: string; epoch: number }>();
  const ambiguous = new Set<number>();
  for (const list of ok)
    for (const m of list) {
      if (m.flags.includes('failover_in_progress')) continue;
      const cur = masters.get(m.gid);
      if (!cur || m.epoch > cur.epoch) {
        masters.set(m.gid, { addr: m.addr, epoch: m.epoch });
        ambiguous.delete(m.gid);
      } else if (m.epoch === cur.epoch && m.addr !== cur.addr) ambiguous.add(m.gid);
    }
  for (const g of ambiguous) masters.delete(g);
  return { masters, answers, answered: ok.length, asked: sentinels.length };
}

/**
 * Subscribes to `+switch-master` on every sentinel of a list (reconnecting forever) and calls
 * `onEvent` for each message naming one of the product's masters, and after every (re)subscription
 * (messages may have been lost while disconnected).
 */
export class SwitchSubscriber {
  private readonly subs = new Map<string, Redis>();
  constructor(
    private readonly product: MasterNames,
    private readonly onEvent: (why: string) => void,
  ) {}

  get servers(): string[] {
    return [...this.subs.keys()];
  }

  /** Replaces the sentinel list (keeps the subscriptions of sentinels still listed). */
  set(servers: readonly string[]): void {
    const keep = new Set(servers);
    for (const [a, r] of this.subs)
      if (!keep.has(a)) {
        r.disconnect();
        this.subs.delete(a);
      }
    for (const a of servers) {
      if (this.subs.has(a)) continue;
      const hp = tryParseAddr(a);
      if (!hp) continue; // (the dashboard checks sentinel addresses when they are added)
      const { host, port } = hp;
      const r = new (RedisClient())({
        host,
        port,
        tls: redisTlsFor(host),
        connectTimeout: 1000,
        maxRetriesPerRequest: null,
        enableReadyCheck: false,
        retryStrategy: (n: number) => Math.min(200 * n, 2000),
        autoResubscribe: true,
      });
      r.on('error', () => {
        /* reconnects by itself */
      });
      r.on('ready', () => this.onEvent(`subscribed to ${a}`));
      r.on('message', (channel: string, msg: string) => {
        const name = msg.split(' ')[0] ?? '';
        if (gidOfName(this.product, name) !== null) this.onEvent(`${channel} from ${a}: ${msg}`);
      });
      r.subscribe('+switch-master').catch(() => {
        /* retried on reconnect */
      });
      this.subs.set(a, r);
    }
  }

  close(): void {
    for (const r of this.subs.values()) r.disconnect();
    this.subs.clear();
  }
}
