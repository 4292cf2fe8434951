// Owns the ZooKeeper coordinator (package `node-zookeeper-client`). Nodes are ZooKeeper znodes at the
// store paths; parents are created on demand without data (read → null), as Codis's zk client does.
//   session     one shared session per store (timeout = ephemeralTtlMs) for data, watches and
//               ephemeral nodes; when ZooKeeper reports it expired the store opens a new one,
//               re-arms every watch (and fires it) and re-creates its ephemeral nodes (onLost)
//   lock        an ephemeral znode in a session of its own whose timeout is the lock's ttlMs, so a
//               dead owner's lock disappears after ttlMs; lost (onLost) on session expiry, on being
//               disconnected for half the session timeout (ZooKeeper may expire it soon after), or
//               when the node is deleted (watched)
//   watch       exists + getChildren watchers, re-armed after each notification and reconnect
// Every request is bounded by timeoutMs: ZooKeeper clients queue requests while disconnected, so
// without it a call would wait for the server forever. A request that timed out may still be applied
// if the connection comes back (its outcome is unknown, as with any timeout).
// With `auth` (Codis's --zookeeper-auth), every session authenticates with the digest scheme and every
// node it creates gets a digest ACL for that user only (all permissions), as Codis's zk client does.
import { createHash } from 'node:crypto';
import zookeeper, { type ACL, type Client, type Exception, type Stat, type Transaction } from 'node-zookeeper-client';
import { childPath, parentPath, validatePath } from './paths.js';
import {
  DEFAULT_EPHEMERAL_TTL_MS,
  DEFAULT_TIMEOUT_MS,
  StoreError,
  coalesce,
  delay,
  LossNotifier,
  type EphemeralHandle,
  type FencedWriter,
  type Lease,
  type LockOptions,
  type Store,
  type StoreErrorCode,
  type StoreOptions,
  type Unwatch,
  updatePipelined,
} from './store.js';

const { CreateMode, Exception: ZkException, State } = zookeeper;

/** ZooKeeper's Perms.ALL (read, write, create, delete, admin). */
const PERM_ALL = 31;

/** The ACL of nodes created with `auth`: the digest user only; without auth, world-open. */
function aclFor(auth: { username: string; password: string } | undefined): ACL[] {
  if (!auth) return zookeeper.ACL.OPEN_ACL_UNSAFE;
  const digest = createHash('sha1').update(`${auth.username}:${auth.password}`).digest('base64');
  return [new zookeeper.ACL(PERM_ALL, new zookeeper.Id('digest', `${auth.username}:${digest}`))];
}

export interface ZkStoreOptions extends StoreOptions {
  /** Connection string: `host:port[,host:port...][/chroot]`. */
  servers: string;
}

type Cb<T> = (err: Exception | Error | null, res?: T) => void;

interface ConnectionManagerInternals {
  connect: () => void;
  socket?: { destroy(): void; destroyed?: boolean };
  state: number;
}

function zkCode(e: unknown): number | undefined {
  return e && typeof (e as Exception).getCode === 'function' ? (e as Exception).getCode() : undefined;
}

/** One ZooKeeper client session with bounded calls and a close that really stops reconnecting. */
class ZkSession {
  readonly client: Client;
  /** The ACL of the nodes this session creates (aclFor). */
  readonly acls: ACL[];
  private closed = false;
  private disconnectedAt: number | null = Date.now();
  private connectedOnce = false;
  private readonly watchdog: NodeJS.Timeout;
  private pendingSocket: unknown = null;
  private pendingSince = 0;

