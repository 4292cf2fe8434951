// Owns the etcd v3 coordinator (package `etcd3`). Keys are the store paths themselves
// (`/codis3/demo/slots/slot-0001`), so the data reads naturally with `etcdctl get --prefix /codis3`.
// etcd has no directories: a node's children are the keys one '/'-level below it, and a parent exists
// only as long as something lives below it (read → null unless a value was written there).
//   create        txn: if create_revision == 0 then put          (else 'EXISTS')
//   update        txn: if present then put(ignore_lease) else put  (an ephemeral key keeps its lease)
//   ephemeral     key bound to its own lease (TTL = ephemeralTtlMs), kept alive by the client
//   lock          txn put-if-absent bound to a lease of ttlMs (rounded up to whole seconds)
// Loss: if no keepalive succeeded for 3/4 of the TTL (the server may expire the lease at any moment
// after that), if etcd reports the lease gone, or if the key is deleted/replaced (watched; a lock reads
// its key every TTL/8 instead), a lock reports onLost and an ephemeral node is re-created under a new lease.
// Every unary call carries a gRPC deadline and an outer timer (timeoutMs); the client reconnects
// within about a second after etcd comes back (short gRPC reconnect backoff). With several members a
// call that times out on one is retried on another, and a failing member is skipped for a while.
import {
  Etcd3,
  GRPCDeadlineExceededError,
  isRecoverableError,
  type IOptions,
  type Lease as EtcdLease,
  type IWatchResponse,
  type Watcher,
} from 'etcd3';
import { childPath, validatePath } from './paths.js';
import { MemberHealth } from './etcd-member-health.js';
import {
  DEFAULT_EPHEMERAL_TTL_MS,
  DEFAULT_TIMEOUT_MS,
  StoreError,
  coalesce,
  delay,
  LossNotifier,
  withTimeout,
  type EphemeralHandle,
  type FencedWriter,
  type Lease,
  type LockOptions,
  type Store,
  type StoreOptions,
  type Unwatch,
  updatePipelined,
} from './store.js';

export interface EtcdStoreOptions extends StoreOptions {
  /** `host:port` or `http://host:port`. */
  endpoints: string[];
  /** etcd user and password, if auth is enabled. */
  auth?: { username: string; password: string };
}

type FaultHandling = NonNullable<IOptions['faultHandling']>;
type HostPolicy = ReturnType<NonNullable<FaultHandling['host']>>;
type GlobalPolicy = NonNullable<FaultHandling['global']>;
type WatchBackoff = NonNullable<FaultHandling['watchBackoff']>;

/** A policy that just runs the call (etcd3's default per-host circuit breaker delays recovery by 5 s). */
const passthroughPolicy = {
  execute: <T>(fn: (ctx: { signal: AbortSignal; attempt: number }) => Promise<T> | T): Promise<T> =>
    Promise.resolve().then(() => fn({ signal: new AbortController().signal, attempt: 0 })),
};

/**
 * Retries recoverable errors so a call moves on to the next endpoint (the pool rotates hosts); with
 * several endpoints also a call that ran into its deadline (a member cut off by a partition does not
 * refuse connections, it just never answers).
 */
function retryPolicy(attempts: number, retryDeadline: boolean): GlobalPolicy {
  return {
    execute: async <T>(fn: (ctx: { signal: AbortSignal; attempt: number }) => Promise<T> | T): Promise<T> => {
      let last: unknown;
      for (let i = 0; i < attempts; i++) {
        try {
          return await fn({ signal: new AbortController().signal, attempt: i });
        } catch (e) {
          last = e;
          if (!(e instanceof Error) || !(isRecoverableError(e) || (retryDeadline && e instanceof GRPCDeadlineExceededError))) throw e;
        }
      }
      throw last;
    },
  } as unknown as GlobalPolicy;
}

/** Watch stream reconnect backoff: 100 ms doubling to 1 s (etcd3's default grows to 30 s). */
function watchBackoff(ms = 100): WatchBackoff {
  return { duration: ms, next: () => watchBackoff(Math.min(ms * 2, 1000)) } as unknown as WatchBackoff;
}

