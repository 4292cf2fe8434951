// The background mover of a slot migration batch (Codis's slot action executor, on stock Redis): for
// one source server and a set of migrating slots (each with its target), it walks every DB of the
// source that holds keys (INFO keyspace) with SCAN, picks the keys of those slots, and moves them:
//
// - small keys in batches: the proxies' MIGRATE_KEYS_SCRIPT checks locks and sizes and runs
//   `MIGRATE host port "" db timeout REPLACE [AUTH pw] KEYS k...`, in one atomic call on the source
//   (TTLs travel with the keys);
// - big keys (collections with more than `bigKeyElements` elements) by a chunked copy under a per-key
//   lock that proxies respect (see copyBigKey below, and the argument in src/dashboard/MIGRATION.md);
// - big keys a proxy is waiting for (the proxy's script put them in `__shardis_bigkeys`) first.
//
// It repeats full passes until one pass finds no key of the slots left. Keys of migrating slots are
// never created on the source meanwhile (proxies write a key there only while it is still there), so the
// passes converge. Pausing, the interval between batches, the busy share (rest after each batch in
// proportion to its duration) and stopping are checked between batches.
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { redisTlsFor } from '../util/redis-client-tls.js';
import { parseAddr } from '../util/address.js';
import { slotOf } from '../slots/hash.js';
import { BIGKEYS_KEY, INTERNAL_PREFIX, LOCK_PREFIX, MIGRATE_KEYS_SCRIPT, TMP_PREFIX, migrateKeysArgs } from '../migration/key-move.js';
import type { Logger } from '../util/log.js';
import { at } from '../util/at.js';

export interface ExecutorOptions {
  auth: string;
  /** Keys per MIGRATE call. */
  batchKeys: number;
  /** Collections with more elements are copied in chunks instead of one MIGRATE. */
  bigKeyElements: number;
  /** Elements per chunk of a big-key copy. */
  chunkElements: number;
  /** MIGRATE / command timeout. */
  timeoutMs: number;
  /** TTL of a big-key lock; refreshed with every chunk. */
  lockTtlMs: number;
  /** Sleep between batches, in microseconds (read before every batch: it can change while running). */
  intervalUs: () => number;
  /**
   * Share of the time (1..100) the executor may keep a source busy: after a batch that took t ms it
   * rests t × (100 − p) / p ms (read before every rest).
   */
  busyPercent: () => number;
  /** True while migrations are paused (checked between batches). */
  paused: () => boolean;
  /** True once the executor must stop (dashboard fenced or closing). */
  stopped: () => boolean;
  log: Logger;
}

export interface ExecutorProgress {
  keysMoved: number;
  bigKeysMoved: number;
  bytesMoved: number;
  errors: number;
  lastError: string;
  passes: number;
}

export const newProgress = (): ExecutorProgress => ({ keysMoved: 0, bigKeysMoved: 0, bytesMoved: 0, errors: 0, lastError: '', passes: 0 });

export class ExecutorStopped extends Error {}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** KEYS = key, lock; ARGV = token, ttl. Locks the key if it exists: {type, pexpiretime} or nil. */
const LOCK_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 0 then return nil end
redis.call('SET', KEYS[2], ARGV[1], 'PX', ARGV[2])
return {redis.call('TYPE', KEYS[1]).ok, redis.call('PEXPIRETIME', KEYS[1])}
`;

/** KEYS = lock; ARGV = token, ttl. Refreshes our lock; 0 if it is not ours any more. */
const REFRESH_SCRIPT = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
`;

/** On the source. KEYS = key, lock; ARGV = token. Deletes the key and the lock if the lock is ours. */
const RELEASE_SCRIPT = `
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return 0 end
redis.call('UNLINK', KEYS[1])
redis.call('DEL', KEYS[2])
return 1
`;

