// Owns the discovery client (Jodis's RoundRobinJedisPool for Node): keeps one ioredis client per live
// proxy, found in the coordinator's /jodis/<product> entries or the dashboard, hands them out round
// robin, and moves off a proxy as soon as it disappears, drains, or its connection drops. Requests
// already sent to a proxy that dies fail (ioredis reports them); everything after goes elsewhere.
import { EventEmitter } from 'node:events';
import { Redis, type RedisOptions } from 'ioredis';
import { dashboardDirectory, jodisDirectory, staticDirectory, type ProxyDirectory, type ProxyEntry } from './proxy-directory.js';
import { at } from '../util/at.js';

export interface PoolOptions {
  /** Coordinator spec (filesystem:DIR, etcd:HOST:PORT, zookeeper:HOST:PORT); needs `product`. */
  coordinator?: string;
  product?: string;
  /** Dashboard HOST:PORT, instead of a coordinator (with its admin token in `dashboardToken`). */
  dashboard?: string;
  /** The dashboard's admin token (its proxy list needs it). */
  dashboardToken?: string;
  /** A fixed list of proxies (no discovery). */
  proxies?: string[];
  /** A directory of your own (tests, other sources). */
  directory?: ProxyDirectory;
  /** How often the proxy list is read again (ms, default 1000). */
  refreshMs?: number;
  /** Options for every ioredis client (host/port are set by the pool). */
  redisOptions?: RedisOptions;
}

export interface ProxyPool extends EventEmitter {
  /** A connected client, round robin over the live proxies; throws when none is live. */
  getClient(): Redis;
  /** Addresses of the proxies the pool currently uses (connected or not). */
  addresses(): string[];
  /** Resolves once some client is connected (true), or false after timeoutMs. */
  waitReady(timeoutMs: number): Promise<boolean>;
  /** Reads the proxy list now (also done every refreshMs). */
  refresh(): Promise<void>;
  close(): Promise<void>;
}

class Pool extends EventEmitter implements ProxyPool {
  private readonly clients = new Map<string, Redis>();
  /** Clients dropped from the rotation (their reconnects stop). */
  private readonly removedClients = new WeakSet<Redis>();
  private next = 0;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  private refreshing: Promise<void> | null = null;

  constructor(
    private readonly dir: ProxyDirectory,
    private readonly o: PoolOptions,
  ) {
    super();
  }

  start(): void {
    const every = this.o.refreshMs ?? 1000;
    const tick = (): void => {
      if (this.closed) return;
      this.refresh()
        .catch((e: Error) => {
          this.emit('error', e);
        })
        .finally(() => {
          if (!this.closed) this.timer = setTimeout(tick, every);
        });
    };
    this.timer = setTimeout(tick, every);
  }

  getClient(): Redis {
    const live = [...this.clients.values()].filter((c) => c.status === 'ready');
    if (live.length === 0) throw new Error(`no live proxy (${this.clients.size} known, none connected; source: ${this.dir.describe})`);
    this.next = (this.next + 1) % live.length;
    return at(live, this.next, 'live proxy');
  }

  addresses(): string[] {
    return [...this.clients.keys()].sort();
  }

  async waitReady(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed && Date.now() < deadline) {
      if ([...this.clients.values()].some((c) => c.status === 'ready')) return true;
      await new Promise((r) => setTimeout(r, 20));
    }
    return false;
  }

  refresh(): Promise<void> {
    this.refreshing ??= this.apply().finally(() => {
      this.refreshing = null;
    });
    return this.refreshing;
  }

  private async apply(): Promise<void> {
    const entries = await this.dir.list();
    if (this.closed) return;
    const wanted = new Map(entries.filter((e: ProxyEntry) => e.state === 'online').map((e) => [e.addr, e]));
    for (const [addr, c] of this.clients) {
      if (wanted.has(addr)) continue;
      this.clients.delete(addr);
      this.emit('removed', addr);
      this.removedClients.add(c);
      // QUIT lets requests already sent finish. A client of a dead proxy is left to its next reconnect
      // attempt, where retryStrategy gives up and ioredis fails the requests it holds (a disconnect()
      // while reconnecting would leave them pending forever); a timer makes sure it ends.
      if (c.status === 'ready') void c.quit().catch(() => c.disconnect());
      else if (c.status === 'wait' || c.status === 'end') c.disconnect();
      else
        setTimeout(() => {
          if (c.status !== 'end') c.disconnect();
        }, 10000).unref();
    }
    for (const addr of wanted.keys()) {
      if (this.clients.has(addr)) continue;
      const i = addr.lastIndexOf(':');
      const c: Redis = new Redis({
        maxRetriesPerRequest: 1,
        enableOfflineQueue: false,
        retryStrategy: (times: number): number | null => (this.removedClients.has(c) || this.closed ? null : Math.min(100 * times, 2000)),
        ...this.o.redisOptions,
        host: addr.slice(0, i),
        port: Number(addr.slice(i + 1)),
      });
      c.on('error', () => {
        /* connection errors show as status != ready; the list refresh removes dead proxies */
      });
      c.on('close', () => {
        if (!this.closed && !this.removedClients.has(c)) void this.refresh().catch(() => undefined);
      });
      this.clients.set(addr, c);
      this.emit('added', addr);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    await Promise.all([...this.clients.values()].map((c) => c.quit().catch(() => c.disconnect())));
    this.clients.clear();
    await this.dir.close();
  }
}

/** Creates the pool and reads the proxy list once before returning (rejects if that read fails). */
export async function createPool(o: PoolOptions): Promise<ProxyPool> {
  let dir: ProxyDirectory;
  if (o.directory) dir = o.directory;
  else if (o.coordinator) {
    if (!o.product) throw new Error('createPool: coordinator needs product');
    dir = await jodisDirectory(o.coordinator, o.product);
  } else if (o.dashboard) dir = dashboardDirectory(o.dashboard, { token: o.dashboardToken });
  else if (o.proxies) dir = staticDirectory(o.proxies);
  else throw new Error('createPool: give coordinator + product, dashboard, proxies or directory');
  const pool = new Pool(dir, o);
  try {
    await pool.refresh();
  } catch (e) {
    await pool.close();
    throw e;
  }
  pool.start();
  await pool.waitReady(5000);
  return pool;
}
