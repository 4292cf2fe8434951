// Owns the coordinator contract: the `Store` interface that the dashboard, proxies (jodis) and the
// admin CLI use to keep metadata in a filesystem directory, etcd v3 or ZooKeeper, plus the one error
// type every backend throws (`StoreError`) and small shared helpers (timeouts, option defaults).
//
// Model (the Codis 3.2 one): a tree of nodes addressed by absolute paths such as
// `/codis3/demo/slots/slot-0001`. A node has an optional value (a Buffer, JSON by convention) and
// children. Writing a node creates its missing parents. Backends differ only where documented.

import { validatePath } from './paths.js';

// The error type lives in store-error.ts (paths.ts throws it too, without importing this file).
export { StoreError, isStoreError, type StoreErrorCode, type StoreKind } from './store-error.js';
import { StoreError, type StoreKind } from './store-error.js';

/** Handle for a node that lives only as long as its owner (`Store.createEphemeral`). */
export interface EphemeralHandle {
  readonly path: string;
  /** Replaces the node's value; the node stays ephemeral. */
  update(data: Buffer): Promise<void>;
  /** Deletes the node and stops keeping it alive. Idempotent. */
  remove(): Promise<void>;
  /**
   * `cb` runs each time the node was lost behind the owner's back (ZooKeeper session expired, etcd
   * lease not renewed in time, filesystem heartbeat file removed). The store then re-creates the
   * node with its latest value as soon as the coordinator is reachable again (what Codis's jodis
   * does), until `remove()` or `Store.close()`.
   */
  onLost(cb: (err: StoreError) => void): void;
}

/**
 * Writes that the coordinator applies only while a lease still owns its lock, checked in the same
 * atomic step as the write (etcd: a txn comparing the lock key's lease; ZooKeeper: a multi-op with a
 * check of the lock node, sent in the lock's own session, which cannot outlive the lock; filesystem:
 * the lock's owner token re-read under the writers' mutation lock). A write refused because the lock
 * is no longer ours fails with 'LOST' (and the lease reports `onLost`). Nodes written this way are
 * persistent (an ephemeral node's value must be changed through its own handle).
 */
export interface FencedWriter {
  update(path: string, data: Buffer): Promise<void>;
  /** Like `Store.updateMany` (not atomic as a whole; each part is fenced). */
  updateMany(entries: ReadonlyArray<readonly [string, Buffer]>): Promise<void>;
  delete(path: string): Promise<void>;
}

/** An exclusive, lease-based lock (`Store.acquireLock`). */
export interface Lease {
  readonly path: string;
  /** Writes fenced by this lease: refused by the coordinator once another owner may hold the lock. */
  readonly fenced: FencedWriter;
  /** False once the lease was released or lost. */
  readonly held: boolean;
  /** Deletes the lock node so another owner can acquire it at once. Idempotent. */
  release(): Promise<void>;
  /**
   * `cb` runs once when the lock may no longer be ours: the lease/session could not be renewed for
   * most of its ttl, the session expired, or somebody deleted or replaced the lock node (e.g. an
   * operator's remove-lock). It is reported early rather than late, so an owner that stops acting on
   * `onLost` never overlaps with the next owner. If already lost, `cb` runs on the next tick.
   */
  onLost(cb: (err: StoreError) => void): void;
}

export interface LockOptions {
  /**
   * How long the lock survives its owner dying (kill -9, network cut). etcd rounds up to whole
   * seconds (and to the server's minimum lease TTL, 2 s by default); ZooKeeper clamps it to the
   * server's [minSessionTimeout, maxSessionTimeout] (default 2..20 × tickTime).
   */
  ttlMs: number;
}

/** Unsubscribes a watch. Idempotent. */
export type Unwatch = () => void;

export interface Store {
  readonly kind: StoreKind;
  /** Human-readable address, e.g. `zookeeper 127.0.0.1:2181` (used in error messages). */
  readonly describe: string;

  /** Creates the node (and missing parents). Throws StoreError 'EXISTS' if it is present. */
  create(path: string, data: Buffer): Promise<void>;
  /** Creates or overwrites the node's value. An ephemeral node stays ephemeral. */
  update(path: string, data: Buffer): Promise<void>;
  /**
   * `update` of many nodes, faster than one by one (filesystem: one mutation lock and parallel
   * fsyncs; etcd and ZooKeeper: pipelined). Not atomic: after a failure some may be written.
   */
  updateMany(entries: ReadonlyArray<readonly [string, Buffer]>): Promise<void>;
  /** Deletes the node. No error if absent; 'NOT_EMPTY' if it has children. */
  delete(path: string): Promise<void>;
  /**
   * The node's value, or null when the node is absent or holds no value (a parent that exists only
   * because of its children: a filesystem directory, an etcd key prefix, or a ZooKeeper node created
   * without data).
   */
  read(path: string): Promise<Buffer | null>;
  /** Full paths of the direct children, sorted; [] if none or the node is absent. */
  list(path: string): Promise<string[]>;
  /**
   * Calls `onChange` (coalesced, never concurrently with itself) after the node is created, deleted
   * or changes value, or its set of children changes. It may also fire spuriously (for example after
   * a reconnect, when changes could have been missed, or — etcd — on changes deeper below), so treat
   * it as "re-read now". Resolves once the watch is established: changes made after that are seen.
   * The filesystem backend polls (every `pollIntervalMs`, default 500 ms) instead of being notified.
   */
  watch(path: string, onChange: () => void): Promise<Unwatch>;
  /**
   * Creates a node that disappears when its owner goes away: a ZooKeeper ephemeral node (session
   * timeout = `ephemeralTtlMs`), an etcd key bound to a kept-alive lease (TTL = `ephemeralTtlMs`), or
   * a file plus a heartbeat file (owner pid + mtime; readers treat it as absent once the pid is dead
   * on this host or the heartbeat is older than `ephemeralTtlMs`). 'EXISTS' if the node is present.
   */
  createEphemeral(path: string, data: Buffer): Promise<EphemeralHandle>;
  /**
   * Takes an exclusive lock by creating an ephemeral node at `path` holding `data` (e.g. the Codis
   * `Topom` record at `/codis3/<product>/topom`). Returns null, without waiting, when the node exists
   * and its owner is alive (including another Lease of this same store) or it is a persistent node
   * (a Codis-style lock that an operator must remove). A dead owner's lock disappears by itself after
   * at most `ttlMs` (filesystem: at once if the owner's pid is dead on this host).
   */
  acquireLock(path: string, data: Buffer, opts: LockOptions): Promise<Lease | null>;
  /** Releases leases and ephemeral nodes, stops watches, disconnects. Idempotent. */
  close(): Promise<void>;
}