  constructor(
    readonly servers: string,
    sessionTimeoutMs: number,
    private readonly describe: string,
    private readonly timeoutMs: number,
    auth?: { username: string; password: string },
  ) {
    this.client = zookeeper.createClient(servers, { sessionTimeout: sessionTimeoutMs, spinDelay: 250, retries: 0 });
    // Sent on every (re)connection by the client library.
    if (auth) this.client.addAuthInfo('digest', Buffer.from(`${auth.username}:${auth.password}`));
    this.acls = aclFor(auth);
    this.client.on('state', (s) => {
      if (s === State.SYNC_CONNECTED || s === State.CONNECTED_READ_ONLY) {
        this.disconnectedAt = null;
        this.connectedOnce = true;
      } else if (this.disconnectedAt === null) {
        this.disconnectedAt = Date.now();
      }
    });
    this.client.connect();
    // node-zookeeper-client has no timeout for the session handshake once the TCP connection is up,
    // and a ZooKeeper that is still starting can accept a connection and never answer it (seen after
    // restarts): drop such a connection so the client retries instead of waiting forever.
    // Nor does it notice a connected server that went silent (a network partition resets nothing):
    // while connected, a probe (exists /) goes out every second, and a socket whose probe is not
    // answered within max(1.5 s, min(3 s, session timeout / 3)) is dropped, so the client moves the
    // session to another server of the ensemble.
    this.watchdog = setInterval(() => {
      const sock = this.internals.socket;
      if (!this.closed && this.connected && sock && !sock.destroyed) {
        this.pendingSocket = null;
        this.probeLiveness(sock);
        return;
      }
      if (this.closed || this.connected || !sock || sock.destroyed) {
        this.pendingSocket = null;
        return;
      }
      if (sock !== this.pendingSocket) {
        this.pendingSocket = sock;
        this.pendingSince = Date.now();
      } else if (Date.now() - this.pendingSince > Math.min(Math.max(1500, this.timeoutMs / 2), 3000)) {
        sock.destroy();
      }
    }, 500);
    this.watchdog.unref();
  }

  private probe: { sock: unknown; sentAt: number } | null = null;
  private lastProbeAt = 0;

  private probeLiveness(sock: { destroy(): void }): void {
    const now = Date.now();
    if (this.probe) {
      const limit = Math.max(1500, Math.min(3000, this.client.getSessionTimeout() / 3));
      if (this.probe.sock === sock && now - this.probe.sentAt > limit) {
        this.probe = null;
        sock.destroy();
      }
      return;
    }
    if (now - this.lastProbeAt < 1000) return;
    this.lastProbeAt = now;
    const p = { sock, sentAt: now };
    this.probe = p;
    this.client.exists('/', undefined, () => {
      if (this.probe === p) this.probe = null;
    });
  }

  private get internals(): ConnectionManagerInternals {
    return (this.client as unknown as { connectionManager: ConnectionManagerInternals }).connectionManager;
  }

  get connected(): boolean {
    const s = this.client.getState();
    return s === State.SYNC_CONNECTED || s === State.CONNECTED_READ_ONLY;
  }

  /** Milliseconds since the connection was lost (0 when connected). */
  get disconnectedForMs(): number {
    return this.disconnectedAt === null ? 0 : Date.now() - this.disconnectedAt;
  }

  /** The session timeout the server granted (valid once connected). */
  get negotiatedTimeoutMs(): number {
    return this.client.getSessionTimeout();
  }

  get sessionId(): Buffer {
    return this.client.getSessionId();
  }

