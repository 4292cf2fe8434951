// Requests that touch keys of a slot under migration (the slot has migrate_from set; backend = the
// target) or of a locked slot: before the request goes to the target, the keys it touches are moved
// from the source with one Lua script per source (checks the per-key lock of the big-key copier,
// refuses keys too big to MIGRATE at once, then `MIGRATE host port "" db timeout REPLACE [AUTH pw]
// KEYS k...`, atomic on the source). The moves that the process's sessions ask for in one event-loop
// turn are coalesced into one script call per (source, target, db). Locked slots and locked keys are
// waited for with a short, bounded back-off. The session holds its later requests while this runs, so ordering is kept.
//
// This is the rare branch: the session only calls in here when Router.unsettled > 0 and one of the
// request's slots is migrating or locked.
import { createHash } from 'node:crypto';
import type { Request } from '../resp/request-parser.js';
import { encodeCommand, errorReply } from '../resp/encode.js';
import { isErrorReply } from '../resp/reply-scanner.js';
import { slotOfRange } from '../slots/hash.js';
import type { ReplySink } from './backend-conn.js';
import type { Router } from './router.js';
import type { CommandSpec } from '../commands/table.js';
import type { MigrationCounters } from './stats.js';
import { LOCK_PREFIX, MIGRATE_KEYS_SCRIPT, migrateKeysArgs } from '../migration/key-move.js';
import { at } from '../util/at.js';
import { argEnd, argStart } from '../commands/keys.js';

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

/** Runs a script on `addr` by its SHA; EVAL loads it when the server does not know it (NOSCRIPT). */
async function evalScript(
  m: MigrationState,
  h: MigrationHost,
  addr: string,
  script: string,
  keys: Buffer[],
  args: Array<string | Buffer>,
): Promise<Buffer> {
  let sha = m.shas.get(script);
  if (sha === undefined) {
    sha = createHash('sha1').update(script).digest('hex');
    m.shas.set(script, sha);
  }
  const r = await send(h, addr, encodeCommand(['EVALSHA', sha, String(keys.length), ...keys, ...args]));
  if (r.toString('latin1', 0, 9) !== '-NOSCRIPT') return r;
  return send(h, addr, encodeCommand(['EVAL', script, String(keys.length), ...keys, ...args]));
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const send = (h: MigrationHost, addr: string, raw: Buffer): Promise<Buffer> =>
  new Promise((resolve) => h.forward(addr, raw, { onReply: (r) => resolve(Buffer.from(r)) }));

/**
 * Keys known to be gone from the source of their slot's current migration. During a migration keys of
 * the slot only ever leave the source (proxies write a key on the source only while it is still there,
 * inside a script, and write absent keys on the target), so once a script found a key absent or moved
 * it — and not locked — the key cannot come back to the source
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
    if (this.size >= this.max) {
      this.slots.clear();
      this.size = 0;
      e = { gen, keys: new Set() };
      this.slots.set(slot, e);
    }
    if (!e.keys.has(key)) {
      e.keys.add(key);
      this.size++;
    }
  }

  /** True when every key (argument indexes) of `req` in a migrating slot is known gone and no slot is locked. */
  allGone(router: Router, req: Request, argIdx: readonly number[]): boolean {
    const buf = req.buf;
    for (const i of argIdx) {
      const s = argStart(req, i),
        e = argEnd(req, i);
      const slot = slotOfRange(buf, s, e);
      if (router.isLocked(slot)) return false;
      if (router.migrateFromOf(slot) === '') continue;
      if (!this.has(router, slot, buf.toString('latin1', s, e))) return false;
    }
    return true;
  }
}

/**
 * KEYS = the request's one key; ARGV = the request. Runs the request on the source, atomically, if
 * the key is still there and not locked; otherwise answers a marker error. Running it there is the
 * same as running it just before the key moves: the key only ever leaves the source, and it cannot
 * reappear there (no proxy writes a migrating slot's absent key on the source), so whatever the
 * request did moves with the key.
 */
export const IN_PLACE_SCRIPT = `
if redis.call('EXISTS', '${LOCK_PREFIX}' .. KEYS[1]) == 1 then return redis.error_reply('SHARDIS_LOCKED') end
if redis.call('EXISTS', KEYS[1]) == 0 then return redis.error_reply('SHARDIS_ABSENT') end
return redis.pcall(unpack(ARGV))
`;
const ABSENT = Buffer.from('-ERR SHARDIS_ABSENT\r\n');
const LOCKED = Buffer.from('-ERR SHARDIS_LOCKED\r\n');

/**
 * Commands whose reply would change on its way through Lua (RESP2): integers that are values, not
 * counts (Lua numbers are doubles: exact only to 2^53), and null arrays (Lua turns them into null
 * bulks). They, and commands not allowed in scripts, take the move path instead.
 */
