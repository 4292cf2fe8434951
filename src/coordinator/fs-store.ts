// Owns the filesystem coordinator: the embedded, zero-setup store for one machine. Layout under
// `root` (compatible with Codis's fs client for the data itself):
//   {root}/data/<path>        node values, written to {root}/tmp then renamed into place (+fsync)
//   {root}/ephemeral/<path>   owner record of an ephemeral node or lock: JSON {pid, host, token,
//                             ttlMs, kind}; its mtime is the owner's heartbeat (touched every ttl/3)
//   {root}/shardis.lck        mutation lock, taken with an exclusive create (O_EXCL) by every write
//   {root}/data.lck           then flock'ed for the write too, as Codis's fs client does (fs-flock.ts),
//                             so Codis tools writing the same directory and Shardis exclude each other
// Several processes can share one root. Readers need no lock (rename is atomic). An ephemeral node
// whose owner pid is dead (same host) or whose heartbeat is older than its ttl reads as absent and is
// replaced by the next writer; that is how a standby takes a dead dashboard's lock. A lock-file left
// by a writer that was kill -9'd mid-write is broken when its pid is dead or it is older than 10 s.
// `watch` polls (pollIntervalMs, default 500 ms): it compares the node's value and child list.
// Limits (as in Codis): a path is either a file (has a value) or a directory (has children); writing
// a value to a directory or below a file fails with 'CONFLICT'.
import { createHash, randomUUID } from 'node:crypto';
import { promises as fsp, type Dirent } from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { childPath, segments, validatePath } from './paths.js';
import { DataFileLock } from './fs-flock.js';
import {
  DEFAULT_EPHEMERAL_TTL_MS,
  DEFAULT_POLL_INTERVAL_MS,
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
} from './store.js';
import { at } from '../util/at.js';

export interface FsStoreOptions extends StoreOptions {
  root: string;
}

interface OwnerRecord {
  pid: number;
  host: string;
  token: string;
  ttlMs: number;
  kind: 'ephemeral' | 'lock';
}

type OwnerState = { state: 'none' } | { state: 'live' | 'stale'; owner: OwnerRecord | null };

const LOCKFILE_STALE_MS = 10000;
const HOST = hostname();

function errno(e: unknown): string | undefined {
  return (e as NodeJS.ErrnoException | null)?.code;
}

/** True if a process with this pid exists (EPERM means it exists but is not ours). */
export function pidAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return errno(e) === 'EPERM';
  }
}

/** In-process queue per root so concurrent calls in one process don't spin on the lock file. */
const localQueues = new Map<string, Promise<unknown>>();

export class FsStore implements Store {
  readonly kind = 'filesystem' as const;
  readonly describe: string;
  private readonly dataDir: string;
  private readonly ephDir: string;
  private readonly tmpDir: string;
  private readonly lockFile: string;
  /** Codis's flock on data.lck, held with shardis.lck around every write. */
  private readonly flock: DataFileLock;
  private readonly timeoutMs: number;
  private readonly ephemeralTtlMs: number;
  private readonly pollMs: number;
  private closed = false;
  private readonly keepers = new Set<Keeper>();
  private readonly watchers = new Set<() => void>();

  private constructor(
    readonly root: string,
    opts: FsStoreOptions,
  ) {
    this.describe = `filesystem ${root}`;
    this.dataDir = join(root, 'data');
    this.ephDir = join(root, 'ephemeral');
    this.tmpDir = join(root, 'tmp');
    this.lockFile = join(root, 'shardis.lck');
    this.flock = new DataFileLock(join(root, 'data.lck'));
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.ephemeralTtlMs = opts.ephemeralTtlMs ?? DEFAULT_EPHEMERAL_TTL_MS;
    this.pollMs = opts.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
  }

  static async open(opts: FsStoreOptions): Promise<FsStore> {
    const s = new FsStore(opts.root, opts);
    try {
      for (const d of [s.dataDir, s.ephDir, s.tmpDir]) await fsp.mkdir(d, { recursive: true });
    } catch (e) {
      throw s.err('IO', 'open', '/', `cannot create the store directory: ${(e as Error).message}`, e);
    }
    return s;
  }