/** On the target. KEYS = tmp, key; ARGV = pexpiretime (-1 none). Puts the copy in place atomically. */
const SWITCH_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 0 then redis.call('DEL', KEYS[2]); return 0 end
redis.call('RENAME', KEYS[1], KEYS[2])
if tonumber(ARGV[1]) > 0 then redis.call('PEXPIREAT', KEYS[2], ARGV[1]) else redis.call('PERSIST', KEYS[2]) end
return 1
`;

/** A flat [name, value, ...] reply (XINFO) as a map; names as strings, values as returned. */
function fieldsOf(flat: unknown[]): Map<string, unknown> {
  const m = new Map<string, unknown>();
  for (let i = 0; i + 1 < flat.length; i += 2) m.set(String(flat[i]), flat[i + 1]);
  return m;
}

async function execAll(p: ReturnType<Redis['pipeline']>): Promise<void> {
  for (const r of (await p.exec()) ?? []) if (r[0]) throw r[0];
}

const INTERNAL = Buffer.from(INTERNAL_PREFIX);
const isInternal = (k: Buffer): boolean => k.length >= INTERNAL.length && k.subarray(0, INTERNAL.length).equals(INTERNAL);

/** Redis connections by (addr, db), created on demand. */
class Conns {
  private readonly map = new Map<string, Redis>();
  constructor(
    private readonly auth: string,
    private readonly timeoutMs: number,
  ) {}
  get(addr: string, db: number): Redis {
    const key = `${addr}/${db}`;
    let c = this.map.get(key);
    if (!c) {
      const { host, port } = parseAddr(addr);
      c = new Redis({
        host,
        port,
        tls: redisTlsFor(host),
        db,
        password: this.auth || undefined,
        lazyConnect: false,
        maxRetriesPerRequest: 2,
        enableOfflineQueue: true,
        commandTimeout: this.timeoutMs + 5000,
        retryStrategy: (n) => Math.min(n * 100, 2000),
      });
      c.on('error', () => {
        /* reported by the failing command */
      });
      this.map.set(key, c);
    }
    return c;
  }
  close(): void {
    for (const c of this.map.values()) c.disconnect();
    this.map.clear();
  }
}

function dbsWithKeys(info: string): number[] {
  const out: number[] = [];
  for (const line of info.split(/\r?\n/)) {
    const m = /^db(\d+):keys=(\d+)/.exec(line);
    if (m && Number(m[2]) > 0) out.push(Number(m[1]));
  }
  return out.sort((a, b) => a - b);
}

/**
 * Moves every key of `targets`' slots from `source`. `targets` maps slot → target address. Resolves
 * when no key of those slots is left on the source; throws ExecutorStopped when stopped.
 */
export class MigrationExecutor {
  private readonly conns: Conns;
  private readonly token = randomBytes(8).toString('hex');

  constructor(private readonly o: ExecutorOptions) {
    this.conns = new Conns(o.auth, o.timeoutMs);
  }

  close(): void {
    this.conns.close();
  }

  /** When the current batch of work started (for busyPercent). */
  private workStart = 0;

  private async between(): Promise<void> {
    const p = this.o.busyPercent();
    if (this.workStart > 0 && p < 100) await sleep(((performance.now() - this.workStart) * (100 - p)) / p);
    while (this.o.paused() && !this.o.stopped()) await sleep(100);
    if (this.o.stopped()) throw new ExecutorStopped('migration stopped');
    const us = this.o.intervalUs();
    if (us > 0) await sleep(us / 1000);
    this.workStart = performance.now();
  }

  async run(source: string, targets: ReadonlyMap<number, string>, progress: ExecutorProgress): Promise<void> {
    if (targets.size === 0) return;
    const admin = this.conns.get(source, 0);
    for (let pass = 0; ; pass++) {
      progress.passes++;
      const info = String(await admin.info('keyspace'));
      let found = 0,
        failed = 0;
      for (const db of dbsWithKeys(info)) {
        const c = this.conns.get(source, db);
        let cursor = '0';
        do {
          await this.between();
          await this.bigKeysRequested(c, source, db, targets, progress);
          const [next, keys] = (await c.scanBuffer(cursor, 'COUNT', 1000)) as [Buffer, Buffer[]];
          cursor = next.toString();
          const mine = keys.filter((k) => !isInternal(k) && targets.has(slotOf(k)));
          if (mine.length === 0) continue;
          found += mine.length;
          try {
            await this.moveKeys(c, source, db, mine, targets, progress);
          } catch (e) {
            if (e instanceof ExecutorStopped) throw e;
            failed++;
            progress.errors++;
            progress.lastError = `${source} db${db}: ${(e as Error).message}`;
            this.o.log.warn({ source, db, err: (e as Error).message }, 'migration batch failed; will retry in the next pass');
            await sleep(200);
          }
        } while (cursor !== '0');
        if (found === 0) await c.del(BIGKEYS_KEY).catch(() => undefined);
      }
      if (found === 0 && failed === 0) return;
      if (pass > 1000) throw new Error(`keys of the migrating slots are still on ${source} after ${pass} passes`);
    }
  }

  /** Big keys proxies are waiting for: copied before anything else. */
  private async bigKeysRequested(
    c: Redis,
    source: string,
    db: number,
    targets: ReadonlyMap<number, string>,
    progress: ExecutorProgress,
  ): Promise<void> {
    const keys = (await c.callBuffer('SPOP', BIGKEYS_KEY, '16')) as Buffer[] | null;
    if (!keys || keys.length === 0) return;
    const mine = keys.filter((k) => targets.has(slotOf(k)));
    if (mine.length) await this.moveKeys(c, source, db, mine, targets, progress);
  }

  /**
   * Moves the given keys (all of migrating slots) of one DB: per target, calls of MIGRATE_KEYS_SCRIPT
   * with up to batchKeys keys and bigKeyElements elements (the script checks locks and sizes and
   * MIGRATEs in one atomic step on the source); big and locked keys are then copied in chunks.
   */
  private async moveKeys(
    c: Redis,
    source: string,
    db: number,
    keys: Buffer[],
    targets: ReadonlyMap<number, string>,
    progress: ExecutorProgress,
  ): Promise<void> {
    const byTarget = new Map<string, Buffer[]>();
    for (const k of keys) {
      const to = targets.get(slotOf(k))!;
      let l = byTarget.get(to);
      if (!l) {
        l = [];
        byTarget.set(to, l);
      }
      l.push(k);
    }
    const big: Array<{ key: Buffer; to: string }> = [];
    for (const [to, list] of byTarget) {
      const args = migrateKeysArgs(to, db, this.o, this.o.bigKeyElements, false);
      for (let queue = list; queue.length > 0;) {
        await this.between();
        const chunk = queue.slice(0, this.o.batchKeys);
        const st = String(await c.eval(MIGRATE_KEYS_SCRIPT, chunk.length, ...chunk, ...args));
        if (st.length !== chunk.length) throw new Error(`unexpected answer of the migration script on ${source}: ${st.slice(0, 100)}`);
        const left: Buffer[] = [];
        for (const [j, key] of chunk.entries()) {
          const s = st[j];
          if (s === 'm') progress.keysMoved++;
          else if (s === 'b' || s === 'l') big.push({ key, to });
          else if (s === 'r') left.push(key);
        }
        queue = [...left, ...queue.slice(chunk.length)];
      }
    }
    for (const { key, to } of big) {
      await this.between();
      if (await this.copyBigKey(c, source, db, key, to, progress)) {
        progress.keysMoved++;
        progress.bigKeysMoved++;
      }
    }
  }

  /**
   * Chunked copy of one big key, under a lock the proxies respect:
   * 1. on the source, atomically: if the key exists, set `__shardis_lock:<key>` (our token, TTL) and
   *    read its type and absolute expiry. From now on no proxy moves or writes the key (the proxy's
   *    script checks the lock before anything else, and proxies only write a migrating slot's keys on
   *    the target after moving them), so the source copy is frozen;
   * 2. copy it in chunks (HSCAN/SSCAN/ZSCAN/LRANGE, or copyStream) into `__shardis_tmp:<token>:<key>`
   *    on the target, refreshing the lock each chunk (the temp key has a TTL, so an abandoned copy vanishes);
   * 3. on the target, atomically: RENAME the temp key over the key and restore the expiry;
   * 4. on the source, atomically and only if the lock is still ours: UNLINK the key and the lock.
   * Between 3 and 4 the key exists on both, but the lock still makes every proxy wait; after 4 the
   * proxies find no key on the source and go to the target, which holds exactly the frozen value.
   * Returns false if the key was gone (moved by a proxy before the lock).
   * (Longer than ~60 lines on purpose: the lock is taken and must be released on every path, which
   * reads best as one try/finally from step 1 to step 4.)
   */
  private async copyBigKey(c: Redis, source: string, db: number, key: Buffer, to: string, progress: ExecutorProgress): Promise<boolean> {
    const lock = Buffer.concat([Buffer.from(LOCK_PREFIX), key]);
    const tmp = Buffer.concat([Buffer.from(`${TMP_PREFIX}${this.token}:`), key]);
    const ttl = String(this.o.lockTtlMs);
    const got = (await c.eval(LOCK_SCRIPT, 2, key, lock, this.token, ttl)) as [string, number] | null;
    if (!got) return false;
    const [type, expireAt] = got;
    const t = this.conns.get(to, db);
    const refresh = async (): Promise<void> => {
      const ok = await c.eval(REFRESH_SCRIPT, 1, lock, this.token, ttl);
      if (ok !== 1) throw new Error(`lost the migration lock of a big key on ${source} (another executor took it over?)`);
    };
    const n = this.o.chunkElements;
    const tmpTtl = String(Math.max(60000, this.o.lockTtlMs * 6));
    const started = Date.now();
    try {
      await t.del(tmp);
      if (type === 'hash' || type === 'set' || type === 'zset') {
        const scan = type === 'hash' ? 'HSCAN' : type === 'set' ? 'SSCAN' : 'ZSCAN';
        let cursor = '0';
        do {
          const [next, items] = (await c.callBuffer(scan, key, cursor, 'COUNT', String(n))) as [Buffer, Buffer[]];
          cursor = next.toString();
          if (items.length) {
            if (type === 'hash') await t.callBuffer('HSET', tmp, ...items);
            else if (type === 'set') await t.callBuffer('SADD', tmp, ...items);
            else {
              const args: Buffer[] = [];
              for (let i = 0; i < items.length; i += 2) args.push(at(items, i + 1, 'ZSCAN score'), at(items, i, 'ZSCAN member'));
              await t.callBuffer('ZADD', tmp, ...args);
            }
            await t.pexpire(tmp, tmpTtl);
            progress.bytesMoved += items.reduce((a, b) => a + b.length, 0);
          }
          await refresh();
        } while (cursor !== '0');
      } else if (type === 'list') {
        for (let start = 0; ; start += n) {
          const items = (await c.callBuffer('LRANGE', key, String(start), String(start + n - 1))) as Buffer[];
          if (items.length === 0) break;
          await t.callBuffer('RPUSH', tmp, ...items);
          await t.pexpire(tmp, tmpTtl);
          progress.bytesMoved += items.reduce((a, b) => a + b.length, 0);
          await refresh();
          if (items.length < n) break;
        }
      } else if (type === 'stream') {
        await this.copyStream(c, t, key, tmp, tmpTtl, refresh, progress);
      } else {
        // Not a collection (it only looked big because of the lock): plain MIGRATE under the lock.
        const target = parseAddr(to);
        const args: Array<string | Buffer> = [target.host, String(target.port), key, String(db), String(this.o.timeoutMs), 'REPLACE'];
        if (this.o.auth) args.push('AUTH', this.o.auth);
        await c.call('MIGRATE', ...args);
        await c.eval(RELEASE_SCRIPT, 2, key, lock, this.token);
        return true;
      }
      await refresh();
      await t.eval(SWITCH_SCRIPT, 2, tmp, key, String(expireAt));
      const released = await c.eval(RELEASE_SCRIPT, 2, key, lock, this.token);
      if (released !== 1) throw new Error('lost the migration lock of a big key before releasing it');
      this.o.log.info({ source, to, db, type, ms: Date.now() - started }, 'big key copied in chunks');
      return true;
    } catch (e) {
      await t.del(tmp).catch(() => undefined);
      throw e;
    }
  }

  /**
   * The stream part of copyBigKey: entries by XRANGE pages (XADD with their ids), then each consumer
   * group (XGROUP CREATE at its last-delivered-id with its entries-read), its consumers, and its
   * pending entries list by XPENDING pages (XCLAIM ... IDLE ms RETRYCOUNT n FORCE JUSTID keeps owner,
   * idle time and delivery count), then XSETID (last id, entries-added, max-deleted-id). The source
   * is frozen by the lock meanwhile. Not kept: consumers' idle times (they restart at 0), and pending
   * entries whose message was deleted from the stream (XCLAIM ignores them; Redis drops them from the
   * PEL at the next claim anyway).
   */
  private async copyStream(
    c: Redis,
    t: Redis,
    key: Buffer,
    tmp: Buffer,
    tmpTtl: string,
    refresh: () => Promise<void>,
    progress: ExecutorProgress,
  ): Promise<void> {
    const n = this.o.chunkElements;
    let from = '-';
    for (;;) {
      const entries = (await c.callBuffer('XRANGE', key, from, '+', 'COUNT', String(n))) as Array<[Buffer, Buffer[]]>;
      if (entries.length === 0) break;
      const p = t.pipeline();
      for (const [id, fields] of entries) p.callBuffer('XADD', tmp, id, ...fields);
      p.pexpire(tmp, tmpTtl);
      await execAll(p);
      progress.bytesMoved += entries.reduce((a, [, f]) => a + f.reduce((x, y) => x + y.length, 0), 0);
      await refresh();
      if (entries.length < n) break;
      from = `(${at(entries, entries.length - 1, 'XRANGE entry')[0].toString()}`;
    }
    const groups = ((await c.callBuffer('XINFO', 'GROUPS', key)) as unknown[][]).map(fieldsOf);
    for (const g of groups) {
      const name = g.get('name') as Buffer;
      const entriesRead = g.get('entries-read');
      const create: Array<string | Buffer> = ['CREATE', tmp, name, String(g.get('last-delivered-id'))];
      if (entriesRead !== null && entriesRead !== undefined) create.push('ENTRIESREAD', String(entriesRead as number | Buffer));
      create.push('MKSTREAM');
      await t.callBuffer('XGROUP', ...create);
      await t.pexpire(tmp, tmpTtl);
      const consumers = ((await c.callBuffer('XINFO', 'CONSUMERS', key, name)) as unknown[][]).map(fieldsOf);
      for (let i = 0; i < consumers.length; i += n) {
        const p = t.pipeline();
        for (const cs of consumers.slice(i, i + n)) p.callBuffer('XGROUP', 'CREATECONSUMER', tmp, name, cs.get('name') as Buffer);
        await execAll(p);
      }
      let start = '-';
      for (;;) {
        const pel = (await c.callBuffer('XPENDING', key, name, start, '+', String(n))) as Array<[Buffer, Buffer, number, number]>;
        if (pel.length === 0) break;
        const p = t.pipeline();
        for (const [id, consumer, idle, count] of pel) {
          p.callBuffer('XCLAIM', tmp, name, consumer, '0', id, 'IDLE', String(idle), 'RETRYCOUNT', String(count), 'FORCE', 'JUSTID');
        }
        await execAll(p);
        await refresh();
        if (pel.length < n) break;
        start = `(${at(pel, pel.length - 1, 'XPENDING entry')[0].toString()}`;
      }
    }
    const info = fieldsOf((await c.callBuffer('XINFO', 'STREAM', key)) as unknown[]);
    if ((await t.exists(tmp)) === 1) {
      await t.call(
        'XSETID',
        tmp,
        String(info.get('last-generated-id')),
        'ENTRIESADDED',
        String((info.get('entries-added') as number | undefined) ?? 0),
        'MAXDELETEDID',
        String((info.get('max-deleted-entry-id') as Buffer | undefined) ?? '0-0'),
      );
    }
  }
}
