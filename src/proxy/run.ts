// Runs `shardis proxy`: one process, or with --workers N a node:cluster primary that forks N proxy
// workers sharing the listening port, relays slot tables to them and merges their stats. The primary
// (or the single process) serves the admin API and handles SIGTERM with a graceful shutdown.
import cluster, { type Worker } from 'node:cluster';
import { ProxyServer, aclUsersOf } from './proxy.js';
import { aclDigest } from '../acl/digest.js';
import { startAdminApi, type ProxyControl } from './admin-api.js';
import { serverTlsOptions } from './tls.js';
import { mergeSnapshots, type StatsSnapshot } from './stats.js';
import type { ProxyConfig } from './config.js';
import { newProxyModel, proxyXAuth, type ProxyModel } from '../models/proxy.js';
import { defaultAdminToken } from '../models/auth.js';
import type { Slot } from '../models/slot.js';
import type { Logger } from '../util/log.js';
import { formatAddr, hostOf } from '../util/address.js';
import { codisProxyConfig } from './codis-view.js';
import { startRegistration, type Registration } from './registration.js';
import { at } from '../util/at.js';

type ToWorker =
  | { t: 'fill'; id: number; slots: Slot[] }
  | { t: 'stats'; id: number }
  | { t: 'reset' }
  | { t: 'sentinels'; servers: string[] }
  | { t: 'cluster-nodes'; addrs: string[] }
  | { t: 'acl'; lines: string[] }
  | { t: 'ha'; id: number }
  | { t: 'drain'; on: boolean }
  | { t: 'shutdown' };
type FromWorker =
  | { t: 'ready'; port: number }
  | { t: 'stats'; id: number; snap: StatsSnapshot }
  | { t: 'ha'; id: number; status: unknown }
  | { t: 'filled'; id: number; status: string }
  | { t: 'error'; message: string };

export interface RunningProxy {
  control: ProxyControl;
  proxyPort: number;
  adminPort: number;
  /** Resolves when the proxy has shut down. */
  done: Promise<void>;
  /** Resolves once the dashboard has taken the proxy in (at once without a dashboard). */
  registered: Promise<void>;
}