  async waitConnected(op: string, path: string): Promise<void> {
    if (this.connected) return;
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => {
        this.client.removeListener('connected', onUp);
        reject(this.error('UNAVAILABLE', op, path, `cannot connect to ZooKeeper within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      const onUp = (): void => {
        clearTimeout(t);
        resolve();
      };
      this.client.once('connected', onUp);
    });
  }

  error(code: StoreErrorCode, op: string, path: string, what: string, cause?: unknown): StoreError {
    return new StoreError(code, `${this.describe}: ${op} ${path}: ${what}`, 'zookeeper', path, { cause });
  }

  mapErr(op: string, path: string, e: unknown): StoreError {
    if (e instanceof StoreError) return e;
    const c = zkCode(e);
    const msg = e instanceof Error ? e.message : String(e);
    switch (c) {
      case ZkException.NODE_EXISTS:
        return this.error('EXISTS', op, path, 'node already exists', e);
      case ZkException.NOT_EMPTY:
        return this.error('NOT_EMPTY', op, path, 'node has children', e);
      case ZkException.NO_CHILDREN_FOR_EPHEMERALS:
        return this.error('CONFLICT', op, path, 'a parent is an ephemeral node (they cannot have children)', e);
      case ZkException.CONNECTION_LOSS:
        return this.error('UNAVAILABLE', op, path, 'connection to ZooKeeper lost', e);
      case ZkException.SESSION_EXPIRED:
        return this.error('UNAVAILABLE', op, path, 'ZooKeeper session expired (reconnecting)', e);
      case ZkException.OPERATION_TIMEOUT:
        return this.error('TIMEOUT', op, path, 'ZooKeeper operation timed out', e);
      default:
        return this.error('IO', op, path, msg, e);
    }
  }

  /** Runs one request; rejects with StoreError after timeoutMs instead of waiting for a reconnect. */
  call<T>(op: string, path: string, start: (cb: Cb<T>) => void): Promise<T> {
    if (this.closed) return Promise.reject(this.error('CLOSED', op, path, 'store is closed'));
    return new Promise<T>((resolve, reject) => {
      let done = false;
      const t = setTimeout(() => {
        if (done) return;
        done = true;
        reject(
          this.connected
            ? this.error('TIMEOUT', op, path, `no answer from ZooKeeper within ${this.timeoutMs} ms`)
            : this.error('UNAVAILABLE', op, path, `not connected to ZooKeeper (waited ${this.timeoutMs} ms; is it running?)`),
        );
      }, this.timeoutMs);
      try {
        start((err, res) => {
          if (done) return;
          done = true;
          clearTimeout(t);
          if (err) reject(err);
          else resolve(res as T);
        });
      } catch (e) {
        done = true;
        clearTimeout(t);
        reject(e);
      }
    });
  }

  /** Closes the session (its ephemeral nodes go away) and makes sure no reconnect loop survives. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.watchdog);
    const cm = this.internals;
    try {
      this.client.close();
    } catch {
      /* already closed */
    }
    cm.connect = () => undefined;
    // node-zookeeper-client may still have a reconnect timer or half-open socket: sweep for a while.
    const until = Date.now() + 3000;
    const sweep = setInterval(() => {
      const connectedNow = this.connected;
      if (!connectedNow && cm.socket && !cm.socket.destroyed) cm.socket.destroy();
      if (Date.now() > until) {
        cm.socket?.destroy();
        clearInterval(sweep);
      }
    }, 100);
    sweep.unref();
    if (!this.connectedOnce) cm.socket?.destroy();
  }
}

interface WatchEntry {
  path: string;
  active: boolean;
  fire: () => void;
  /** One stable function per session, so re-arming never stacks duplicate ZooKeeper watchers. */
  watcher: (() => void) | null;
  session: ZkSession | null;
  /** False while a re-arm is pending (after a notification, a failed re-arm or a new session). */
  armed: boolean;
}

export class ZkStore implements Store {
  readonly kind = 'zookeeper' as const;
  readonly describe: string;
  private session: ZkSession;
  private readonly timeoutMs: number;
  private readonly ephemeralTtlMs: number;
  private closed = false;
  private readonly watches = new Set<WatchEntry>();
  private readonly ephemerals = new Set<ZkEphemeral>();
  private readonly locks = new Set<ZkLock>();

  private constructor(private readonly opts: ZkStoreOptions) {
    this.describe = `zookeeper ${opts.servers}`;
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.ephemeralTtlMs = opts.ephemeralTtlMs ?? DEFAULT_EPHEMERAL_TTL_MS;
    this.session = this.newSession();
  }

  /** Connects (throws 'UNAVAILABLE' if ZooKeeper does not accept a session within timeoutMs). */
  static async open(opts: ZkStoreOptions): Promise<ZkStore> {
    const s = new ZkStore(opts);
    try {
      await s.session.waitConnected('connect', '/');
    } catch (e) {
      s.session.close();
      throw e;
    }
    return s;
  }

  private newSession(): ZkSession {
    const s = new ZkSession(this.opts.servers, this.ephemeralTtlMs, this.describe, this.timeoutMs, this.opts.auth);
    s.client.on('expired', () => void this.onExpired(s));
    s.client.on('connected', () => {
      if (this.session === s) this.rearmAll();
    });
    return s;
  }

  /** The shared session expired: open a new one, re-arm watches, re-create ephemeral nodes. */
  private async onExpired(old: ZkSession): Promise<void> {
    if (this.closed || this.session !== old) return;
    old.close();
    this.session = this.newSession();
    for (const w of this.watches) {
      // Re-armed (and fired: anything may have changed without a session) once the new one connects.
      w.watcher = null;
      w.session = null;
      w.armed = false;
    }
    for (const e of this.ephemerals) e.sessionLost();
  }

  private get s(): ZkSession {
    if (this.closed) throw new StoreError('CLOSED', `${this.describe}: store is closed`, 'zookeeper');
    return this.session;
  }

  // ---- primitives (also used by handles) ------------------------------------------------------------

  /** @internal */
  async rawCreate(session: ZkSession, op: string, path: string, data: Buffer | undefined, mode: number): Promise<void> {
    const attempt = (): Promise<string> =>
      session.call<string>(op, path, (cb) => session.client.create(path, data, session.acls, mode, cb));
    try {
      await attempt();
    } catch (e) {
      if (zkCode(e) !== ZkException.NO_NODE) throw session.mapErr(op, path, e);
      await this.ensureParents(session, op, path);
      try {
        await attempt();
      } catch (e2) {
        throw session.mapErr(op, path, e2);
      }
    }
  }

  /** @internal */
  async ensureParents(session: ZkSession, op: string, path: string): Promise<void> {
    const chain: string[] = [];
    for (let p = parentPath(path); p && p !== '/'; p = parentPath(p)) chain.unshift(p);
    for (const p of chain) {
      try {
        await session.call<string>(op, p, (cb) => session.client.create(p, undefined, session.acls, CreateMode.PERSISTENT, cb));
      } catch (e) {
        if (zkCode(e) !== ZkException.NODE_EXISTS) throw session.mapErr(op, p, e);
      }
    }
  }

  /** @internal */
  async rawStat(session: ZkSession, op: string, path: string, watcher?: () => void): Promise<Stat | null> {
    try {
      const st = await session.call<Stat | null>(op, path, (cb) => session.client.exists(path, watcher, cb));
      return st ?? null;
    } catch (e) {
      throw session.mapErr(op, path, e);
    }
  }

  /** @internal */
  async rawRemove(session: ZkSession, op: string, path: string): Promise<void> {
    try {
      await session.call<void>(op, path, (cb) => session.client.remove(path, -1, cb));
    } catch (e) {
      if (zkCode(e) === ZkException.NO_NODE) return;
      throw session.mapErr(op, path, e);
    }
  }

  /** @internal */
  async rawSetData(session: ZkSession, op: string, path: string, data: Buffer): Promise<boolean> {
    try {
      await session.call<Stat>(op, path, (cb) => session.client.setData(path, data, -1, cb));
      return true;
    } catch (e) {
      if (zkCode(e) === ZkException.NO_NODE) return false;
      throw session.mapErr(op, path, e);
    }
  }

  /** @internal */ get current(): ZkSession {
    return this.s;
  }
  /** @internal */ get isClosed(): boolean {
    return this.closed;
  }
  /** @internal */ get timeout(): number {
    return this.timeoutMs;
  }

  // ---- Store --------------------------------------------------------------------------------------

  async create(path: string, data: Buffer): Promise<void> {
    validatePath(path);
    await this.rawCreate(this.s, 'create', path, data, CreateMode.PERSISTENT);
  }

  updateMany(entries: ReadonlyArray<readonly [string, Buffer]>): Promise<void> {
    return updatePipelined(entries, (p, d) => this.update(p, d));
  }

  async update(path: string, data: Buffer): Promise<void> {
    validatePath(path);
    const s = this.s;
    for (let i = 0; i < 3; i++) {
      if (await this.rawSetData(s, 'update', path, data)) return;
      try {
        await this.rawCreate(s, 'update', path, data, CreateMode.PERSISTENT);
        return;
      } catch (e) {
        if (!(e instanceof StoreError && e.code === 'EXISTS')) throw e; // created meanwhile: set it
      }
    }
    throw s.error('IO', 'update', path, 'node keeps being created and deleted concurrently');
  }

  async delete(path: string): Promise<void> {
    validatePath(path);
    await this.rawRemove(this.s, 'delete', path);
  }

  async read(path: string): Promise<Buffer | null> {
    validatePath(path);
    const s = this.s;
    try {
      const data = await s.call<Buffer | undefined>('read', path, (cb) => s.client.getData(path, undefined, cb));
      return data ?? null;
    } catch (e) {
      if (zkCode(e) === ZkException.NO_NODE) return null;
      throw s.mapErr('read', path, e);
    }
  }

  async list(path: string): Promise<string[]> {
    validatePath(path, true);
    const s = this.s;
    try {
      const kids = await s.call<string[]>('list', path, (cb) => s.client.getChildren(path, undefined, cb));
      return kids
        .filter((k) => !(path === '/' && k === 'zookeeper'))
        .sort()
        .map((k) => childPath(path, k));
    } catch (e) {
      if (zkCode(e) === ZkException.NO_NODE) return [];
      throw s.mapErr('list', path, e);
    }
  }

  /**
   * Registers exists + getChildren watchers for `w` on the current session. ZooKeeper watches are
   * one-shot, so after a notification the watch is re-armed *before* `onChange` runs: a change made
   * between the notification and the re-arm is then seen by the caller's re-read, and any later
   * change triggers a new notification.
   */
  private async arm(w: WatchEntry): Promise<void> {
    if (!w.active || this.closed) return;
    const s = this.session;
    if (w.session !== s || !w.watcher) {
      w.session = s;
      const fn = (): void => {
        if (!w.active || w.watcher !== fn) return;
        w.armed = false;
        void this.arm(w)
          .catch(() => undefined)
          .finally(() => {
            if (w.active) w.fire();
          });
      };
      w.watcher = fn;
    }
    const fn = w.watcher;
    const st = await this.rawStat(s, 'watch', w.path, fn);
    if (st) {
      try {
        await s.call<string[]>('watch', w.path, (cb) => s.client.getChildren(w.path, fn, cb));
      } catch (e) {
        if (zkCode(e) !== ZkException.NO_NODE) throw s.mapErr('watch', w.path, e);
        // deleted in between: the exists watcher fires for that
      }
    }
    if (w.session === s) w.armed = true;
  }

  /** After a reconnect: re-arm watches whose re-arm failed while disconnected, then notify them. */
  private rearmAll(): void {
    for (const w of this.watches) {
      if (w.armed) continue;
      void this.arm(w).then(
        () => {
          if (w.active) w.fire();
        },
        () => undefined,
      );
    }
  }

  async watch(path: string, onChange: () => void): Promise<Unwatch> {
    validatePath(path, true);
    const w: WatchEntry = { path, active: true, fire: coalesce(onChange), watcher: null, session: null, armed: false };
    void this.s;
    await this.arm(w);
    this.watches.add(w);
    return () => {
      w.active = false;
      this.watches.delete(w);
    };
  }

  async createEphemeral(path: string, data: Buffer): Promise<EphemeralHandle> {
    validatePath(path);
    const e = new ZkEphemeral(this, path, data);
    await this.rawCreate(this.s, 'createEphemeral', path, data, CreateMode.EPHEMERAL);
    this.ephemerals.add(e);
    await e.watchSelf().catch(() => undefined);
    return e;
  }

  async acquireLock(path: string, data: Buffer, opts: LockOptions): Promise<Lease | null> {
    validatePath(path);
    void this.s;
    const session = new ZkSession(this.opts.servers, Math.max(1, Math.round(opts.ttlMs)), this.describe, this.timeoutMs, this.opts.auth);
    try {
      await session.waitConnected('acquireLock', path);
      await this.rawCreate(session, 'acquireLock', path, data, CreateMode.EPHEMERAL);
    } catch (e) {
      session.close();
      if (e instanceof StoreError && e.code === 'EXISTS') return null;
      throw e;
    }
    const lock = new ZkLock(this, session, path);
    this.locks.add(lock);
    await lock.start();
    return lock;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    for (const w of this.watches) w.active = false;
    this.watches.clear();
    await Promise.all([...this.locks].map((l) => l.release().catch(() => undefined)));
    await Promise.all([...this.ephemerals].map((e) => e.remove().catch(() => undefined)));
    this.closed = true;
    this.session.close();
  }

  /** @internal */ forgetEphemeral(e: ZkEphemeral): void {
    this.ephemerals.delete(e);
  }
  /** @internal */ forgetLock(l: ZkLock): void {
    this.locks.delete(l);
  }
}

/** An ephemeral znode in the store's shared session, re-created after session expiry or deletion. */
class ZkEphemeral implements EphemeralHandle {
  private active = true;
  private recovery: Promise<void> | null = null;
  private readonly loss = new LossNotifier();
  private watcher: (() => void) | null = null;

  constructor(
    private readonly store: ZkStore,
    readonly path: string,
    private data: Buffer,
  ) {}

  /** Watches our own node so a deletion by someone else is noticed. */
  async watchSelf(): Promise<void> {
    if (!this.active || this.store.isClosed) return;
    const fn = (): void => {
      if (this.watcher !== fn || !this.active) return;
      void this.check();
    };
    this.watcher = fn;
    await this.store.rawStat(this.store.current, 'ephemeral', this.path, fn);
  }

  private async check(): Promise<void> {
    if (!this.active || this.store.isClosed) return;
    try {
      const st = await this.store.rawStat(this.store.current, 'ephemeral', this.path, this.watcher ?? undefined);
      if (st && st.ephemeralOwner.equals(this.store.current.sessionId)) return;
      this.lost(st ? 'the node was replaced by another owner' : 'the node was deleted by someone else');
    } catch {
      /* disconnected: the session machinery reports real losses */
    }
  }

  sessionLost(): void {
    this.lost('the ZooKeeper session expired');
  }

  private lost(why: string): void {
    if (!this.active) return;
    this.loss.report(new StoreError('LOST', `${this.store.describe}: ephemeral ${this.path}: ${why}`, 'zookeeper', this.path));
    this.startRecovery();
  }

  private startRecovery(): void {
    this.recovery ??= this.recover().finally(() => {
      this.recovery = null;
    });
  }

  /** Creates the node again in the current session until that works or the handle is removed. */
  private async recover(): Promise<void> {
    while (this.active && !this.store.isClosed) {
      try {
        const s = this.store.current;
        await s.waitConnected('createEphemeral', this.path);
        const st = await this.store.rawStat(s, 'createEphemeral', this.path);
        if (st && !st.ephemeralOwner.equals(s.sessionId)) await this.store.rawRemove(s, 'createEphemeral', this.path);
        if (!st || !st.ephemeralOwner.equals(s.sessionId)) {
          await this.store.rawCreate(s, 'createEphemeral', this.path, this.data, CreateMode.EPHEMERAL);
        }
        this.watcher = null;
        await this.watchSelf();
        return;
      } catch {
        await delay(500);
      }
    }
  }

  async update(data: Buffer): Promise<void> {
    if (!this.active)
      throw new StoreError('CLOSED', `${this.store.describe}: update ${this.path}: ephemeral node was removed`, 'zookeeper', this.path);
    this.data = data;
    const s = this.store.current;
    if (!(await this.store.rawSetData(s, 'update', this.path, data))) this.startRecovery();
  }

  async remove(): Promise<void> {
    if (!this.active) return;
    this.active = false;
    this.watcher = null;
    this.store.forgetEphemeral(this);
    await this.recovery; // a re-create in flight finishes first, so the node is removed after it
    if (!this.store.isClosed) await this.store.rawRemove(this.store.current, 'remove', this.path);
  }

  onLost(cb: (err: StoreError) => void): void {
    this.loss.onLost(cb);
  }
}

/** A lock: an ephemeral znode in a session of its own whose timeout is the lock's ttl. */
class ZkLock implements Lease {
  private active = true;
  private readonly loss = new LossNotifier();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly store: ZkStore,
    private readonly session: ZkSession,
    readonly path: string,
  ) {}

  get held(): boolean {
    return this.active && this.loss.lost === null;
  }

  /**
   * Fenced writes go through the lock's own session (which ends when the lock is lost: expiry,
   * disconnect past half the timeout, node deleted) as a multi-op that first checks the lock node.
   */
  readonly fenced: FencedWriter = {
    update: (path, data) => this.whileHeld('update', path, () => this.fencedUpdate(path, data)),
    updateMany: async (entries) => {
      for (const [p] of entries) validatePath(p);
      for (let i = 0; i < entries.length; i += 64) {
        await Promise.all(entries.slice(i, i + 64).map(([p, d]) => this.whileHeld('update', p, () => this.fencedUpdate(p, d))));
      }
    },
    delete: (path) => this.whileHeld('delete', path, () => this.fencedDelete(path)),
  };

  /** A failure after the lock was lost (its session is closed then) is reported as the refusal it is. */
  private async whileHeld(op: string, path: string, fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (e) {
      if (!this.held && !(e instanceof StoreError && e.code === 'LOST'))
        throw this.refused(op, path, `the lock was lost (${this.loss.lost?.message ?? 'released'})`);
      throw e;
    }
  }

  private refused(op: string, path: string, why: string): StoreError {
    return new StoreError('LOST', `${this.store.describe}: ${op} ${path}: refused, ${why}`, 'zookeeper', path);
  }

  /** Commits `[check lock node, ...ops]`; 'lost' if the lock node is gone, 'target' if an op on `path` failed with `code`. */
  private async multi(op: string, path: string, build: (tx: Transaction) => Transaction): Promise<'ok' | 'lost' | number> {
    if (!this.held) throw this.loss.lost ?? this.refused(op, path, 'the lock is not held');
    const s = this.session;
    // The multi's check sees only that the lock node exists; its owner is compared just before, in
    // the same session (ZooKeeper orders one session's requests), so a node re-created by another
    // owner is caught too unless it is replaced in the one round trip between the two.
    const owner = await this.store.rawStat(s, op, this.path);
    if (!owner || !owner.ephemeralOwner.equals(s.sessionId)) {
      this.lose('a fenced write found the lock node gone or owned by another session');
      return 'lost';
    }
    try {
      await s.call<unknown>(op, path, (cb) => build(s.client.transaction().check(this.path, -1)).commit(cb));
      return 'ok';
    } catch (e) {
      const code = zkCode(e);
      if (code === undefined || code === ZkException.SESSION_EXPIRED || code === ZkException.CONNECTION_LOSS) throw s.mapErr(op, path, e);
      const st = await this.store.rawStat(s, op, this.path).catch(() => null);
      if (!st || !st.ephemeralOwner.equals(s.sessionId)) {
        this.lose('a fenced write found the lock node gone or owned by another session');
        return 'lost';
      }
      return code;
    }
  }

  private async fencedUpdate(path: string, data: Buffer): Promise<void> {
    validatePath(path);
    for (let i = 0; i < 3; i++) {
      const exists = await this.store.rawStat(this.session, 'update', path);
      if (!exists) await this.store.ensureParents(this.session, 'update', path);
      const r = await this.multi('update', path, (tx) =>
        exists ? tx.setData(path, data, -1) : tx.create(path, data, this.session.acls, CreateMode.PERSISTENT),
      );
      if (r === 'ok') return;
      if (r === 'lost') throw this.refused('update', path, 'the lock node is gone or owned by another session');
      // NO_NODE / NODE_EXISTS on the target: it was deleted or created meanwhile; try the other way
    }
    throw this.session.error('IO', 'update', path, 'node keeps being created and deleted concurrently');
  }

  private async fencedDelete(path: string): Promise<void> {
    validatePath(path);
    if (!(await this.store.rawStat(this.session, 'delete', path))) return;
    const r = await this.multi('delete', path, (tx) => tx.remove(path, -1));
    if (r === 'ok' || r === ZkException.NO_NODE) return;
    if (r === 'lost') throw this.refused('delete', path, 'the lock node is gone or owned by another session');
    if (r === ZkException.NOT_EMPTY) throw this.session.error('NOT_EMPTY', 'delete', path, 'node has children');
    throw this.session.error('IO', 'delete', path, `ZooKeeper error ${r}`);
  }

  /** When the last request that got an answer was sent: the server heard from the session then. */
  private lastHeardAt = Date.now();
  private lastProbeAt = 0;
  private probing = false;

  async start(): Promise<void> {
    this.session.client.on('expired', () => this.lose('the ZooKeeper session expired'));
    const timeout = this.session.negotiatedTimeoutMs;
    // The client notices a dead connection (a partition: no reset, just silence) only late, so the
    // lock also probes the server (an exists on the lock node every timeout/6) and counts as lost
    // once nothing was answered for 2/3 of the session timeout — before the server can expire the
    // session and hand the lock to someone else.
    this.timer = setInterval(
      () => {
        const gone = this.session.disconnectedForMs;
        const silent = Date.now() - this.lastHeardAt;
        if (gone > timeout / 2) this.lose(`disconnected from ZooKeeper for ${gone} ms (session timeout ${timeout} ms)`);
        else if (silent > (timeout * 2) / 3) this.lose(`no answer from ZooKeeper for ${silent} ms (session timeout ${timeout} ms)`);
        else if (!this.probing && Date.now() - this.lastProbeAt >= timeout / 6) void this.probe();
      },
      Math.max(50, Math.floor(timeout / 10)),
    );
    this.timer.unref();
    const watcher = (): void => void this.check(watcher);
    await this.check(watcher);
  }

  private async probe(): Promise<void> {
    this.probing = true;
    const sentAt = Date.now();
    this.lastProbeAt = sentAt;
    try {
      await this.store.rawStat(this.session, 'lock', this.path);
      this.lastHeardAt = Math.max(this.lastHeardAt, sentAt);
    } catch {
      /* no answer: the timer decides */
    } finally {
      this.probing = false;
    }
  }

  private async check(watcher: () => void): Promise<void> {
    if (!this.held) return;
    const sentAt = Date.now();
    try {
      const st = await this.store.rawStat(this.session, 'lock', this.path, watcher);
      this.lastHeardAt = Math.max(this.lastHeardAt, sentAt);
      if (!st) this.lose('the lock node was deleted by someone else');
      else if (!st.ephemeralOwner.equals(this.session.sessionId)) this.lose('the lock node was replaced by another owner');
    } catch {
      /* disconnected: the timer and the expiry event decide */
    }
  }

  private lose(why: string): void {
    if (!this.held) return;
    const err = new StoreError('LOST', `${this.store.describe}: lock ${this.path}: ${why}`, 'zookeeper', this.path);
    this.loss.loseForGood(err, () => this.shutdown());
  }

  private shutdown(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.store.forgetLock(this);
    this.session.close();
  }

  async release(): Promise<void> {
    if (!this.active) return;
    const wasHeld = this.held;
    this.active = false;
    if (!wasHeld) return;
    try {
      await this.store.rawRemove(this.session, 'release', this.path);
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      throw new StoreError(
        'UNAVAILABLE',
        `${this.store.describe}: release ${this.path}: could not delete the lock node (it disappears by itself when the session times out): ${why}`,
        'zookeeper',
        this.path,
        { cause: e },
      );
    } finally {
      this.shutdown(); // closing the session removes the node anyway
    }
  }

  onLost(cb: (err: StoreError) => void): void {
    this.loss.onLost(cb);
  }
}