  // ---- errors and paths -------------------------------------------------------------------------

  private err(code: StoreErrorCode, op: string, path: string, what: string, cause?: unknown): StoreError {
    return new StoreError(code, `${this.describe}: ${op} ${path}: ${what}`, 'filesystem', path, { cause });
  }

  private ioErr(op: string, path: string, e: unknown): StoreError {
    if (e instanceof StoreError) return e;
    const c = errno(e);
    if (c === 'ENOTDIR' || c === 'EISDIR' || c === 'EEXIST') {
      return this.err(
        'CONFLICT',
        op,
        path,
        'a path component is a file, or the node is a directory (the filesystem coordinator cannot hold both a value and children at one path)',
        e,
      );
    }
    return this.err('IO', op, path, (e as Error).message ?? String(e), e);
  }

  private checkOpen(op: string, path: string): void {
    if (this.closed) throw this.err('CLOSED', op, path, 'store is closed');
  }

  private dataFile(path: string): string {
    return join(this.dataDir, ...segments(path));
  }

  private ownerFile(path: string): string {
    return join(this.ephDir, ...segments(path));
  }

  // ---- the cross-process mutation lock ------------------------------------------------------------

  private async locked<T>(op: string, path: string, fn: () => Promise<T>): Promise<T> {
    const prev = localQueues.get(this.root) ?? Promise.resolve();
    const run = prev.catch(() => undefined).then(() => this.lockedAcrossProcesses(op, path, fn));
    const tail = run.catch(() => undefined);
    localQueues.set(this.root, tail);
    void tail.then(() => {
      if (localQueues.get(this.root) === tail) localQueues.delete(this.root);
    });
    return run;
  }

  private async lockedAcrossProcesses<T>(op: string, path: string, fn: () => Promise<T>): Promise<T> {
    const nonce = randomUUID();
    const content = JSON.stringify({ pid: process.pid, host: HOST, nonce });
    const deadline = Date.now() + Math.max(this.timeoutMs, LOCKFILE_STALE_MS + 2000);
    let backoff = 1;
    for (;;) {
      try {
        await fsp.writeFile(this.lockFile, content, { flag: 'wx' });
        break;
      } catch (e) {
        if (errno(e) === 'ENOENT') {
          await fsp.mkdir(this.root, { recursive: true }).catch(() => undefined);
          continue;
        }
        if (errno(e) !== 'EEXIST') throw this.ioErr(op, path, e);
      }
      await this.breakStaleLockFile();
      if (Date.now() > deadline) {
        throw this.err('TIMEOUT', op, path, `lock file ${this.lockFile} stayed held (remove it if no Shardis process is running)`);
      }
      await delay(backoff + Math.random() * backoff);
      backoff = Math.min(backoff * 2, 25);
    }
    let flocked = false;
    try {
      try {
        // (Codis holds it only for the length of one write: the store's own timeout applies.)
        await this.flock.acquire(Date.now() + this.timeoutMs);
      } catch (e) {
        const m = (e as Error).message;
        throw this.err(m.includes('stayed flocked') ? 'TIMEOUT' : 'IO', op, path, m, e);
      }
      flocked = true;
      return await fn();
    } finally {
      if (flocked) await this.flock.release().catch(() => undefined);
      try {
        if ((await fsp.readFile(this.lockFile, 'utf8')) === content) await fsp.unlink(this.lockFile);
      } catch {
        /* broken by someone else as stale: nothing to release */
      }
    }
  }

