// Runs one dashboard process for one product: opens the coordinator, serves the HTTP API, and takes
// the product lock (`/codis3/<product>/topom`, a lease holding the Topom record). Without the lock it
// is a standby: it retries every lock_retry and its API answers 503 naming the active dashboard.
// With the lock it loads all metadata from the store, serves it and polls stats. If the lease is
// lost it stops acting at once (no further writes or pushes) and goes back to standby; a clean stop
// (SIGTERM/SIGINT or the shutdown API) releases the lock at once.
import os from 'node:os';
import { openStore, parseCoordinatorAuth, topomPath, type Lease, type Store } from '../coordinator/index.js';
import { newTopomModel, type TopomModel } from '../models/topom.js';
import type { Logger } from '../util/log.js';
import { formatAddr, hostOf, isWildcardHost } from '../util/address.js';
import type { DashboardConfig } from './config.js';
import { ProductStore, encodeJson } from './store-models.js';
import { Topom } from './topom.js';
import { startDashboardApi, type DashboardHost } from './api.js';
import { clientTlsOptions, setRedisClientTls } from '../util/redis-client-tls.js';
import { setProxyAdminHttps } from './proxy-client.js';

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

/** The dashboard's mutable state, shared by the lock loop, the API host and stop(). */
interface RunState {
  state: DashboardState;
  current: Topom | null;
  standbyReason: string;
  stopping: boolean;
  readonly listeners: Array<(s: DashboardState) => void>;
  /** Resolves when stop() was asked for. */
  readonly stopSignal: Promise<void>;
}

function setState(rs: RunState, s: DashboardState): void {
  if (s === rs.state) return;
  rs.state = s;
  for (const cb of rs.listeners) {
    try {
      cb(s);
    } catch {
      /* listener's problem */
    }
  }
}

/** The loop that takes the product lock, runs a Topom while holding it, and goes back to standby when it is lost. */
class LockLoop {
  private lastStandbyLog = '';
  private readonly lockPath: string;

  constructor(
    private readonly config: DashboardConfig,
    private readonly log: Logger,
    private readonly store: Store,
    private readonly pstore: ProductStore,
    private readonly adminAddr: string,
    private readonly rs: RunState,
  ) {
    this.lockPath = topomPath(config.productName);
  }

  private async describeHolder(): Promise<string> {
    try {
      const t = await this.pstore.readTopom();
      if (t)
        return `the product lock ${this.lockPath} is held by the dashboard at ${t.admin_addr || '?'} (pid ${t.pid}, since ${t.start_time || '?'})`;
    } catch {
      /* fall through */
    }
    return `the product lock ${this.lockPath} is held by another owner`;
  }

  async run(): Promise<void> {
    while (!this.rs.stopping) {
      const model = newTopomModel(this.config.productName, this.adminAddr);
      const lease = await this.tryLock(model);
      if (!lease) {
        await this.waitAsStandby();
        continue;
      }
      this.lastStandbyLog = '';
      await this.runWhileHeld(lease, model);
    }
  }

  private async tryLock(model: TopomModel): Promise<Lease | null> {
    try {
      return await this.store.acquireLock(this.lockPath, encodeJson(model), { ttlMs: this.config.lockTtl });
    } catch (e) {
      this.rs.standbyReason = `cannot take the product lock: ${(e as Error).message}`;
      this.log.warn({ err: (e as Error).message }, 'cannot reach the coordinator to take the product lock; retrying');
      return null;
    }
  }

  private async waitAsStandby(): Promise<void> {
    const rs = this.rs;
    if (!rs.standbyReason.startsWith('cannot take')) rs.standbyReason = await this.describeHolder();
    if (rs.standbyReason !== this.lastStandbyLog) {
      this.log.info(
        { product: this.config.productName, reason: rs.standbyReason },
        'standby: another dashboard is active for this product; retrying every %d ms',
        this.config.lockRetry,
      );
      this.lastStandbyLog = rs.standbyReason;
    }
    setState(rs, 'standby');
    await sleep(this.config.lockRetry, rs.stopSignal);
    rs.standbyReason = rs.standbyReason.startsWith('cannot take') ? 'waiting for the product lock' : rs.standbyReason;
  }

