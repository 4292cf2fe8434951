// The 3-host deployment of issue 16 on the multi-host harness: hosts h1..h3 and a clients host.
// Each host runs one coordinator member (a 3-node etcd cluster or ZooKeeper ensemble), one sentinel,
// one proxy, the master of one group and replicas of the others (group g: master on h<g>, replicas on
// the next one or two hosts); the active dashboard runs on h1 and a standby on h2. Every process binds to its
// host's address (fixed ports: each host has its own port space). Used by the partition tests and
// `npm run bench:partitions`.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HostNetwork } from './hosts.js';
import { startEtcdCluster } from '../../../src/util/etcd-cluster.js';
import { startZooKeeperEnsemble } from '../../../src/util/zookeeper-ensemble.js';
import { startRedisServer, rawCommand, type RedisServer } from '../../../src/util/redis-server.js';
import { startRedisSentinel, type RedisSentinel } from '../../../src/util/redis-sentinel.js';
import { startShardisProcess, startProxyProcess } from '../../../src/util/shardis-process.js';
import { waitFor, type Spawned } from '../../../src/util/processes.js';
import { httpJson, replyError } from '../../../src/util/http-json.js';
import { defaultAdminToken } from '../../../src/models/auth.js';
import { openStore, topomPath, type Store } from '../../../src/coordinator/index.js';

export type CoordinatorKind = 'etcd' | 'zookeeper';
export const HOSTS = ['h1', 'h2', 'h3'] as const;
export type HostName = (typeof HOSTS)[number];
const REDIS_PORT_BASE = 6300;
const PROXY_PORT = 19000;
const PROXY_ADMIN_PORT = 11080;
const DASHBOARD_PORT = 18080;
const SENTINEL_PORT = 26379;

export interface LayoutOptions {
  coordinator: CoordinatorKind;
  dir?: string;
  product?: string;
  /** Extra `shardis dashboard` flags for both dashboards. */
  dashboardArgs?: string[];
  proxyArgs?: string[];
  /** Replicas per group, on the next hosts after the master's (1 or 2; default 2, so losing any one host leaves every group a replica). */
  replicas?: 1 | 2;
}

export interface GroupPlacement {
  id: number;
  master: { host: HostName; addr: string };
  replicas: Array<{ host: HostName; addr: string }>;
}

export interface MultiHostCluster {
  net: HostNetwork;
  dir: string;
  product: string;
  token: string;
  /** `etcd:...` or `zookeeper:...`, the spec every process was given. */
  coordinator: string;
  groups: GroupPlacement[];
  servers: Map<string, RedisServer>;
  sentinels: Map<HostName, RedisSentinel>;
  proxies: Map<HostName, { addr: string; admin: string; proc: Spawned }>;
  dashboards: Map<HostName, { addr: string; proc: Spawned }>;
  /** The coordinator members, by host (kill -9 / restart). */
  coordinatorMembers: Map<HostName, { kill9(): Promise<void>; restart(): Promise<void>; running(): boolean }>;
  /** A store opened from the test process (over the control link). */
  store(): Promise<Store>;
  /** admin_addr of the dashboard holding the product lock now (null: none). */
  activeDashboard(): Promise<string | null>;
  /** The dashboard's groups as it reports them (servers[0] = master), from `dashboardAddr`. */
  dashboardGroups(dashboardAddr: string): Promise<Array<{ id: number; servers: Array<{ server: string }> }>>;
  hostOf(addr: string): HostName;
  /** Stops everything and deletes the namespaces; the working directory (logs) too, unless `keepDir` or it was given. */
  stop(keepDir?: boolean): Promise<void>;
}