  private async lockFileStale(): Promise<{ stale: boolean; raw: string } | null> {
    let raw: string;
    let mtimeMs: number;
    try {
      raw = await fsp.readFile(this.lockFile, 'utf8');
      mtimeMs = (await fsp.stat(this.lockFile)).mtimeMs;
    } catch {
      return null;
    }
    let deadOwner = false;
    try {
      const o = JSON.parse(raw) as { pid?: unknown; host?: unknown };
      deadOwner = o.host === HOST && typeof o.pid === 'number' && !pidAlive(o.pid);
    } catch {
      /* being written right now, or foreign: judge by age */
    }
    return { stale: deadOwner || Date.now() - mtimeMs > LOCKFILE_STALE_MS, raw };
  }

  /** Removes the lock file if its holder is dead, guarded by a second O_EXCL file against two breakers. */
  private async breakStaleLockFile(): Promise<void> {
    const first = await this.lockFileStale();
    if (!first?.stale) return;
    const breaker = `${this.lockFile}.break`;
    try {
      await fsp.writeFile(breaker, String(process.pid), { flag: 'wx' });
    } catch {
      try {
        const st = await fsp.stat(breaker);
        if (Date.now() - st.mtimeMs > 5000) await fsp.unlink(breaker);
      } catch {
        /* gone */
      }
      return;
    }
    try {
      const again = await this.lockFileStale();
      if (again?.stale && again.raw === first.raw) await fsp.unlink(this.lockFile).catch(() => undefined);
    } finally {
      await fsp.unlink(breaker).catch(() => undefined);
    }
  }

  // ---- low-level node state -----------------------------------------------------------------------

