// Fixtures for the HA tests and the failover benchmark: a local cluster (real redis-server groups,
// three redis-sentinel, a dashboard process, proxy processes — what `shardis up` starts) with a short
// down-after, and helpers to kill and restart masters, find keys of a group, run a write workload
// through the proxies and measure when writes succeed again.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { startLocalCluster, type LocalCluster } from '../../src/cli/local-cluster.js';
import { startRedisServer, type RedisServer } from '../../src/util/redis-server.js';
import { startDashboardProcess, type DashboardProcess } from './dashboard.js';
import { httpJson } from '../../src/util/http-json.js';
import { slotOf } from '../../src/slots/hash.js';
import { redisCall } from '../../src/ha/sentinels.js';
import { parseInfo } from '../../src/dashboard/redis-probe.js';
import type { Spawned } from '../../src/util/processes.js';
import { eventually } from './poll.js';

export interface HaCluster {
  c: LocalCluster;
  dashboardArgs: string[];
  /** Group id → its slot range [beg, end] (init-even). */
  groupOfSlot(slot: number): number;
  /** A hash tag whose slot belongs to group `gid` (n-th one). */
  tagOf(gid: number, n?: number): string;
  proxyClients: Redis[];
  /** Current dashboard admin address and process (changes when a test restarts it). */
  dashboard: { addr: string; proc: Spawned };
  token: string;
  stop(): Promise<void>;
}