export async function startMultiHostCluster(o: LayoutOptions): Promise<MultiHostCluster> {
  const dir = o.dir ?? mkdtempSync(join(tmpdir(), 'shardis-hosts-'));
  mkdirSync(dir, { recursive: true });
  const product = o.product ?? 'hosts';
  const token = defaultAdminToken(product, '');
  const net = await HostNetwork.create([...HOSTS, 'clients']);
  const addrOf = (h: HostName): string => net.host(h).addr;
  const nsOf = (h: HostName): string => net.host(h).ns;
  const servers = new Map<string, RedisServer>();
  const sentinels = new Map<HostName, RedisSentinel>();
  const proxies = new Map<HostName, { addr: string; admin: string; proc: Spawned }>();
  const dashboards = new Map<HostName, { addr: string; proc: Spawned }>();
  const coordinatorMembers = new Map<HostName, { kill9(): Promise<void>; restart(): Promise<void>; running(): boolean }>();
  const stores: Store[] = [];
  let stopCoordinator: () => Promise<void> = async () => undefined;
  const stop = async (keepDir = false): Promise<void> => {
    await Promise.all(stores.map((s) => s.close().catch(() => undefined)));
    // Graceful where possible (so dashboards release the lock), then the namespaces go with -9.
    await Promise.all([...proxies.values(), ...dashboards.values()].map((p) => p.proc.stop(3000).catch(() => undefined)));
    await stopCoordinator().catch(() => undefined);
    await net.destroy();
    if (!keepDir && !o.dir) rmSync(dir, { recursive: true, force: true });
  };
  try {
    const members = HOSTS.map((h) => ({ host: addrOf(h), netns: nsOf(h) }));
    let coordinator: string;
    if (o.coordinator === 'etcd') {
      const c = await startEtcdCluster(members, { dir });
      coordinator = `etcd:${c.endpoints.join(',')}`;
      stopCoordinator = () => c.stop();
      HOSTS.forEach((h, i) => coordinatorMembers.set(h, c.members[i]!));
    } else {
      const c = await startZooKeeperEnsemble(members, { dir, tickTimeMs: 500, maxSessionTimeoutMs: 20000 });
      coordinator = `zookeeper:${c.connect}`;
      stopCoordinator = () => c.stop();
      HOSTS.forEach((h, i) => coordinatorMembers.set(h, c.members[i]!));
    }

    const groups: GroupPlacement[] = HOSTS.map((h, i) => {
      const port = REDIS_PORT_BASE + i + 1;
      const replicas = Array.from({ length: o.replicas ?? 2 }, (_, k) => HOSTS[(i + 1 + k) % HOSTS.length]!).map((rh) => ({
        host: rh,
        addr: `${addrOf(rh)}:${port}`,
      }));
      return { id: i + 1, master: { host: h, addr: `${addrOf(h)}:${port}` }, replicas };
    });
    for (const g of groups) {
      const port = REDIS_PORT_BASE + g.id;
      const m = await startRedisServer({
        host: addrOf(g.master.host),
        port,
        netns: nsOf(g.master.host),
        dir: join(dir, `redis-${g.master.host}-${port}`),
      });
      servers.set(m.addr, m);
      for (const rp of g.replicas) {
        const r = await startRedisServer({
          host: addrOf(rp.host),
          port,
          netns: nsOf(rp.host),
          dir: join(dir, `redis-${rp.host}-${port}`),
          config: [`replicaof ${m.host} ${m.port}`],
        });
        servers.set(r.addr, r);
      }
    }
    for (const s of servers.values()) {
      await waitFor(
        `replication on ${s.addr}`,
        async () => /role:master|master_link_status:up/.test(await rawCommand(s.host, s.port, 'INFO replication')),
        20000,
        100,
      );
    }
    for (const h of HOSTS) {
      sentinels.set(h, await startRedisSentinel({ host: addrOf(h), port: SENTINEL_PORT, netns: nsOf(h), dir: join(dir, `sentinel-${h}`) }));
    }

    const dashArgs = (h: HostName): string[] => [
      '--coordinator',
      coordinator,
      '--product-name',
      product,
      '--admin-addr',
      `${addrOf(h)}:${DASHBOARD_PORT}`,
      '--sentinel-down-after',
      '2s',
      '--sentinel-failover-timeout',
      '10s',
      '--sentinel-quorum',
      '2',
      '--lock-ttl',
      '3s',
      '--lock-retry',
      '300ms',
      '--stats-period',
      '500ms',
      '--log-level',
      'info',
      '--group-min-replicas-max-lag',
      '3s',
      // group_min_replicas_to_write: the default (1).
      ...(o.dashboardArgs ?? []),
    ];
    const d1 = startShardisProcess('dashboard', dashArgs('h1'), join(dir, 'dashboard-h1.log'), { netns: nsOf('h1') });
    await d1.waitLine(/^shardis dashboard ready admin_port=(\d+)/, 60000);
    dashboards.set('h1', { addr: `${addrOf('h1')}:${DASHBOARD_PORT}`, proc: d1.proc });
    const d2 = startShardisProcess('dashboard', dashArgs('h2'), join(dir, 'dashboard-h2.log'), { netns: nsOf('h2') });
    dashboards.set('h2', { addr: `${addrOf('h2')}:${DASHBOARD_PORT}`, proc: d2.proc });
    await d2.waitLine(/^shardis dashboard (standby|ready)/, 60000);

    const dash = `${addrOf('h1')}:${DASHBOARD_PORT}`;
    const put = async (path: string): Promise<void> => {
      const r = await httpJson('PUT', dash, `/api/topom/${path.replace('{token}', token)}`, { timeoutMs: 20000 });
      if (r.status !== 200) throw new Error(`dashboard ${path.replace('{token}', '…')}: ${replyError(r)}`);
    };
    for (const g of groups) {
      await put(`group/create/{token}/${g.id}`);
      await put(`group/add/{token}/${g.id}/${g.master.addr}`);
      for (const rp of g.replicas) await put(`group/add/{token}/${g.id}/${rp.addr}`);
    }
    await put('slots/init-even/{token}');
    for (const s of sentinels.values()) await put(`sentinels/add/{token}/${s.addr}`);

    await Promise.all(
      HOSTS.map(async (h) => {
        const p = await startProxyProcess(
          [
            '--coordinator',
            coordinator,
            '--product-name',
            product,
            '--proxy-addr',
            `${addrOf(h)}:${PROXY_PORT}`,
            '--admin-addr',
            `${addrOf(h)}:${PROXY_ADMIN_PORT}`,
            ...(o.proxyArgs ?? []),
          ],
          join(dir, `proxy-${h}.log`),
          { netns: nsOf(h) },
        );
        const admin = `${addrOf(h)}:${PROXY_ADMIN_PORT}`;
        proxies.set(h, { addr: `${addrOf(h)}:${p.port}`, admin, proc: p.proc });
        await waitFor(
          `proxy ${admin} to receive its slot table`,
          async () => {
            const r = await httpJson('GET', admin, '/health', { timeoutMs: 2000 });
            return (r.json as { online?: boolean }).online === true;
          },
          30000,
          100,
        );
      }),
    );

    const store = async (): Promise<Store> => {
      const s = await openStore(coordinator, { timeoutMs: 3000 });
      stores.push(s);
      return s;
    };
    let readStore: Store | null = null;
    const cluster: MultiHostCluster = {
      net,
      dir,
      product,
      token,
      coordinator,
      groups,
      servers,
      sentinels,
      proxies,
      dashboards,
      coordinatorMembers,
      store,
      activeDashboard: async () => {
        readStore ??= await store();
        const raw = await readStore.read(topomPath(product));
        return raw ? ((JSON.parse(raw.toString()) as { admin_addr?: string }).admin_addr ?? null) : null;
      },
      dashboardGroups: async (addr) => {
        const r = await httpJson('GET', addr, `/api/topom/stats/${token}`, { timeoutMs: 5000 });
        if (r.status !== 200) throw new Error(`stats from ${addr}: ${replyError(r)}`);
        return (r.json as { group: { models: Array<{ id: number; servers: Array<{ server: string }> }> } }).group.models;
      },
      hostOf: (addr) => {
        const ip = addr.slice(0, addr.lastIndexOf(':'));
        const h = HOSTS.find((x) => addrOf(x) === ip);
        if (!h) throw new Error(`${addr} is on no host of the layout`);
        return h;
      },
      stop,
    };
    return cluster;
  } catch (e) {
    await stop(true);
    throw e;
  }
}