/** Hides `>password` / `#hash` / `<password` / `!hash` rules of an ACL line. */
const redactAclLine = (line: string): string => line.replace(/(^|\s)([><#!])\S+/g, '$1$2***');

/** The config as the admin API shows it: passwords, password rules and the admin token hidden. */
function publicConfig(c: ProxyConfig): Record<string, unknown> {
  return {
    ...c,
    productAuth: c.productAuth ? '***' : '',
    sessionAuth: c.sessionAuth ? '***' : '',
    adminToken: c.adminToken ? '***' : '',
    coordinatorAuth: c.coordinatorAuth ? '***' : '',
    aclUsers: c.aclUsers.map(redactAclLine),
    ...codisProxyConfig(c),
  };
}

/** The dashboard admin token the proxy also accepts on its admin API (configured or derived). */
const proxyAdminToken = (c: ProxyConfig): string => c.adminToken || defaultAdminToken(c.productName, c.productAuth);

/** The admin API's view of a single-process proxy (also used by in-process test proxies). */
export function singleProcessControl(proxy: ProxyServer, model: () => ProxyModel, shutdown: () => Promise<void>): ProxyControl {
  const config = proxy.ctx.config;
  return {
    product: config.productName,
    xauth: '',
    adminToken: proxyAdminToken(config),
    model,
    config: () => publicConfig(config),
    online: () => proxy.ctx.online,
    slots: () => proxy.ctx.router.slots(),
    fillSlots: (s) => proxy.fillSlotsAndDrain(s),
    start: async () => {
      proxy.ctx.online = true;
    },
    snapshot: async () => proxy.snapshot(),
    resetStats: async () => {
      proxy.ctx.stats.reset();
    },
    shutdown,
    setSentinels: async (servers) => {
      proxy.setSentinels(servers);
    },
    sentinels: async () => proxy.ha.status(),
    setClusterNodes: async (addrs) => {
      proxy.ctx.apps.clusterPeers = addrs;
    },
    clusterNodes: () => proxy.ctx.apps.clusterPeers,
    setAcl: async (lines) => {
      proxy.setDashboardAcl(lines);
    },
    aclDigest: () => proxy.aclDigest,
    setDraining: async (on) => {
      proxy.ctx.draining = on;
    },
    draining: () => proxy.ctx.draining === true,
  };
}

/** Entry point of a worker process (called by the CLI when cluster.isWorker). */
export async function runProxyWorker(config: ProxyConfig): Promise<void> {
  const proxy = new ProxyServer(config, cluster.worker?.id ?? 0);
  const send = (m: FromWorker): void => {
    process.send?.(m);
  };
  process.on('message', (m: ToWorker) => {
    // Acknowledged only once requests sent to the old backends of changed slots have been answered.
    if (m.t === 'fill')
      void proxy
        .fillSlotsAndDrain(m.slots)
        .then(
          () => 'ok',
          (e: Error) => e.message,
        )
        .then((status) => send({ t: 'filled', id: m.id, status }));
    else if (m.t === 'stats') send({ t: 'stats', id: m.id, snap: proxy.snapshot() });
    else if (m.t === 'reset') proxy.ctx.stats.reset();
    else if (m.t === 'sentinels') proxy.setSentinels(m.servers);
    else if (m.t === 'cluster-nodes') proxy.ctx.apps.clusterPeers = m.addrs;
    else if (m.t === 'acl')
      proxy.setDashboardAcl(m.lines); // checked by the primary first
    else if (m.t === 'ha') send({ t: 'ha', id: m.id, status: proxy.ha.status() });
    else if (m.t === 'drain') proxy.ctx.draining = m.on;
    else if (m.t === 'shutdown') void proxy.shutdown().then(() => process.exit(0));
  });
  process.on('SIGTERM', () => {
    /* the primary coordinates shutdown */
  });
  process.on('SIGINT', () => {
    /* idem */
  });
  try {
    const port = await proxy.listen();
    await proxy.listenTls();
    send({ t: 'ready', port });
  } catch (e) {
    send({ t: 'error', message: (e as Error).message });
    process.exit(1);
  }
}

export async function runProxy(config: ProxyConfig, initialSlots: Slot[] | null, log: Logger): Promise<RunningProxy> {
  let model: ProxyModel; // eslint-disable-line prefer-const -- assigned after the admin API that reads it is built
  let proxyPort: number;
  let ctl: ProxyControl;
  let resolveDone!: () => void;
  const done = new Promise<void>((r) => {
    resolveDone = r;
  });
  let stopping: Promise<void> | null = null;
  let slotsNow: Slot[] = [];
  let online = false;
  let stopAdmin: () => Promise<void> = async () => {};

  if (config.workers <= 1) {
    const proxy = new ProxyServer(config, 0, log);
    proxyPort = await proxy.listen();
    const tlsPort = await proxy.listenTls();
    if (tlsPort !== null) log.info({ tls_port: tlsPort }, 'proxy accepts TLS clients');
    if (initialSlots) proxy.fillSlots(initialSlots);
    const shutdown = (): Promise<void> =>
      (stopping ??= (async () => {
        log.info('proxy shutting down');
        await proxy.shutdown();
        await stopAdmin();
        resolveDone();
      })());
    ctl = singleProcessControl(proxy, () => model, shutdown);
  } else {
    const workers: Worker[] = [];
    /** Replies awaited from workers, by request id. */
    const asks = new Map<number, { want: number; got: unknown[]; done: (got: unknown[]) => void }>();
    let sentinelsNow: string[] = [];
    let clusterNodesNow: string[] | null = null;
    let aclDigestNow = '';
    let drainingNow = false;
    let nextId = 1;
    cluster.setupPrimary({ args: process.argv.slice(2), silent: false });
    const ports = await Promise.all(
      Array.from(
        { length: config.workers },
        () =>
          new Promise<number>((resolve, reject) => {
            const w = cluster.fork({ SHARDIS_PROXY_WORKER: '1', SHARDIS_PROXY_CONFIG: JSON.stringify(config) });
            workers.push(w);
            w.on('message', (m: FromWorker) => {
              if (m.t === 'ready') resolve(m.port);
              else if (m.t === 'error') reject(new Error(m.message));
              else {
                const p = asks.get(m.id);
                if (p) {
                  p.got.push(m.t === 'stats' ? m.snap : m.status);
                  if (p.got.length === p.want) {
                    asks.delete(m.id);
                    p.done(p.got);
                  }
                }
              }
            });
            w.on('exit', (code) => {
              if (!stopping) log.error({ worker: w.id, code }, 'proxy worker exited unexpectedly');
            });
          }),
      ),
    );
    proxyPort = at(ports, 0, 'proxy port');
    const broadcast = (m: ToWorker): void => {
      for (const w of workers) if (w.isConnected()) w.send(m);
    };
    /** Sends `msg(id)` to every live worker; resolves with their replies (or what came within `timeoutMs`). */
    const askAll = (msg: (id: number) => ToWorker, timeoutMs: number): Promise<unknown[]> =>
      new Promise((resolve) => {
        const id = nextId++;
        const live = workers.filter((w) => w.isConnected());
        if (live.length === 0) {
          resolve([]);
          return;
        }
        asks.set(id, { want: live.length, got: [], done: resolve });
        for (const w of live) w.send(msg(id));
        setTimeout(() => {
          const p = asks.get(id);
          if (p) {
            asks.delete(id);
            resolve(p.got);
          }
        }, timeoutMs).unref();
      });
    const fill = async (s: Slot[]): Promise<void> => {
      const byId = new Map(slotsNow.map((x) => [x.id, x]));
      for (const x of s) byId.set(x.id, x);
      slotsNow = [...byId.values()].sort((a, b) => a.id - b.id);
      online = true;
      const want = workers.filter((w) => w.isConnected()).length;
      const acks = await askAll((id) => ({ t: 'fill', id, slots: s }), config.backendRecvTimeout + 5000);
      const bad = acks.filter((a) => a !== 'ok');
      if (acks.length < want || bad.length > 0)
        throw new Error(
          `only ${acks.length - bad.length} of ${want} workers applied the slot table${bad.length ? `: ${String(bad[0])}` : ''}`,
        );
    };
    if (initialSlots) await fill(initialSlots);
    const shutdown = (): Promise<void> =>
      (stopping ??= (async () => {
        log.info('proxy shutting down (all workers)');
        await Promise.all(
          workers.map(
            (w) =>
              new Promise<void>((r) => {
                if (!w.isConnected()) return r();
                w.once('exit', () => r());
                w.send({ t: 'shutdown' } satisfies ToWorker);
              }),
          ),
        );
        await stopAdmin();
        resolveDone();
      })());
    ctl = {
      product: config.productName,
      xauth: '',
      adminToken: proxyAdminToken(config),
      model: () => model,
      config: () => publicConfig(config),
      online: () => online,
      slots: () => Array.from({ length: 1024 }, (_, id) => slotsNow.find((x) => x.id === id) ?? { id }),
      fillSlots: fill,
      start: async () => {
        online = true;
      },
      snapshot: async () => mergeSnapshots((await askAll((id) => ({ t: 'stats', id }), 2000)) as StatsSnapshot[]),
      resetStats: async () => broadcast({ t: 'reset' }),
      shutdown,
      setSentinels: async (servers) => {
        sentinelsNow = servers;
        broadcast({ t: 'sentinels', servers });
      },
      setClusterNodes: async (addrs) => {
        clusterNodesNow = addrs;
        broadcast({ t: 'cluster-nodes', addrs });
      },
      clusterNodes: () => clusterNodesNow,
      setAcl: async (lines) => {
        aclUsersOf(config, lines); // throws on a bad set before any worker sees it
        aclDigestNow = aclDigest(lines);
        broadcast({ t: 'acl', lines });
      },
      aclDigest: () => aclDigestNow,
      sentinels: async () => ({ servers: sentinelsNow, workers: await askAll((id) => ({ t: 'ha', id }), 2000) }),
      setDraining: async (on) => {
        drainingNow = on;
        broadcast({ t: 'drain', on });
      },
      draining: () => drainingNow,
    };
  }

  const admin = await startAdminApi(ctl, config.adminAddr, {
    https: config.tls.admin ? serverTlsOptions({ ...config.tls, authClients: 'no' }) : undefined,
    log,
    codisCompatReads: config.codisCompatReads,
  });
  stopAdmin = async () => {
    await admin.close();
  };
  const proxyAddr = formatAddr(hostOf(config.proxyAddr), proxyPort),
    adminAddr = formatAddr(hostOf(config.adminAddr), admin.port);
  model = newProxyModel({ product: config.productName, proxyAddr, adminAddr, datacenter: config.datacenter });
  (ctl as { xauth: string }).xauth = proxyXAuth(config.productName, config.productAuth, model.token);
  let registration: Registration | null = null;
  if (config.dashboardAddr || config.coordinator) {
    registration = startRegistration(config, () => model, log);
    const reg = registration;
    const setDraining = ctl.setDraining;
    // The discovery entry says "draining" too, so discovery clients move off before the proxy stops.
    if (setDraining)
      ctl.setDraining = async (on) => {
        await setDraining(on);
        await reg.setState(on ? 'draining' : 'online');
      };
    const stopAdminOnly = stopAdmin;
    stopAdmin = async () => {
      await registration?.close();
      await stopAdminOnly();
    };
  }
  const onSignal = (sig: string): void => {
    log.info({ signal: sig }, 'signal received');
    void ctl.shutdown();
  };
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  return { control: ctl, proxyPort, adminPort: admin.port, done, registered: registration?.registered ?? Promise.resolve() };
}