export async function startHaCluster(
  o: { groups?: number; replicas?: number; proxies?: number; downAfterMs?: number; dir?: string } = {},
): Promise<HaCluster> {
  const dir = o.dir ?? mkdtempSync(join(tmpdir(), 'shardis-ha-'));
  const groups = o.groups ?? 2;
  const dashboardArgs = [
    '--sentinel-down-after',
    `${o.downAfterMs ?? 1000}ms`,
    '--sentinel-failover-timeout',
    '10s',
    '--sentinel-quorum',
    '2',
    '--lock-ttl',
    '2s',
    '--lock-retry',
    '200ms',
    '--stats-period',
    '500ms',
    '--log-level',
    'info',
  ];
  const c = await startLocalCluster({
    groups,
    replicas: o.replicas ?? 2,
    proxies: o.proxies ?? 2,
    dir,
    basePort: 0,
    host: '127.0.0.1',
    product: 'ha-test',
    sentinels: 3,
    dashboardArgs,
  });
  const groupOfSlot = (slot: number): number => Math.floor((slot * groups) / 1024) + 1;
  const tagOf = (gid: number, n = 0): string => {
    let found = 0;
    for (let i = 0; ; i++) {
      const t = `t${i}`;
      if (groupOfSlot(slotOf(t)) === gid && found++ === n) return t;
    }
  };
  const proxyClients = c.info.proxies.map((p) => {
    const [host, port] = [p.addr.slice(0, p.addr.lastIndexOf(':')), Number(p.addr.slice(p.addr.lastIndexOf(':') + 1))];
    const r = new Redis({ host, port, maxRetriesPerRequest: 0, enableOfflineQueue: false, retryStrategy: () => 50, commandTimeout: 3000 });
    r.on('error', () => {});
    return r;
  });
  try {
    await Promise.all(
      proxyClients.map(
        (r) =>
          new Promise<void>((res, rej) => {
            const t = setTimeout(() => rej(new Error('cannot connect to a proxy')), 10000);
            r.once('ready', () => {
              clearTimeout(t);
              res();
            });
          }),
      ),
    );
  } catch (e) {
    for (const r of proxyClients) r.disconnect();
    await c.stop();
    throw e;
  }
  const h: HaCluster = {
    c,
    dashboardArgs,
    groupOfSlot,
    tagOf,
    proxyClients,
    dashboard: { addr: c.info.dashboard.addr, proc: c.procs[0]! },
    token: c.info.dashboard.admin_token,
    stop: async () => {
      for (const r of proxyClients) r.disconnect();
      await h.dashboard.proc.stop().catch(() => undefined);
      await c.stop();
    },
  };
  return h;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- as call() in dashboard.ts: tests read many reply shapes
export async function api<T = any>(
  h: HaCluster,
  method: 'GET' | 'PUT',
  path: string,
  body?: unknown,
): Promise<{ status: number; body: T }> {
  const r = await httpJson(method, h.dashboard.addr, path.replace('{token}', h.token), { timeoutMs: 30000, body });
  return { status: r.status, body: r.json as T };
}

/** The dashboard's groups (servers[0] = master). */
export async function dashboardGroups(h: HaCluster): Promise<Array<{ id: number; servers: Array<{ server: string }> }>> {
  const r = await api<{ group: { models: Array<{ id: number; servers: Array<{ server: string }> }> } }>(
    h,
    'GET',
    '/api/topom/stats/{token}',
  );
  if (r.status !== 200) throw new Error(`stats: HTTP ${r.status}`);
  return r.body.group.models;
}

export async function masterOf(h: HaCluster, gid: number): Promise<string> {
  return (await dashboardGroups(h)).find((g) => g.id === gid)!.servers[0]!.server;
}

export async function infoReplication(addr: string): Promise<Record<string, string>> {
  return parseInfo(String(await redisCall(addr, 1000, ['INFO', 'replication'])));
}

export function serverAt(h: HaCluster, addr: string): RedisServer {
  const s = h.c.servers.find((x) => x.addr === addr);
  if (!s) throw new Error(`no server ${addr}`);
  return s;
}

/** Restarts a killed server on its port and dir, as a master with no data (no persistence), unknown replication. */
export async function restartServer(h: HaCluster, addr: string): Promise<void> {
  const old = serverAt(h, addr);
  const s = await startRedisServer({ host: old.host, port: old.port, dir: old.dir });
  h.c.servers[h.c.servers.indexOf(old)] = s;
}

/** Waits until some replica of the master `master` has master_link_status:up. */
export async function waitReplicaUp(master: string, timeoutMs = 30000): Promise<void> {
  await eventually(
    `an online replica of ${master}`,
    async () => {
      const info = await infoReplication(master);
      const n = Number(info.connected_slaves ?? 0);
      return Array.from({ length: n }, (_, i) => info[`slave${i}`] ?? '').some((s) => /state=online/.test(s));
    },
    timeoutMs,
    100,
  );
}

/** Tries SET through `client` every `everyMs` until it succeeds; returns ms since `since`. */
export async function firstWriteOk(client: Redis, key: string, since: number, timeoutMs = 30000, everyMs = 20): Promise<number> {
  await eventually(
    `a successful write of ${key}`,
    async () => (await client.set(key, String(Date.now()))) === 'OK',
    Math.max(0, since + timeoutMs - Date.now()),
    everyMs,
  );
  return Date.now() - since;
}

/** A bounded write workload: each proxy client SETs unique keys under `tag`, recording what was acknowledged. */
export class Workload {
  readonly acked = new Map<string, string>();
  errors = 0;
  lastError = '';
  private running = true;
  private loops: Array<Promise<void>> = [];

  constructor(clients: Redis[], tags: string[], opts: { maxOps?: number; pauseMs?: number } = {}) {
    const max = opts.maxOps ?? 200000;
    let n = 0;
    this.loops = clients.map(async (c, ci) => {
      let i = 0;
      while (this.running && n < max) {
        const tag = tags[i % tags.length]!;
        const key = `w{${tag}}:${ci}:${i++}`;
        const val = `v${i}`;
        n++;
        try {
          if ((await c.set(key, val)) === 'OK') this.acked.set(key, val);
        } catch (e) {
          this.errors++;
          this.lastError = (e as Error).message;
          await new Promise((r) => setTimeout(r, 10));
        }
        if (opts.pauseMs) await new Promise((r) => setTimeout(r, opts.pauseMs));
      }
    });
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }
}

/** Starts another dashboard process for the product (standby while one is active). */
export async function startStandbyDashboard(h: HaCluster, addr = '127.0.0.1:0'): Promise<DashboardProcess> {
  return startDashboardProcess(
    ['--coordinator', h.c.info.coordinator, '--product-name', h.c.info.product, '--admin-addr', addr, ...h.dashboardArgs],
    join(h.c.info.dir, `dashboard-${Date.now()}.log`),
  );
}