  private async writeAtomic(file: string, data: Buffer, mkdir = true): Promise<void> {
    if (mkdir) await fsp.mkdir(dirname(file), { recursive: true });
    const tmp = join(this.tmpDir, `${process.pid}-${randomUUID()}`);
    try {
      const fh = await fsp.open(tmp, 'w');
      try {
        await fh.writeFile(data);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await fsp.rename(tmp, file);
    } catch (e) {
      await fsp.unlink(tmp).catch(() => undefined);
      throw e;
    }
  }

  private async readOwner(path: string): Promise<{ owner: OwnerRecord | null; mtimeMs: number } | null> {
    const f = this.ownerFile(path);
    try {
      const [raw, st] = await Promise.all([fsp.readFile(f, 'utf8'), fsp.stat(f)]);
      let owner: OwnerRecord | null = null;
      try {
        owner = JSON.parse(raw) as OwnerRecord;
      } catch {
        /* half-written: judged by age */
      }
      return { owner, mtimeMs: st.mtimeMs };
    } catch (e) {
      const c = errno(e);
      if (c === 'ENOENT' || c === 'ENOTDIR' || c === 'EISDIR') return null;
      throw e;
    }
  }

  private async ownerState(path: string): Promise<OwnerState> {
    const r = await this.readOwner(path);
    if (!r) return { state: 'none' };
    const o = r.owner;
    const ttl = o && typeof o.ttlMs === 'number' ? o.ttlMs : this.ephemeralTtlMs;
    const dead = o !== null && o.host === HOST && !pidAlive(o.pid);
    const stale = dead || Date.now() - r.mtimeMs > ttl;
    return { state: stale ? 'stale' : 'live', owner: o };
  }

  /** 'file' when the node holds a value and is not a stale ephemeral. */
  private async nodeKind(path: string): Promise<'absent' | 'dir' | 'file' | 'stale'> {
    let st;
    try {
      st = await fsp.stat(this.dataFile(path));
    } catch (e) {
      const c = errno(e);
      if (c === 'ENOENT' || c === 'ENOTDIR') return 'absent';
      throw e;
    }
    if (st.isDirectory()) return 'dir';
    return (await this.ownerState(path)).state === 'stale' ? 'stale' : 'file';
  }

  private async removeNodeFiles(path: string): Promise<void> {
    await fsp.unlink(this.dataFile(path)).catch((e: unknown) => {
      if (errno(e) !== 'ENOENT' && errno(e) !== 'ENOTDIR') throw e;
    });
    await fsp.unlink(this.ownerFile(path)).catch(() => undefined);
  }

  private async writeOwner(path: string, owner: OwnerRecord): Promise<void> {
    await this.writeAtomic(this.ownerFile(path), Buffer.from(JSON.stringify(owner)));
  }

  // ---- Store --------------------------------------------------------------------------------------

  async create(path: string, data: Buffer): Promise<void> {
    validatePath(path);
    this.checkOpen('create', path);
    await this.locked('create', path, async () => {
      try {
        const k = await this.nodeKind(path);
        if (k === 'file' || k === 'dir') throw this.err('EXISTS', 'create', path, 'node already exists');
        await fsp.unlink(this.ownerFile(path)).catch(() => undefined);
        await this.writeAtomic(this.dataFile(path), data);
      } catch (e) {
        throw this.ioErr('create', path, e);
      }
    });
  }

  updateMany(entries: ReadonlyArray<readonly [string, Buffer]>): Promise<void> {
    return this.guardedUpdateMany(entries);
  }

  /** @internal `guard` runs under the mutation lock before anything is written, and may throw to refuse. */
  async guardedUpdateMany(entries: ReadonlyArray<readonly [string, Buffer]>, guard?: () => Promise<void>): Promise<void> {
    for (const [p] of entries) validatePath(p);
    const firstEntry = entries[0];
    if (firstEntry === undefined) return;
    const first = firstEntry[0];
    this.checkOpen('update', first);
    // One mutation lock for all, one mkdir per directory, owner records looked up with one readdir
    // per directory; each file is written, synced and renamed into place as in update(), 64 in
    // parallel (the journal commits their syncs together).
    await this.locked('update', first, async () => {
      if (guard) await guard();
      const byDir = new Map<string, Array<readonly [string, Buffer]>>();
      for (const e of entries) {
        const dir = dirname(this.dataFile(e[0]));
        let l = byDir.get(dir);
        if (!l) {
          l = [];
          byDir.set(dir, l);
        }
        l.push(e);
      }
      for (const [dir, list] of byDir) {
        const head = at(list, 0, `entries under ${dir}`)[0];
        try {
          await fsp.mkdir(dir, { recursive: true });
          const owned = new Set(await fsp.readdir(dirname(this.ownerFile(head))).catch(() => [] as string[]));
          for (let i = 0; i < list.length; i += 64) {
            await Promise.all(
              list.slice(i, i + 64).map(async ([path, data]) => {
                const file = this.dataFile(path);
                if (owned.has(basename(file)) && (await this.ownerState(path)).state === 'stale')
                  await fsp.unlink(this.ownerFile(path)).catch(() => undefined);
                await this.writeAtomic(file, data, false);
              }),
            );
          }
        } catch (e) {
          throw this.ioErr('update', head, e);
        }
      }
    });
  }

  update(path: string, data: Buffer): Promise<void> {
    return this.guardedUpdate(path, data);
  }

  /** @internal See `guardedUpdateMany`. */
  async guardedUpdate(path: string, data: Buffer, guard?: () => Promise<void>): Promise<void> {
    validatePath(path);
    this.checkOpen('update', path);
    await this.locked('update', path, async () => {
      if (guard) await guard();
      try {
        // A live ephemeral node stays ephemeral; a stale owner record must not adopt the new value.
        if ((await this.ownerState(path)).state === 'stale') await fsp.unlink(this.ownerFile(path)).catch(() => undefined);
        await this.writeAtomic(this.dataFile(path), data);
      } catch (e) {
        throw this.ioErr('update', path, e);
      }
    });
  }

  delete(path: string): Promise<void> {
    return this.guardedDelete(path);
  }

  /** @internal See `guardedUpdateMany`. */
  async guardedDelete(path: string, guard?: () => Promise<void>): Promise<void> {
    validatePath(path);
    this.checkOpen('delete', path);
    await this.locked('delete', path, async () => {
      if (guard) await guard();
      try {
        const k = await this.nodeKind(path);
        if (k === 'dir') {
          if ((await this.list(path)).length > 0) throw this.err('NOT_EMPTY', 'delete', path, 'node has children');
          await fsp.rm(this.dataFile(path), { recursive: true, force: true });
          await fsp.rm(this.ownerFile(path), { recursive: true, force: true });
          return;
        }
        await this.removeNodeFiles(path);
      } catch (e) {
        throw this.ioErr('delete', path, e);
      }
    });
  }

  async read(path: string): Promise<Buffer | null> {
    validatePath(path);
    this.checkOpen('read', path);
    let data: Buffer;
    try {
      data = await fsp.readFile(this.dataFile(path));
    } catch (e) {
      const c = errno(e);
      if (c === 'ENOENT' || c === 'ENOTDIR' || c === 'EISDIR') return null;
      throw this.ioErr('read', path, e);
    }
    try {
      return (await this.ownerState(path)).state === 'stale' ? null : data;
    } catch (e) {
      throw this.ioErr('read', path, e);
    }
  }

  async list(path: string): Promise<string[]> {
    validatePath(path, true);
    this.checkOpen('list', path);
    let entries: Dirent[];
    try {
      entries = await fsp.readdir(path === '/' ? this.dataDir : this.dataFile(path), { withFileTypes: true });
    } catch (e) {
      const c = errno(e);
      if (c === 'ENOENT' || c === 'ENOTDIR') return [];
      throw this.ioErr('list', path, e);
    }
    let owned = new Set<string>();
    try {
      owned = new Set(await fsp.readdir(path === '/' ? this.ephDir : this.ownerFile(path)));
    } catch {
      /* no ephemeral children */
    }
    const out: string[] = [];
    for (const d of entries) {
      const child = childPath(path, d.name);
      if (!d.isDirectory() && owned.has(d.name)) {
        try {
          if ((await this.ownerState(child)).state === 'stale') continue;
        } catch (e) {
          throw this.ioErr('list', path, e);
        }
      }
      out.push(child);
    }
    return out.sort();
  }

  async watch(path: string, onChange: () => void): Promise<Unwatch> {
    validatePath(path, true);
    this.checkOpen('watch', path);
    const signature = async (): Promise<string> => {
      const [v, kids] = await Promise.all([path === '/' ? null : this.read(path), this.list(path)]);
      const h = createHash('sha1');
      h.update(v === null ? '\u0000absent' : v);
      h.update('\u0000');
      h.update(kids.join('\u0000'));
      return h.digest('hex');
    };
    let last = await signature();
    let active = true;
    let timer: NodeJS.Timeout | undefined;
    const fire = coalesce(onChange);
    const tick = async (): Promise<void> => {
      if (!active) return;
      try {
        const s = await signature();
        if (s !== last) {
          last = s;
          if (active) fire();
        }
      } catch {
        /* transient I/O error: try again next tick */
      }
      if (active) {
        timer = setTimeout(() => void tick(), this.pollMs);
        timer.unref();
      }
    };
    timer = setTimeout(() => void tick(), this.pollMs);
    timer.unref();
    const unwatch = (): void => {
      active = false;
      if (timer) clearTimeout(timer);
      this.watchers.delete(unwatch);
    };
    this.watchers.add(unwatch);
    return unwatch;
  }

  async createEphemeral(path: string, data: Buffer): Promise<EphemeralHandle> {
    validatePath(path);
    this.checkOpen('createEphemeral', path);
    const keeper = new Keeper(this, path, 'ephemeral', this.ephemeralTtlMs, data);
    await this.locked('createEphemeral', path, async () => {
      try {
        const k = await this.nodeKind(path);
        if (k === 'file' || k === 'dir') throw this.err('EXISTS', 'createEphemeral', path, 'node already exists');
        await this.writeOwner(path, keeper.record);
        await this.writeAtomic(this.dataFile(path), data);
      } catch (e) {
        throw this.ioErr('createEphemeral', path, e);
      }
    });
    keeper.start();
    return keeper;
  }

  async acquireLock(path: string, data: Buffer, opts: LockOptions): Promise<Lease | null> {
    validatePath(path);
    this.checkOpen('acquireLock', path);
    const keeper = new Keeper(this, path, 'lock', Math.max(100, opts.ttlMs), data);
    const got = await this.locked('acquireLock', path, async () => {
      try {
        const k = await this.nodeKind(path);
        if (k === 'dir') throw this.err('CONFLICT', 'acquireLock', path, 'the lock path is a directory');
        if (k === 'file') return false; // live owner, or a persistent (Codis-style) lock node
        await this.writeOwner(path, keeper.record);
        await this.writeAtomic(this.dataFile(path), data);
        return true;
      } catch (e) {
        throw this.ioErr('acquireLock', path, e);
      }
    });
    if (!got) return null;
    keeper.start();
    return keeper;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const w of [...this.watchers]) w();
    await Promise.all([...this.keepers].map((k) => k.stop(true).catch(() => undefined)));
    this.flock.close();
  }

