// Runs one dashboard process for one product: opens the coordinator, serves the HTTP API, and takes
// the product lock (`/codis3/<product>/topom`, a lease holding the Topom record). Without the lock it
// is a standby: it retries every lock_retry and its API answers 503 naming the active dashboard.
// With the lock it loads all metadata from the store, serves it and polls stats. If the lease is
// lost it stops acting at once (no further writes or pushes) and goes back to standby; a clean stop
// (SIGTERM/SIGINT or the shutdown API) releases the lock at once.
import os from 'node:os';
import { openStore, topomPath, type Lease, type Store } from '../coordinator/index.js';
import { newTopomModel } from '../models/topom.js';
import type { Logger } from '../util/log.js';
import type { DashboardConfig } from './config.js';
import { ProductStore, encodeJson } from './store-models.js';
import { Topom } from './topom.js';
import { startDashboardApi, type DashboardHost } from './api.js';

export type DashboardState = 'starting' | 'standby' | 'active' | 'stopped';

export interface RunningDashboard {
  readonly adminPort: number;
  /** host:port written into the Topom record (what proxies and the CLI should use). */
  readonly adminAddr: string;
  state(): DashboardState;
  /** The active topom (null while standby). */
  topom(): Topom | null;
  /** Called on every state change. */
  onState(cb: (s: DashboardState) => void): void;
  /** Releases the lock, closes the API and the store. Idempotent. */
  stop(): Promise<void>;
  /** Resolves once stopped (by stop(), a signal, or the shutdown API). */
  done: Promise<void>;
}

const sleep = (ms: number, abort: Promise<void>): Promise<void> =>
  Promise.race([new Promise<void>((r) => setTimeout(r, ms).unref()), abort]);

export async function runDashboard(config: DashboardConfig, log: Logger): Promise<RunningDashboard> {
  const store: Store = await openStore(config.coordinator, { timeoutMs: config.coordinatorTimeout });
  const pstore = new ProductStore(store, config.productName);
  const lockPath = topomPath(config.productName);
  let state: DashboardState = 'starting';
  let current: Topom | null = null;
  let standbyReason = 'starting up';
  const listeners: Array<(s: DashboardState) => void> = [];
  const setState = (s: DashboardState): void => {
    if (s === state) return;
    state = s;
    for (const cb of listeners) { try { cb(s); } catch { /* listener's problem */ } }
  };
  let stopRequested!: () => void;
  const stopSignal = new Promise<void>((r) => { stopRequested = r; });
  let stopping = false;

  const host: DashboardHost = {
    config, log,
    current: () => current,
    standbyReason: () => standbyReason,
    requestShutdown: () => { setImmediate(() => { void stop(); }); },
  };
  let api: Awaited<ReturnType<typeof startDashboardApi>>;
  try {
    api = await startDashboardApi(host, config.adminAddr);
  } catch (e) {
    await store.close();
    throw new Error(`cannot serve the dashboard API on ${config.adminAddr}: ${(e as Error).message}`);
  }
  const cfgHost = config.adminAddr.slice(0, config.adminAddr.lastIndexOf(':'));
  const adminHost = ['', '0.0.0.0', '::', '[::]'].includes(cfgHost) ? os.hostname() : cfgHost;
  const adminAddr = `${adminHost}:${api.port}`;

  const describeHolder = async (): Promise<string> => {
    try {
      const t = await pstore.readTopom();
      if (t) return `the product lock ${lockPath} is held by the dashboard at ${t.admin_addr || '?'} (pid ${t.pid}, since ${t.start_time || '?'})`;
    } catch { /* fall through */ }
    return `the product lock ${lockPath} is held by another owner`;
  };

  const loop = async (): Promise<void> => {
    let lastStandbyLog = '';
    while (!stopping) {
      let lease: Lease | null = null;
      const model = newTopomModel(config.productName, adminAddr);
      try {
        lease = await store.acquireLock(lockPath, encodeJson(model), { ttlMs: config.lockTtl });
      } catch (e) {
        standbyReason = `cannot take the product lock: ${(e as Error).message}`;
        log.warn({ err: (e as Error).message }, 'cannot reach the coordinator to take the product lock; retrying');
      }
      if (!lease) {
        if (!standbyReason.startsWith('cannot take')) standbyReason = await describeHolder();
        if (standbyReason !== lastStandbyLog) {
          log.info({ product: config.productName, reason: standbyReason }, 'standby: another dashboard is active for this product; retrying every %d ms', config.lockRetry);
          lastStandbyLog = standbyReason;
        }
        setState('standby');
        await sleep(config.lockRetry, stopSignal);
        standbyReason = standbyReason.startsWith('cannot take') ? 'waiting for the product lock' : standbyReason;
        continue;
      }
      lastStandbyLog = '';
      let lostResolve!: (why: string) => void;
      const lost = new Promise<string>((r) => { lostResolve = r; });
      let topom: Topom | null = null;
      lease.onLost((err) => {
        topom?.fence(`product lock lost: ${err.message}`);
        current = null;
        standbyReason = `the product lock was lost (${err.message})`;
        lostResolve(err.message);
      });
      try {
        topom = await Topom.load(config, pstore, model, log);
      } catch (e) {
        log.error({ err: (e as Error).message }, 'cannot load the product metadata; releasing the lock and retrying');
        standbyReason = `cannot load the product metadata: ${(e as Error).message}`;
        await lease.release().catch(() => undefined);
        setState('standby');
        await sleep(Math.max(config.lockRetry, 2000), stopSignal);
        continue;
      }
      if (!lease.held) { await topom.close('product lock lost while loading'); continue; }
      current = topom;
      topom.startPolling();
      log.info({ product: config.productName, admin: adminAddr, token: topom.model.token }, 'active: holding the product lock');
      setState('active');
      const why = await Promise.race([lost, stopSignal.then(() => null)]);
      current = null;
      if (why !== null) {
        log.error({ err: why }, 'product lock lost: stopped acting; becoming standby');
        await topom.close(`product lock lost: ${why}`);
        setState('standby');
        continue;
      }
      await topom.close('dashboard stopping');
      await lease.release().catch((e: Error) => log.warn({ err: e.message }, 'releasing the product lock failed'));
      log.info('product lock released');
    }
  };

  let resolveDone!: () => void;
  const done = new Promise<void>((r) => { resolveDone = r; });
  const looping = loop().catch((e: Error) => { log.error({ err: e.message }, 'dashboard loop failed'); });
  let stoppingPromise: Promise<void> | null = null;
  const stop = (): Promise<void> => (stoppingPromise ??= (async () => {
    stopping = true;
    stopRequested();
    await looping;
    await api.app.close().catch(() => undefined);
    await store.close().catch(() => undefined);
    setState('stopped');
    resolveDone();
  })());

  return {
    adminPort: api.port,
    adminAddr,
    state: () => state,
    topom: () => current,
    onState: (cb) => { listeners.push(cb); if (state !== 'starting') cb(state); },
    stop,
    done,
  };
}
