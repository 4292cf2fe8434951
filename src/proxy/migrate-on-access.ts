// Requests that touch keys of a slot under migration (the slot has migrate_from set; backend = the
// target) or of a locked slot: before the request goes to the target, the keys it touches are moved
// from the source with one Lua script per source (checks the per-key lock of the big-key copier,
// refuses keys too big to MIGRATE at once, then `MIGRATE host port "" db timeout REPLACE [AUTH pw]
// KEYS k...`, atomic on the source). Locked slots and locked keys are waited for with a short,
// bounded back-off. The session holds its later requests while this runs, so ordering is kept.
//
// This is the rare branch: the session only calls in here when Router.unsettled > 0 and one of the
// request's slots is migrating or locked.
import type { Request } from '../resp/request-parser.js';
import { encodeCommand, errorReply } from '../resp/encode.js';
import { integerOf, isErrorReply } from '../resp/reply-scanner.js';
import { slotOfRange } from '../slots/hash.js';
import type { ReplySink } from './backend-conn.js';
import type { Router } from './router.js';

/** Key prefixes used by the migration machinery on the backends (never user data). */
export const LOCK_PREFIX = '__shardis_lock:';
export const TMP_PREFIX = '__shardis_tmp:';
/** Set (per DB, on the source) of big keys a proxy is waiting for: the executor copies them first. */
export const BIGKEYS_KEY = '__shardis_bigkeys';
export const INTERNAL_PREFIX = '__shardis_';

/**
 * KEYS = keys to move; ARGV = target host, port, db, timeout ms, auth ('' = none), big-key threshold
 * (elements; 0 = no limit). Returns the number of keys moved, -1 if a key is locked by the big-key
 * copier, -2 if a key is too big for one MIGRATE (it is queued for the executor).
 * A lock is checked before existence: a locked key that is gone from the source (expired while being
 * copied) must still be waited for, or a write could land on the target before the copy is renamed
 * over it.
 */
export const MIGRATE_KEYS_SCRIPT = `
local big = tonumber(ARGV[6])
local present = {}
for i, k in ipairs(KEYS) do
  if redis.call('EXISTS', '${LOCK_PREFIX}' .. k) == 1 then return -1 end
  if redis.call('EXISTS', k) == 1 then
    if big > 0 then
      local t = redis.call('TYPE', k).ok
      local n = 0
      if t == 'hash' then n = redis.call('HLEN', k)
      elseif t == 'list' then n = redis.call('LLEN', k)
      elseif t == 'set' then n = redis.call('SCARD', k)
      elseif t == 'zset' then n = redis.call('ZCARD', k)
      elseif t == 'stream' then n = redis.call('XLEN', k) end
      if n > big then
        redis.call('SADD', '${BIGKEYS_KEY}', k)
        return -2
      end
    end
    present[#present + 1] = k
  end
end
if #present == 0 then return 0 end
local args = {'MIGRATE', ARGV[1], ARGV[2], '', ARGV[3], ARGV[4], 'REPLACE'}
if ARGV[5] ~= '' then args[#args + 1] = 'AUTH'; args[#args + 1] = ARGV[5] end
args[#args + 1] = 'KEYS'
for i, k in ipairs(present) do args[#args + 1] = k end
redis.call(unpack(args))
return #present
`;

/** Keys per script call (Lua's unpack() has a stack limit near 8000). */
const KEYS_PER_CALL = 1000;

export interface MigrateOptions {
  /** product_auth, sent with MIGRATE to the target. */
  auth: string;
  /** MIGRATE timeout. */
  timeoutMs: number;
  /** Keys with more elements are left to the executor's chunked copy (0 = always MIGRATE). */
  bigKeyElements: number;
  /** How long a request may wait for a locked slot or key before it fails with TRYAGAIN. */
  lockWaitMs: number;
}

/** What the migration path needs from a session. */
export interface MigrationHost {
  readonly db: number;
  forward(addr: string, raw: Buffer, sink: ReplySink): void;
  isClosed(): boolean;
}