  /** Loads and runs a Topom until the lease is lost (then standby) or stop() is asked (then release). */
  private async runWhileHeld(lease: Lease, model: TopomModel): Promise<void> {
    const rs = this.rs,
      log = this.log;
    let topom: Topom | null = null;
    const lost = new Promise<string>((resolve) => {
      lease.onLost((err) => {
        topom?.fence(`product lock lost: ${err.message}`);
        rs.current = null;
        rs.standbyReason = `the product lock was lost (${err.message})`;
        resolve(err.message);
      });
    });
    // Every metadata write from now on is fenced by this lease in the coordinator itself.
    this.pstore.writer = lease.fenced;
    topom = await this.load(lease, model);
    if (!topom) return;
    if (!lease.held) {
      await topom.close('product lock lost while loading');
      return;
    }
    rs.current = topom;
    topom.startPolling();
    log.info({ product: this.config.productName, admin: this.adminAddr, token: topom.model.token }, 'active: holding the product lock');
    setState(rs, 'active');
    const why = await Promise.race([lost, rs.stopSignal.then(() => null)]);
    rs.current = null;
    if (why !== null) {
      log.error({ err: why }, 'product lock lost: stopped acting; becoming standby');
      await topom.close(`product lock lost: ${why}`);
      setState(rs, 'standby');
      return;
    }
    await topom.close('dashboard stopping');
    await lease.release().catch((e: Error) => log.warn({ err: e.message }, 'releasing the product lock failed'));
    log.info('product lock released');
  }

  /** The product's metadata; on failure the lock is released and null returned after a pause. */
  private async load(lease: Lease, model: TopomModel): Promise<Topom | null> {
    try {
      return await Topom.load(this.config, this.pstore, model, this.log);
    } catch (e) {
      this.log.error({ err: (e as Error).message }, 'cannot load the product metadata; releasing the lock and retrying');
      this.rs.standbyReason = `cannot load the product metadata: ${(e as Error).message}`;
      await lease.release().catch(() => undefined);
      setState(this.rs, 'standby');
      await sleep(Math.max(this.config.lockRetry, 2000), this.rs.stopSignal);
      return null;
    }
  }
}

export async function runDashboard(config: DashboardConfig, log: Logger): Promise<RunningDashboard> {
  const store: Store = await openStore(config.coordinator, {
    timeoutMs: config.coordinatorTimeout,
    auth: parseCoordinatorAuth(config.coordinatorAuth),
  });
  const pstore = new ProductStore(store, config.productName);
  let stopRequested!: () => void;
  const rs: RunState = {
    state: 'starting',
    current: null,
    standbyReason: 'starting up',
    stopping: false,
    listeners: [],
    stopSignal: new Promise<void>((r) => {
      stopRequested = r;
    }),
  };
  const host: DashboardHost = {
    config,
    log,
    current: () => rs.current,
    standbyReason: () => rs.standbyReason,
    requestShutdown: () => {
      setImmediate(() => {
        void stop();
      });
    },
  };
  setProxyAdminHttps(config.tls.proxyAdmin);
  // backend_tls: every connection of this process to servers and sentinels uses TLS.
  if (config.tls.backend)
    setRedisClientTls(
      clientTlsOptions({
        caFile: config.tls.backendCaFile,
        certFile: config.tls.backendCertFile,
        keyFile: config.tls.backendKeyFile,
        serverName: config.tls.backendServerName,
      }),
    );
  let api: Awaited<ReturnType<typeof startDashboardApi>>;
  try {
    api = await startDashboardApi(host, config.adminAddr);
  } catch (e) {
    await store.close();
    throw new Error(`cannot serve the dashboard API on ${config.adminAddr}: ${(e as Error).message}`);
  }
  const cfgHost = hostOf(config.adminAddr);
  const adminAddr = formatAddr(isWildcardHost(cfgHost) ? os.hostname() : cfgHost, api.port);

  let resolveDone!: () => void;
  const done = new Promise<void>((r) => {
    resolveDone = r;
  });
  const looping = new LockLoop(config, log, store, pstore, adminAddr, rs).run().catch((e: Error) => {
    log.error({ err: e.message }, 'dashboard loop failed');
  });
  let stoppingPromise: Promise<void> | null = null;
  const stop = (): Promise<void> =>
    (stoppingPromise ??= (async () => {
      rs.stopping = true;
      stopRequested();
      await looping;
      await api.app.close().catch(() => undefined);
      await store.close().catch(() => undefined);
      setState(rs, 'stopped');
      resolveDone();
    })());

  return {
    adminPort: api.port,
    adminAddr,
    state: () => rs.state,
    topom: () => rs.current,
    onState: (cb) => {
      rs.listeners.push(cb);
      if (rs.state !== 'starting') cb(rs.state);
    },
    stop,
    done,
  };
}