export class EtcdStore implements Store {
  readonly kind = 'etcd' as const;
  readonly describe: string;
  private readonly client: Etcd3;
  private readonly timeoutMs: number;
  private readonly ephemeralTtlMs: number;
  private closed = false;
  private readonly keepers = new Set<LeaseKeeper>();
  private readonly watchers = new Set<() => Promise<void>>();
  /** Health of each member of a multi-member cluster (etcd-member-health.ts); null for one endpoint. */
  private readonly health: MemberHealth | null;

  private constructor(opts: EtcdStoreOptions) {
    if (opts.endpoints.length === 0) throw new StoreError('UNAVAILABLE', 'etcd: no endpoints given', 'etcd');
    this.describe = `etcd ${opts.endpoints.join(',')}`;
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.ephemeralTtlMs = opts.ephemeralTtlMs ?? DEFAULT_EPHEMERAL_TTL_MS;
    const timeoutMs = this.timeoutMs;
    const several = opts.endpoints.length > 1;
    this.health = several ? new MemberHealth(opts.endpoints) : null;
    // With several members, one attempt may take only a share of the timeout, so a call that first
    // lands on an unreachable member still has time to be retried on another.
    const attemptMs = several ? Math.max(1000, Math.floor(timeoutMs / opts.endpoints.length)) : timeoutMs;
    this.client = new Etcd3({
      hosts: opts.endpoints.map((e) => (/^https?:\/\//.test(e) ? e : `http://${e}`)),
      auth: opts.auth,
      dialTimeout: timeoutMs,
      defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: new Date(Date.now() + attemptMs) }),
      faultHandling: {
        host: (h: string) => (this.health ? this.health.policyFor(h) : passthroughPolicy) as unknown as HostPolicy,
        global: retryPolicy(Math.max(2, opts.endpoints.length), several),
        watchBackoff: watchBackoff(),
      },
      grpcOptions: {
        'grpc.initial_reconnect_backoff_ms': 100,
        'grpc.min_reconnect_backoff_ms': 100,
        'grpc.max_reconnect_backoff_ms': 1000,
        // A member cut off by a partition neither answers nor resets the connection: without
        // keepalive pings a watch or lease-keepalive stream on it would hang forever. 5 s is the
        // shortest interval etcd accepts by default (--grpc-keepalive-min-time).
        ...(several ? { 'grpc.keepalive_time_ms': 5000, 'grpc.keepalive_timeout_ms': 2000 } : {}),
      },
    });
  }

  /** Connects and checks that etcd answers (throws 'UNAVAILABLE' otherwise). */
  static async open(opts: EtcdStoreOptions): Promise<EtcdStore> {
    const s = new EtcdStore(opts);
    try {
      await s.op('connect', '/', () => s.client.get('/').exists());
    } catch (e) {
      s.health?.stop();
      s.client.close();
      throw e;
    }
    return s;
  }

  // ---- plumbing -----------------------------------------------------------------------------------

  private mapErr(op: string, path: string, e: unknown): StoreError {
    if (e instanceof StoreError) return e;
    const msg = e instanceof Error ? e.message : String(e);
    let code: StoreError['code'] = 'IO';
    if (e instanceof GRPCDeadlineExceededError) code = 'TIMEOUT';
    else if (e instanceof Error && isRecoverableError(e)) code = 'UNAVAILABLE';
    else if (/unavailable|ECONNREFUSED|connect|No connection|closed/i.test(msg)) code = 'UNAVAILABLE';
    const what =
      code === 'UNAVAILABLE' ? `etcd is unreachable (${msg})` : code === 'TIMEOUT' ? `timed out after ${this.timeoutMs} ms` : msg;
    return new StoreError(code, `${this.describe}: ${op} ${path}: ${what}`, 'etcd', path, { cause: e });
  }

  /** Runs one etcd call with the store's timeout, mapping failures to StoreError. */
  async op<T>(op: string, path: string, fn: () => Promise<T>): Promise<T> {
    if (this.closed) throw new StoreError('CLOSED', `${this.describe}: ${op} ${path}: store is closed`, 'etcd', path);
    try {
      return await withTimeout(
        fn(),
        this.timeoutMs + 500,
        () =>
          new StoreError(
            'TIMEOUT',
            `${this.describe}: ${op} ${path}: no answer within ${this.timeoutMs} ms (is etcd running?)`,
            'etcd',
            path,
          ),
      );
    } catch (e) {
      throw this.mapErr(op, path, e);
    }
  }