const NOT_IN_PLACE = new Set(['incr', 'incrby', 'decr', 'decrby', 'hincrby', 'bitfield', 'bitfield_ro', 'xread', 'xreadgroup']);
/** Lua's unpack() limit is near 8000 values. */
const IN_PLACE_MAX_ARGS = 1000;

/** True when a one-key request of this command can run in place on a migrating slot's source (RESP2 sessions). */
export const canRunInPlace = (spec: CommandSpec, argc: number): boolean =>
  argc <= IN_PLACE_MAX_ARGS && !spec.flags.has('noscript') && !NOT_IN_PLACE.has(spec.name);

/**
 * One-key request on a migrating slot: tries it on the source (IN_PLACE_SCRIPT). Resolves with the
 * reply when it ran there, 'gone' when the key is not (or no longer) on the source — then route the
 * request by the table — or 'locked' when the key or slot is locked (then take the move path, which
 * waits).
 */
export async function runInPlace(
  m: MigrationState,
  h: MigrationHost,
  router: Router,
  req: Request,
  keyIdx: number,
): Promise<Buffer | 'gone' | 'locked'> {
  const buf = req.buf;
  const s = argStart(req, keyIdx),
    e = argEnd(req, keyIdx);
  const slot = slotOfRange(buf, s, e);
  if (router.isLocked(slot)) return 'locked';
  const from = router.migrateFromOf(slot);
  if (from === '' || from === router.backendOf(slot)) return 'gone';
  const gen = router.generation(slot);
  const args: Buffer[] = [];
  for (let i = 0; i < req.argc; i++) args.push(buf.subarray(argStart(req, i), argEnd(req, i)));
  const key = buf.subarray(s, e);
  const r = await evalScript(m, h, from, IN_PLACE_SCRIPT, [key], args);
  if (r.equals(ABSENT)) {
    m.goneKeys.add(router, slot, key.toString('latin1'), gen);
    return 'gone';
  }
  if (r.equals(LOCKED)) return 'locked';
  m.stats.inPlace++;
  return r;
}

/** The script's reply: the status string, or null for an error reply. */
function statusOf(r: Buffer): string | null {
  if (r[0] !== 36 /* $ */) return null;
  const nl = r.indexOf(13);
  return r.toString('latin1', nl + 2, nl + 2 + Number(r.toString('latin1', 1, nl)));
}

/** The key-move script on `addr`: no element cap, big keys queued for the executor. */
async function runScript(
  m: MigrationState,
  h: MigrationHost,
  addr: string,
  keys: Buffer[],
  target: string,
  o: MigrateOptions,
): Promise<Buffer> {
  m.stats.calls++;
  return evalScript(m, h, addr, MIGRATE_KEYS_SCRIPT, keys, migrateKeysArgs(target, h.db, o, 0, true));
}

interface MoveBatch {
  from: string;
  to: string;
  o: MigrateOptions;
  keys: Buffer[];
  index: Map<string, number>;
  waiters: Array<{ host: MigrationHost; idx: number[]; resolve: (r: string | Buffer) => void }>;
}

/**
 * Coalesces the key moves that all sessions of this process ask for in one event-loop turn into one
 * script call per (source, target, db): the source then runs one MIGRATE (which blocks it for a round
 * trip to the target) for many clients' keys instead of one per request.
 */
class MoveBatcher {
  private readonly open = new Map<string, MoveBatch>();
  private scheduled = false;

  constructor(private readonly m: MigrationState) {}

  /** Resolves with one status character per key (see MIGRATE_KEYS_SCRIPT), or an error reply. */
  move(h: MigrationHost, from: string, to: string, keys: Buffer[], o: MigrateOptions): Promise<string | Buffer> {
    const id = `${from}>${to}/${h.db}`;
    let b = this.open.get(id);
    if (b === undefined) {
      b = { from, to, o, keys: [], index: new Map(), waiters: [] };
      this.open.set(id, b);
    }
    const idx = keys.map((k) => {
      const name = k.toString('latin1');
      let i = b.index.get(name);
      if (i === undefined) {
        i = b.keys.length;
        b.index.set(name, i);
        b.keys.push(k);
      }
      return i;
    });
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.flush());
    }
    return new Promise((resolve) => b.waiters.push({ host: h, idx, resolve }));
  }

  private flush(): void {
    this.scheduled = false;
    const batches = [...this.open.values()];
    this.open.clear();
    for (const b of batches) void this.run(b);
  }

  private async run(b: MoveBatch): Promise<void> {
    // Any live session of the batch can carry the call (backend connections are shared per server).
    const host = (b.waiters.find((w) => !w.host.isClosed()) ?? at(b.waiters, 0, 'batch waiter')).host;
    let status = '';
    let err: Buffer | null = null;
    for (let k = 0; k < b.keys.length && err === null; k += KEYS_PER_CALL) {
      const r = await runScript(this.m, host, b.from, b.keys.slice(k, k + KEYS_PER_CALL), b.to, b.o);
      const st = statusOf(r);
      if (st === null) {
        this.m.stats.errors++;
        const msg = isErrorReply(r) ? r.toString('latin1', 1, Math.min(r.length, 300)).trim() : 'unexpected reply';
        err = errorReply(`ERR proxy could not move keys from ${b.from} to ${b.to}: ${msg}`);
      } else status += st;
    }
    for (let i = 0; i < status.length; i++) if (status.charCodeAt(i) === 109 /* m */) this.m.stats.keysMoved++;
    for (const w of b.waiters) w.resolve(err ?? w.idx.map((i) => status[i]).join(''));
  }
}