  // ---- used by Keeper -----------------------------------------------------------------------------

  /** @internal */ register(k: Keeper): void {
    this.keepers.add(k);
  }
  /** @internal */ unregister(k: Keeper): void {
    this.keepers.delete(k);
  }

  /** @internal Throws 'LOST' unless the lock at `path` is live and its owner record carries `token`. */
  async assertOwner(op: string, target: string, path: string, token: string): Promise<void> {
    const st = await this.ownerState(path);
    if (st.state !== 'live' || st.owner?.token !== token) {
      throw this.err(
        'LOST',
        op,
        target,
        `refused: the lock ${path} is ${st.state === 'none' ? 'gone' : st.state === 'stale' ? 'stale' : 'owned by another process'}`,
      );
    }
  }

  /** @internal Touches the owner record if it is still ours; false if it was removed or replaced. */
  async heartbeat(path: string, token: string): Promise<boolean> {
    const r = await this.readOwner(path);
    if (!r || r.owner?.token !== token) return false;
    try {
      await fsp.access(this.dataFile(path));
    } catch {
      return false;
    }
    const now = new Date();
    await fsp.utimes(this.ownerFile(path), now, now);
    return true;
  }

  /** @internal Deletes the node if the owner record still carries `token`. */
  async removeIfOwned(path: string, token: string): Promise<void> {
    await this.locked('release', path, async () => {
      const r = await this.readOwner(path);
      if (r?.owner?.token === token) await this.removeNodeFiles(path);
    });
  }