  /** @internal */ get etcd(): Etcd3 {
    return this.client;
  }
  /** @internal */ get isClosed(): boolean {
    return this.closed;
  }

  // ---- Store --------------------------------------------------------------------------------------

  async create(path: string, data: Buffer): Promise<void> {
    validatePath(path);
    const res = await this.op('create', path, () =>
      this.client.if(path, 'Create', '==', 0).then(this.client.put(path).value(data)).commit(),
    );
    if (!res.succeeded) throw new StoreError('EXISTS', `${this.describe}: create ${path}: node already exists`, 'etcd', path);
  }

  updateMany(entries: ReadonlyArray<readonly [string, Buffer]>): Promise<void> {
    return updatePipelined(entries, (p, d) => this.update(p, d));
  }

  async update(path: string, data: Buffer): Promise<void> {
    validatePath(path);
    await this.op('update', path, () =>
      this.client
        .if(path, 'Create', '>', 0)
        .then(this.client.put(path).value(data).ignoreLease())
        .else(this.client.put(path).value(data))
        .commit(),
    );
  }

  async delete(path: string): Promise<void> {
    validatePath(path);
    const below = await this.op('delete', path, () => this.client.getAll().prefix(`${path}/`).count());
    if (below > 0) throw new StoreError('NOT_EMPTY', `${this.describe}: delete ${path}: node has children`, 'etcd', path);
    await this.op('delete', path, () => this.client.delete().key(path).exec());
  }

  async read(path: string): Promise<Buffer | null> {
    validatePath(path);
    return this.op('read', path, () => this.client.get(path).buffer());
  }

  async list(path: string): Promise<string[]> {
    validatePath(path, true);
    const prefix = path === '/' ? '/' : `${path}/`;
    const keys = await this.op('list', path, () => this.client.getAll().prefix(prefix).keys());
    const names = new Set<string>();
    for (const k of keys) {
      const name = k.slice(prefix.length).split('/')[0];
      if (name) names.add(name);
    }
    return [...names].sort().map((n) => childPath(path, n));
  }

  async watch(path: string, onChange: () => void): Promise<Unwatch> {
    validatePath(path, true);
    const fire = coalesce(onChange);
    const matches = (key: string): boolean => path === '/' || key === path || key.startsWith(`${path}/`);
    let active = true;
    let current: Watcher | null = null;
    const attach = (w: Watcher): void => {
      current = w;
      let disconnected = false;
      w.on('data', (res: IWatchResponse) => {
        if (res.events.some((ev) => matches(ev.kv.key.toString()))) fire();
      });
      w.on('disconnected', () => {
        disconnected = true;
      });
      w.on('connected', () => {
        if (disconnected) {
          disconnected = false;
          fire();
        } // resumed: tell the caller to re-read
      });
      // etcd cancels a watch it cannot resume (e.g. its revision was compacted): open a new one.
      w.on('error', () => {
        if (!active || current !== w) return;
        current = null;
        void w.cancel().catch(() => undefined);
        void reopen();
      });
    };
    const reopen = async (): Promise<void> => {
      while (active && !this.closed) {
        try {
          const w = await this.openWatcher('watch', path);
          if (!active) {
            void w.cancel().catch(() => undefined);
            return;
          }
          attach(w);
          fire();
          return;
        } catch {
          await delay(500);
        }
      }
    };
    attach(await this.openWatcher('watch', path));
    const stop = async (): Promise<void> => {
      if (!active) return;
      active = false;
      this.watchers.delete(stop);
      const w = current;
      current = null;
      if (w) await withTimeout(w.cancel(), 2000, () => new StoreError('TIMEOUT', 'cancel')).catch(() => undefined);
    };
    this.watchers.add(stop);
    return () => void stop();
  }