/** Options every backend understands. */
export interface StoreOptions {
  /** Upper bound for one operation against etcd/ZooKeeper (and for the first connection). Default 5000. */
  timeoutMs?: number;
  /** Lifetime of ephemeral nodes after their owner is gone. Default 10000. */
  ephemeralTtlMs?: number;
  /** Filesystem backend: how often `watch` polls. Default 500. */
  pollIntervalMs?: number;
  /**
   * Coordinator credentials (Codis's coordinator_auth, `--etcd-auth` / `--zookeeper-auth`): the etcd
   * user, or the ZooKeeper digest user (every node created gets a digest ACL for it). Ignored by the
   * filesystem backend. openStore falls back to SHARDIS_COORDINATOR_AUTH ("user:password").
   */
  auth?: { username: string; password: string };
}

/** Parses "user:password" (the password may contain ':'); '' → undefined. */
export function parseCoordinatorAuth(text: string): { username: string; password: string } | undefined {
  if (!text) return undefined;
  const i = text.indexOf(':');
  if (i <= 0) throw new StoreError('BAD_PATH', 'coordinator auth must be "user:password"');
  return { username: text.slice(0, i), password: text.slice(i + 1) };
}

export const DEFAULT_TIMEOUT_MS = 5000;
export const DEFAULT_EPHEMERAL_TTL_MS = 10000;
export const DEFAULT_POLL_INTERVAL_MS = 500;

/** Rejects with StoreError 'TIMEOUT' (or what `onTimeout` returns) if `p` does not settle in `ms`. */
export function withTimeout<T>(p: Promise<T>, ms: number, onTimeout: () => StoreError): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const t = setTimeout(() => reject(onTimeout()), ms);
    p.then(
      (v) => {
        clearTimeout(t);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(t);
        reject(e);
      },
    );
  });
}

export function delay(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * Runs `fn` whenever `trigger()` is called, never two at once; triggers that arrive while it runs
 * collapse into one more run. Used to coalesce watch notifications.
 */
export function coalesce(fn: () => void | Promise<void>): () => void {
  let running = false;
  let again = false;
  const run = async (): Promise<void> => {
    running = true;
    try {
      do {
        again = false;
        try {
          await fn();
        } catch {
          /* a watcher's own error is its business */
        }
      } while (again);
    } finally {
      running = false;
    }
  };
  return () => {
    if (running) {
      again = true;
      return;
    }
    void run();
  };
}

/**
 * The loss reporting every lease and ephemeral handle shares (their `onLost`): a lock lost for good
 * is remembered and also reported to callbacks added later (on the next tick); an ephemeral node
 * that is being re-created is reported once per loss and not remembered.
 */
export class LossNotifier {
  private readonly cbs = new Set<(err: StoreError) => void>();
  private final: StoreError | null = null;

  /** The error of a loss for good, or null. */
  get lost(): StoreError | null {
    return this.final;
  }

  onLost(cb: (err: StoreError) => void): void {
    this.cbs.add(cb);
    const e = this.final;
    if (e) process.nextTick(() => notifyAll([cb], e));
  }

  /** Lost for good (a lock): remembered (so `lost` is set while `cleanup` runs), then reported. */
  loseForGood(err: StoreError, cleanup?: () => void): void {
    this.final = err;
    cleanup?.();
    notifyAll(this.cbs, err);
  }

  /** Lost for now (an ephemeral node being re-created): reported only. */
  report(err: StoreError): void {
    notifyAll(this.cbs, err);
  }
}

/** Calls each callback with `err`, isolating their exceptions. */
export function notifyAll(cbs: Iterable<(err: StoreError) => void>, err: StoreError): void {
  for (const cb of cbs) {
    try {
      cb(err);
    } catch {
      /* ignore */
    }
  }
}

/** `Store.updateMany` for servers that pipeline requests: all paths validated first, then 64 at a time. */
export async function updatePipelined(
  entries: ReadonlyArray<readonly [string, Buffer]>,
  update: (path: string, data: Buffer) => Promise<void>,
): Promise<void> {
  for (const [p] of entries) validatePath(p);
  for (let i = 0; i < entries.length; i += 64) {
    await Promise.all(entries.slice(i, i + 64).map(([p, d]) => update(p, d)));
  }
}