  /** @internal Writes the node as ours again (after it was lost). */
  async rewrite(path: string, record: OwnerRecord, data: Buffer): Promise<void> {
    await this.locked('createEphemeral', path, async () => {
      const st = await this.ownerState(path);
      const k = await this.nodeKind(path);
      if (k === 'file' && st.state === 'live' && st.owner?.token !== record.token) {
        throw this.err('EXISTS', 'createEphemeral', path, 'node was re-created by another owner');
      }
      await this.writeOwner(path, record);
      await this.writeAtomic(this.dataFile(path), data);
    });
  }

  /** @internal Replaces the value of an owned node. */
  async updateOwned(path: string, token: string, data: Buffer): Promise<boolean> {
    return this.locked('update', path, async () => {
      const r = await this.readOwner(path);
      if (r?.owner?.token !== token) return false;
      await this.writeAtomic(this.dataFile(path), data);
      return true;
    });
  }

  /** @internal */ makeErr(code: StoreErrorCode, op: string, path: string, what: string): StoreError {
    return this.err(code, op, path, what);
  }
}

/** Keeps one owned node (ephemeral or lock) alive with heartbeats; is the EphemeralHandle / Lease. */
class Keeper implements EphemeralHandle, Lease {
  readonly record: OwnerRecord;
  private timer: NodeJS.Timeout | undefined;
  private lastBeat = Date.now();
  private active = true;
  private readonly loss = new LossNotifier();
  private beatRun: Promise<void> | null = null;
  private inLoss = false;