  /** @internal A connected etcd watcher on `path` and everything below it. */
  async openWatcher(op: string, path: string): Promise<Watcher> {
    const w = this.client
      .watch()
      .prefix(path === '/' ? '/' : path)
      .watcher();
    w.on('error', () => undefined); // an unhandled 'error' event would crash the process
    try {
      await this.op(
        op,
        path,
        () =>
          new Promise<void>((resolve, reject) => {
            w.once('connected', () => resolve());
            w.once('error', (e: unknown) => reject(e));
          }),
      );
    } catch (e) {
      void w.cancel().catch(() => undefined);
      throw e;
    }
    return w;
  }

  async createEphemeral(path: string, data: Buffer): Promise<EphemeralHandle> {
    validatePath(path);
    const k = new LeaseKeeper(this, path, 'ephemeral', this.ephemeralTtlMs, data);
    await k.start('createEphemeral');
    return k;
  }

  async acquireLock(path: string, data: Buffer, opts: LockOptions): Promise<Lease | null> {
    validatePath(path);
    const k = new LeaseKeeper(this, path, 'lock', opts.ttlMs, data);
    try {
      await k.start('acquireLock');
    } catch (e) {
      if (e instanceof StoreError && e.code === 'EXISTS') return null;
      throw e;
    }
    return k;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    await Promise.all([...this.keepers].map((k) => k.stop(true).catch(() => undefined)));
    await Promise.all([...this.watchers].map((w) => w()));
    this.closed = true;
    this.health?.stop();
    this.client.close();
  }

  /** @internal */ register(k: LeaseKeeper): void {
    this.keepers.add(k);
  }
  /** @internal */ unregister(k: LeaseKeeper): void {
    this.keepers.delete(k);
  }
  /** @internal */ get timeout(): number {
    return this.timeoutMs;
  }
}

/**
 * One lease-bound key: the EphemeralHandle / Lease handed out. Watches its own key and checks the
 * lease's keepalives; on loss a lock reports and stops, an ephemeral node is put again under a new lease.
 */
class LeaseKeeper implements EphemeralHandle, Lease {
  private readonly ttlSec: number;
  private lease: EtcdLease | null = null;
  private leaseId = '';
  private lastOk = 0;
  private timer: NodeJS.Timeout | undefined;
  private watcher: Watcher | null = null;
  private active = true;
  private readonly loss = new LossNotifier();
  private recovering = false;
  private recovery: Promise<void> | null = null;

  constructor(
    private readonly store: EtcdStore,
    readonly path: string,
    private readonly mode: 'ephemeral' | 'lock',
    private readonly ttlMs: number,
    private data: Buffer,
  ) {
    this.ttlSec = Math.max(1, Math.ceil(ttlMs / 1000));
  }

  get held(): boolean {
    return this.active && this.loss.lost === null;
  }

  /** Grants a lease and puts the key bound to it; 'EXISTS' if the key is present and `ifAbsent`. */
  private async bind(op: string, ifAbsent: boolean): Promise<void> {
    const etcd = this.store.etcd;
    const lease = etcd.lease(this.ttlSec);
    lease.on('lost', () => undefined); // reported through our own checks
    let id: string;
    try {
      id = await this.store.op(op, this.path, () => lease.grant());
      const put = etcd.put(this.path).value(this.data).lease(id);
      const ok = ifAbsent
        ? (await this.store.op(op, this.path, () => etcd.if(this.path, 'Create', '==', 0).then(put).commit())).succeeded
        : (await this.store.op(op, this.path, () => put.exec()), true);
      if (!ok) {
        throw new StoreError('EXISTS', `${this.store.describe}: ${op} ${this.path}: node already exists`, 'etcd', this.path);
      }
    } catch (e) {
      lease.release();
      void withTimeout(lease.revoke(), this.store.timeout, () => new StoreError('TIMEOUT', 'revoke')).catch(() => undefined);
      throw e;
    }
    const old = this.lease;
    this.lease = lease;
    this.leaseId = id;
    this.lastOk = Date.now();
    lease.on('keepaliveSucceeded', () => {
      if (this.lease === lease) this.lastOk = Date.now();
    });
    lease.on('lost', (err: unknown) => {
      if (this.lease === lease) this.handleLoss(`etcd reports the lease gone (${err instanceof Error ? err.message : String(err)})`);
    });
    if (old) {
      old.release();
      void withTimeout(old.revoke(), this.store.timeout, () => new StoreError('TIMEOUT', 'revoke')).catch(() => undefined);
    }
  }