/**
 * Everything the migration path keeps per proxy (in its context, so two proxies in one process share
 * nothing): the gone-keys cache, the counters, the per-turn move batcher and the script SHAs.
 */
export class MigrationState {
  readonly goneKeys = new GoneKeys();
  readonly stats: MigrationCounters = { calls: 0, keysMoved: 0, inPlace: 0, waits: 0, errors: 0 };
  readonly shas = new Map<string, string>();
  readonly batcher: MoveBatcher = new MoveBatcher(this);
}

/**
 * Moves the keys at argument indexes `argIdx` of `req` that live in migrating slots from their source
 * to their target, waiting for locked slots and locked keys. Resolves with null when the request can
 * now be routed by the slot table, or with an error reply.
 */
export async function prepareKeys(
  m: MigrationState,
  h: MigrationHost,
  router: Router,
  req: Request,
  argIdx: readonly number[],
  o: MigrateOptions,
): Promise<Buffer | null> {
  const deadline = Date.now() + o.lockWaitMs;
  let delay = 1;
  // A locked slot is waited for until the next table change (the unlock), a locked key by polling.
  const backoff = async (slotLocked = false): Promise<boolean> => {
    if (Date.now() >= deadline || h.isClosed()) return false;
    m.stats.waits++;
    if (slotLocked) await router.nextChange(Math.min(50, Math.max(1, deadline - Date.now())));
    else await sleep(delay);
    delay = Math.min(20, delay * 2);
    return true;
  };
  const buf = req.buf;
  for (;;) {
    // Group the keys of migrating slots by (source, target); wait while any slot is locked.
    let locked = -1;
    const groups = new Map<string, { from: string; to: string; keys: Buffer[]; slots: number[] }>();
    for (const i of argIdx) {
      const s = argStart(req, i),
        e = argEnd(req, i);
      const slot = slotOfRange(buf, s, e);
      if (router.isLocked(slot)) {
        locked = slot;
        break;
      }
      const from = router.migrateFromOf(slot);
      if (from === '') continue;
      const to = router.backendOf(slot);
      if (to === '' || to === from) continue;
      const gk = `${from}>${to}`;
      let g = groups.get(gk);
      if (g === undefined) {
        g = { from, to, keys: [], slots: [] };
        groups.set(gk, g);
      }
      g.keys.push(buf.subarray(s, e));
      g.slots.push(slot);
    }
    if (locked >= 0) {
      if (await backoff(true)) continue;
      return errorReply(`TRYAGAIN slot ${locked} is locked for a migration step; retry shortly`);
    }
    if (groups.size === 0) return null;
    const version = router.version;
    const list = [...groups.values()];
    const gens = list.map((g) => g.slots.map((sl) => router.generation(sl)));
    const results = await Promise.all(list.map((g) => m.batcher.move(h, g.from, g.to, g.keys, o)));
    let retry = false;
    for (const [gi, g] of list.entries()) {
      const r = at(results, gi, 'move result'),
        gen = at(gens, gi, 'slot generations');
      if (typeof r !== 'string') return r;
      // Moved or never on the source: on the target now — unless the table changed meanwhile (then
      // the generation differs and the entries are simply never matched).
      for (const [j, key] of g.keys.entries()) {
        const st = r[j];
        if (st === 'm' || st === 'a') m.goneKeys.add(router, at(g.slots, j, 'slot'), key.toString('latin1'), at(gen, j, 'slot generation'));
        else retry = true;
      }
    }
    if (!retry) return null;
    if (router.version === version && !(await backoff())) {
      return errorReply('TRYAGAIN a key of this request is being migrated (big key copy in progress); retry shortly');
    }
  }
}