  constructor(
    private readonly store: FsStore,
    readonly path: string,
    private readonly mode: 'ephemeral' | 'lock',
    private readonly ttlMs: number,
    private data: Buffer,
  ) {
    this.record = { pid: process.pid, host: HOST, token: randomUUID(), ttlMs, kind: mode };
  }

  get held(): boolean {
    return this.active && this.loss.lost === null;
  }

  /** Fenced writes: the lock's owner record must still carry this lease's token, checked under the writers' mutation lock. */
  readonly fenced: FencedWriter = {
    update: (path, data) => this.store.guardedUpdate(path, data, () => this.guard('update', path)),
    updateMany: (entries) => this.store.guardedUpdateMany(entries, () => this.guard('update', entries[0]?.[0] ?? this.path)),
    delete: (path) => this.store.guardedDelete(path, () => this.guard('delete', path)),
  };

  private async guard(op: string, target: string): Promise<void> {
    if (this.mode !== 'lock' || !this.held) throw this.loss.lost ?? this.store.makeErr('LOST', op, target, 'refused: the lock is not held');
    await this.store.assertOwner(op, target, this.path, this.record.token);
  }

  start(): void {
    this.lastBeat = Date.now();
    this.store.register(this);
    this.timer = setInterval(
      () => {
        this.beatRun ??= this.beat().finally(() => {
          this.beatRun = null;
        });
      },
      Math.max(30, Math.floor(this.ttlMs / 3)),
    );
    this.timer.unref();
  }

  private async beat(): Promise<void> {
    if (!this.active) return;
    // A beat that comes later than the ttl means this process stalled: another owner may have
    // taken over meanwhile, so a lock is reported lost even if nobody did.
    let result: 'ok' | 'gone' | 'late' | 'error' = 'late';
    if (Date.now() - this.lastBeat <= this.ttlMs) {
      try {
        result = (await this.store.heartbeat(this.path, this.record.token)) ? 'ok' : 'gone';
      } catch {
        result = Date.now() - this.lastBeat <= this.ttlMs ? 'error' : 'late';
      }
    }
    if (!this.active || result === 'error') return; // transient I/O error: try again next beat
    if (result === 'ok') {
      this.lastBeat = Date.now();
      this.inLoss = false;
      return;
    }
    const why =
      result === 'late'
        ? `heartbeat was not refreshed within its ttl of ${this.ttlMs} ms (process stalled?)`
        : 'the node or its owner record was removed or replaced by another process';
    const err = this.store.makeErr('LOST', this.mode === 'lock' ? 'lock' : 'ephemeral', this.path, why);
    if (this.mode === 'lock') {
      this.loss.loseForGood(err, () => {
        this.stopTimer();
        this.store.unregister(this);
      });
      if (result === 'late') await this.store.removeIfOwned(this.path, this.record.token).catch(() => undefined);
      return;
    }
    if (!this.inLoss) this.loss.report(err); // once per loss, not once per failed retry
    this.inLoss = true;
    try {
      await this.store.rewrite(this.path, this.record, this.data);
      this.lastBeat = Date.now();
      this.inLoss = false;
    } catch {
      /* retried on the next beat */
    }
  }

  private stopTimer(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  async update(data: Buffer): Promise<void> {
    if (!this.active) throw this.store.makeErr('CLOSED', 'update', this.path, 'ephemeral node was removed');
    this.data = data;
    const ok = await this.store.updateOwned(this.path, this.record.token, data);
    if (!ok) await this.store.rewrite(this.path, this.record, data);
  }

  async remove(): Promise<void> {
    await this.stop(true);
  }

  async release(): Promise<void> {
    await this.stop(true);
  }

  async stop(removeNode: boolean): Promise<void> {
    if (!this.active) return;
    this.active = false;
    this.stopTimer();
    this.store.unregister(this);
    await this.beatRun; // a re-create in flight finishes first, so the node is removed after it
    if (removeNode && this.loss.lost === null) await this.store.removeIfOwned(this.path, this.record.token);
  }

  onLost(cb: (err: StoreError) => void): void {
    this.loss.onLost(cb);
  }
}