  async start(op: string): Promise<void> {
    if (this.mode === 'lock') {
      // A lock does not wait for a watch stream (one left on a partitioned member can take seconds
      // to be replaced, and a standby must take over promptly): it reads its key on every tick
      // instead, and its writes are fenced by the lease anyway.
      await this.bind(op, true);
    } else {
      // Watch first, so a delete right after the put is not missed.
      this.watcher = await this.store.openWatcher(op, this.path);
      try {
        await this.bind(op, true);
      } catch (e) {
        await this.closeWatcher();
        throw e;
      }
      this.attachWatcher(this.watcher);
    }
    this.store.register(this);
    const every = Math.max(50, Math.floor((this.ttlSec * 1000) / 8));
    this.timer = setInterval(() => {
      if (this.active && !this.recovering && Date.now() - this.lastOk > this.ttlSec * 750) {
        this.handleLoss(`no lease keepalive succeeded for ${Date.now() - this.lastOk} ms (lease ttl ${this.ttlSec} s)`);
      } else if (this.mode === 'lock' && !this.checkingOwner) {
        void this.checkOwner();
      }
    }, every);
    this.timer.unref();
  }

  private checkingOwner = false;

  /** Lock mode: is the key still there and bound to our lease? (Unanswered: the keepalive check decides.) */
  private async checkOwner(): Promise<void> {
    this.checkingOwner = true;
    try {
      const res = await this.store.op('lock', this.path, () => this.store.etcd.get(this.path).exec());
      const kv = res.kvs[0];
      if (!this.held) return;
      if (!kv) this.handleLoss('the key was deleted by someone else');
      else if (String(kv.lease) !== this.leaseId) this.handleLoss('the key was replaced by another owner');
    } catch {
      /* unreachable: the keepalive check decides */
    } finally {
      this.checkingOwner = false;
    }
  }

  private attachWatcher(w: Watcher): void {
    w.on('data', (res: IWatchResponse) => {
      for (const ev of res.events) {
        if (ev.kv.key.toString() !== this.path) continue;
        if (ev.type === 'Delete') this.handleLoss('the key was deleted by someone else');
        else if (ev.kv.lease !== this.leaseId && !this.recovering) this.handleLoss('the key was replaced by another owner');
      }
    });
    w.on('error', () => {
      if (this.watcher !== w) return;
      this.watcher = null;
      void w.cancel().catch(() => undefined);
      void this.reopenWatcher();
    });
  }

  /** The key watch was cancelled by etcd: open a new one, then check the key is still ours. */
  private async reopenWatcher(): Promise<void> {
    while (this.active && !this.store.isClosed && !this.watcher) {
      try {
        const w = await this.store.openWatcher('watch', this.path);
        if (!this.active) {
          void w.cancel().catch(() => undefined);
          return;
        }
        this.watcher = w;
        this.attachWatcher(w);
        const kv = await this.store.op('watch', this.path, () => this.store.etcd.get(this.path).exec());
        const cur = kv.kvs[0];
        if (!cur) this.handleLoss('the key was deleted by someone else');
        else if (cur.lease !== this.leaseId && !this.recovering) this.handleLoss('the key was replaced by another owner');
        return;
      } catch {
        await delay(500);
      }
    }
  }

  private handleLoss(why: string): void {
    if (!this.active || this.loss.lost || this.recovering) return;
    const err = new StoreError('LOST', `${this.store.describe}: ${this.mode} ${this.path}: ${why}`, 'etcd', this.path);
    if (this.mode === 'lock') {
      this.loss.loseForGood(err, () => {
        void this.teardown(false);
      });
      return;
    }
    this.loss.report(err);
    this.recovery ??= this.recover().finally(() => {
      this.recovery = null;
    });
  }