export function migrateKeysCommand(keys: Buffer[], target: string, db: number, o: MigrateOptions): Buffer {
  const i = target.lastIndexOf(':');
  return encodeCommand(['EVAL', MIGRATE_KEYS_SCRIPT, String(keys.length), ...keys,
    target.slice(0, i), target.slice(i + 1), String(db), String(o.timeoutMs), o.auth, String(o.bigKeyElements)]);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const send = (h: MigrationHost, addr: string, raw: Buffer): Promise<Buffer> =>
  new Promise((resolve) => h.forward(addr, raw, { onReply: (r) => resolve(Buffer.from(r)) }));

/**
 * Keys known to be gone from the source of their slot's current migration. During a migration keys of
 * the slot only ever leave the source (proxies write them on the target, after moving them), so once
 * the script found a key absent or moved it — and not locked — the key cannot come back to the source
 * until the slot's routing changes (the router's per-slot generation). Requests whose keys are all
 * known gone skip the script and go straight to the target. Bounded: cleared when it gets too big.
 */
export class GoneKeys {
  private readonly slots = new Map<number, { gen: number; keys: Set<string> }>();
  private size = 0;
  constructor(private readonly max = 200_000) {}

  has(router: Router, slot: number, key: string): boolean {
    const e = this.slots.get(slot);
    return e !== undefined && e.gen === router.generation(slot) && e.keys.has(key);
  }

  /** Records `key` as gone for the slot's generation `gen` (ignored if the slot changed since). */
  add(router: Router, slot: number, key: string, gen: number): void {
    if (gen !== router.generation(slot)) return;
    let e = this.slots.get(slot);
    if (e === undefined || e.gen !== gen) {
      if (e) this.size -= e.keys.size;
      e = { gen, keys: new Set() };
      this.slots.set(slot, e);
    }
    if (this.size >= this.max) { this.slots.clear(); this.size = 0; e = { gen, keys: new Set() }; this.slots.set(slot, e); }
    if (!e.keys.has(key)) { e.keys.add(key); this.size++; }
  }

  /** True when every key (argument indexes) of `req` in a migrating slot is known gone and no slot is locked. */
  allGone(router: Router, req: Request, argIdx: readonly number[]): boolean {
    const { buf, offs } = req;
    for (const i of argIdx) {
      const s = offs[2 * i]!, e = offs[2 * i + 1]!;
      const slot = slotOfRange(buf, s, e);
      if (router.isLocked(slot)) return false;
      if (router.migrateFromOf(slot) === '') continue;
      if (!this.has(router, slot, buf.toString('latin1', s, e))) return false;
    }
    return true;
  }
}

/** One cache per proxy process. */
export const goneKeys = new GoneKeys();

/** Counters shown in proxy stats. */
export const migrationStats = { calls: 0, keysMoved: 0, waits: 0, errors: 0 };

/**
 * Moves the keys at argument indexes `argIdx` of `req` that live in migrating slots from their source
 * to their target, waiting for locked slots and locked keys. Resolves with null when the request can
 * now be routed by the slot table, or with an error reply.
 */
export async function prepareKeys(h: MigrationHost, router: Router, req: Request, argIdx: readonly number[], o: MigrateOptions): Promise<Buffer | null> {
  const deadline = Date.now() + o.lockWaitMs;
  let delay = 1;
  const backoff = async (): Promise<boolean> => {
    if (Date.now() >= deadline || h.isClosed()) return false;
    migrationStats.waits++;
    await sleep(delay);
    delay = Math.min(20, delay * 2);
    return true;
  };
  const { buf, offs } = req;
  for (;;) {
    // Group the keys of migrating slots by (source, target); wait while any slot is locked.
    let locked = -1;
    const groups = new Map<string, { from: string; to: string; slot: number; keys: Buffer[]; slots: number[] }>();
    for (const i of argIdx) {
      const s = offs[2 * i]!, e = offs[2 * i + 1]!;
      const slot = slotOfRange(buf, s, e);
      if (router.isLocked(slot)) { locked = slot; break; }
      const from = router.migrateFromOf(slot);
      if (from === '') continue;
      const to = router.backendOf(slot);
      if (to === '' || to === from) continue;
      const gk = `${from}>${to}`;
      let g = groups.get(gk);
      if (g === undefined) { g = { from, to, slot, keys: [], slots: [] }; groups.set(gk, g); }
      g.keys.push(buf.subarray(s, e));
      g.slots.push(slot);
    }
    if (locked >= 0) {
      if (await backoff()) continue;
      return errorReply(`TRYAGAIN slot ${locked} is locked for a migration step; retry shortly`);
    }
    if (groups.size === 0) return null;
    const version = router.version;
    let retry = false;
    for (const g of groups.values()) {
      for (let k = 0; k < g.keys.length; k += KEYS_PER_CALL) {
        const keys = g.keys.slice(k, k + KEYS_PER_CALL);
        const gens = g.slots.slice(k, k + KEYS_PER_CALL).map((sl) => router.generation(sl));
        migrationStats.calls++;
        const r = await send(h, g.from, migrateKeysCommand(keys, g.to, h.db, o));
        if (isErrorReply(r)) {
          migrationStats.errors++;
          const msg = r.toString('latin1', 1, Math.min(r.length, 300)).trim();
          return errorReply(`ERR proxy could not move keys of slot ${g.slot} from ${g.from} to ${g.to}: ${msg}`);
        }
        const n = integerOf(r) ?? 0;
        if (n < 0) { retry = true; break; }
        migrationStats.keysMoved += n;
        // All of them are on the target now (moved or never on the source) — unless the table changed
        // meanwhile (then the generation differs and the entries are simply never matched).
        for (let j = 0; j < keys.length; j++) goneKeys.add(router, g.slots[k + j]!, keys[j]!.toString('latin1'), gens[j]!);
      }
      if (retry) break;
    }
    if (!retry) return null;
    if (router.version === version && !(await backoff())) {
      return errorReply('TRYAGAIN a key of this request is being migrated (big key copy in progress); retry shortly');
    }
  }
}