  /** Ephemeral nodes: put the key again under a fresh lease until it works or the handle is removed. */
  private async recover(): Promise<void> {
    this.recovering = true;
    try {
      while (this.active && !this.store.isClosed) {
        try {
          await this.bind('createEphemeral', false);
          return;
        } catch {
          await delay(500);
        }
      }
    } finally {
      this.recovering = false;
    }
  }

  private async closeWatcher(): Promise<void> {
    const w = this.watcher;
    this.watcher = null;
    if (w) await withTimeout(w.cancel(), 2000, () => new StoreError('TIMEOUT', 'cancel')).catch(() => undefined);
  }

  /** Stops keepalives and the watch; revokes the lease (deleting the key) when `revoke`. */
  private async teardown(revoke: boolean): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.store.unregister(this);
    await this.closeWatcher();
    const lease = this.lease;
    if (!lease) return;
    lease.release();
    const r = withTimeout(lease.revoke(), this.store.timeout, () => new StoreError('TIMEOUT', 'revoke'));
    if (revoke) {
      try {
        await r;
      } catch (e) {
        throw new StoreError(
          'UNAVAILABLE',
          `${this.store.describe}: release ${this.path}: could not revoke the lease (it expires by itself within ${this.ttlMs} ms): ${(e as Error).message}`,
          'etcd',
          this.path,
          { cause: e },
        );
      }
    } else {
      void r.catch(() => undefined); // best effort: frees the key sooner if etcd is reachable
    }
  }

  /** Fenced writes: one txn per ≤64 operations, each guarded by `lock key's lease == ours`. */
  readonly fenced: FencedWriter = {
    update: (path, data) => this.fencedTxn('update', [[path, data]]),
    updateMany: async (entries) => {
      for (const [p] of entries) validatePath(p);
      for (let i = 0; i < entries.length; i += 64) await this.fencedTxn('update', entries.slice(i, i + 64));
    },
    delete: async (path) => {
      validatePath(path);
      const below = await this.store.op('delete', path, () => this.store.etcd.getAll().prefix(`${path}/`).count());
      if (below > 0) throw new StoreError('NOT_EMPTY', `${this.store.describe}: delete ${path}: node has children`, 'etcd', path);
      await this.fencedTxn('delete', [[path, null]]);
    },
  };

  private async fencedTxn(op: string, entries: ReadonlyArray<readonly [string, Buffer | null]>): Promise<void> {
    const first = entries[0]?.[0];
    if (first === undefined) return;
    for (const [p] of entries) validatePath(p);
    const lost = (why: string): StoreError =>
      new StoreError('LOST', `${this.store.describe}: ${op} ${first}: refused, ${why}`, 'etcd', first);
    if (this.mode !== 'lock' || !this.held) throw this.loss.lost ?? lost('the lock is not held');
    const etcd = this.store.etcd;
    const ops = entries.map(([p, d]) => (d === null ? etcd.delete().key(p) : etcd.put(p).value(d)));
    const res = await this.store.op(op, first, () =>
      etcd
        .if(this.path, 'Lease', '==', this.leaseId)
        .then(...ops)
        .commit(),
    );
    if (!res.succeeded) {
      this.handleLoss('a fenced write found the lock key gone or owned by another lease');
      throw lost('the lock key is gone or owned by another lease');
    }
  }

  async update(data: Buffer): Promise<void> {
    if (!this.active)
      throw new StoreError('CLOSED', `${this.store.describe}: update ${this.path}: ephemeral node was removed`, 'etcd', this.path);
    this.data = data;
    const id = this.leaseId;
    await this.store.op('update', this.path, () => this.store.etcd.put(this.path).value(data).lease(id).exec());
  }

  async stop(revoke: boolean): Promise<void> {
    if (!this.active) return;
    this.active = false;
    await this.recovery; // a re-bind in flight finishes first, so its new lease is revoked too
    await this.teardown(revoke && this.loss.lost === null);
  }

  async remove(): Promise<void> {
    await this.stop(true);
  }

  async release(): Promise<void> {
    await this.stop(true);
  }

  onLost(cb: (err: StoreError) => void): void {
    this.loss.onLost(cb);
  }
}
