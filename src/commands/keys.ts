// Owns key extraction for the proxy's hot path: the shared command types (ArgsView, Policy,
// CommandSpec), compiled Redis 7.0 key specs, and `keyIndexes`, which evaluates those key specs
// (begin_search index/keyword, find_keys range/keynum) against one parsed request. Key positions come
// from Redis's own COMMAND INFO metadata (redis-7.0-commands.json); the only hand-written parts are
// what Redis itself hand-writes (SORT's getkeys procedure, per-command numkeys error wording) and the
// argument checks that make the proxy refuse a request (SORT BY/GET
// patterns that read keys in other slots). Pure, no I/O.
import { slotOfRange } from '../slots/hash.js';
import { parseRedisInteger } from './redis-int.js';

/** A parsed request: argument i is buf[offs[base + 2i], offs[base + 2i + 1]) (see argStart / argEnd). */
export interface ArgsView {
  buf: Buffer;
  offs: Int32Array | number[];
  base: number;
  argc: number;
}

/** Where argument i of `a` starts in a.buf (i < argc; past it: 0, an empty argument). */
export const argStart = (a: ArgsView, i: number): number => a.offs[a.base + 2 * i] ?? 0;
/** Where argument i of `a` ends in a.buf (i < argc; past it: 0, an empty argument). */
export const argEnd = (a: ArgsView, i: number): number => a.offs[a.base + 2 * i + 1] ?? 0;

export type Policy =
  | { kind: 'keyed' }
  | { kind: 'split'; merge: 'mget' | 'mset' | 'sum' }
  | { kind: 'local' }
  /** Session-bound application families served by src/proxy/apps/ (transactions, blocking, pub/sub, ...). */
  | { kind: 'app'; family: AppFamily }
  | { kind: 'denied'; reason: string };

/** The application-level families (src/proxy/apps/): each needs session state or a dedicated connection. */
export type AppFamily = 'transaction' | 'blocking' | 'pubsub' | 'keyspace' | 'scripting' | 'cluster';

/** One key spec as stored in redis-7.0-commands.json (and returned by COMMAND INFO). */
export interface KeySpecJson {
  notes?: string;
  flags: string[];
  begin_search: { type: string; spec: { [field: string]: string | number } };
  find_keys: { type: string; spec: { [field: string]: string | number } };
}

/** A value in the COMMAND DOCS part of the JSON (maps, bulk strings, ints, flag lists, history pairs). */
export type DocValue = string | number | string[] | string[][] | DocMap[] | DocMap;
export interface DocMap {
  [field: string]: DocValue;
}

/** One entry of redis-7.0-commands.json: COMMAND INFO fields plus the COMMAND DOCS map. */
export interface CommandJson {
  arity: number;
  flags: string[];
  first: number;
  last: number;
  step: number;
  acl: string[];
  tips: string[];
  key_specs: KeySpecJson[];
  /** Full names ('object|encoding') of the subcommands, in Redis's order; only on containers. */
  subcommands?: string[];
  docs: DocMap;
}

/** Begin-search and find-keys of one key spec, compiled for fast evaluation. */
export interface CompiledKeySpec {
  /** 'index': first = index; 'keyword': search `keyword` from `startfrom`; 'unknown': cannot be evaluated. */
  bs: 'index' | 'keyword' | 'unknown';
  index: number;
  /** Upper-case ASCII bytes of the keyword (BS keyword). */
  keyword: Buffer | undefined;
  startfrom: number;
  fk: 'range' | 'keynum' | 'unknown';
  /** range: lastkey / keystep / limit */
  lastkey: number;
  limit: number;
  /** keynum: keynumidx / firstkey */
  keynumidx: number;
  firstkey: number;
  keystep: number;
  /** Key flags as Redis lists them (RO/RW/OW/RM, access/update/insert/delete, not_key, incomplete, variable_flags). */
  flags: readonly string[];
  notKey: boolean;
  incomplete: boolean;
}

export interface CommandSpec {
  /** lower-case, 'object|encoding' for subcommands */
  name: string;
  /** upper-case for messages, e.g. 'OBJECT ENCODING' */
  display: string;
  /** as Redis: > 0 exact argc, < 0 at least -arity */
  arity: number;
  /** has the write flag */
  write: boolean;
  /** has the readonly flag */
  readonly: boolean;
  policy: Policy;
  /** Redis command flags (COMMAND INFO), e.g. 'write', 'denyoom', 'movablekeys', 'no_mandatory_keys'. */
  flags: ReadonlySet<string>;
  /** Compiled key specs, in Redis's order (keys are returned in this order). */
  keySpecs: readonly CompiledKeySpec[];
  /** At least one key spec is a real key (not not_key): COMMAND GETKEYS would look for keys. */
  hasKeys: boolean;
  /** Zero keys is a valid request (EVAL/FCALL with numkeys 0). */
  noMandatoryKeys: boolean;
  /** A key spec is incomplete/unknown and no getkeys procedure covers it (MIGRATE): keys cannot be known. */
  incompleteKeys: boolean;
  /** The only key is argument 1 and nothing else is checked (GET, SET, INCR, ...): see keyIndexes. */
  firstArgKeyOnly: boolean;
  /**
   * True for a container entry (OBJECT, CLIENT, XINFO, COMMAND, ...). lookupCommand returns a container
   * spec only when the request names no subcommand (argc 1) or an unknown one; the real subcommands
   * are separate specs. Only COMMAND (arity -1) is valid without a subcommand.
   */
  isContainer: boolean;
  /** Container name for a subcommand ('object' for 'object|encoding'). */
  parent: string | undefined;
  /** Not a Redis 7.0 command: answered by the proxy only (SLOTSMAPPING, SLOTSHASHKEY, CLIENT SETINFO). */
  proxyExtra: boolean;
  /** "ERR wrong number of arguments for 'get' command" (Redis 7 wording, full name for subcommands). */
  arityError: string;
  /** For denied specs: the full error line sent to the client; '' otherwise. */
  deniedError: string;
  /** The JSON metadata (COMMAND INFO / DOCS). */
  meta: CommandJson;
}

export type KeysResult =
  | { ok: true; keys: readonly number[] /* arg indexes */ }
  | {
      ok: false;
      /** full error line without '-', e.g. 'ERR ...' */
      error: string;
      /** Set when the command's key specs are incomplete (MIGRATE): the proxy cannot know its keys. */
      incomplete?: boolean;
    };

// ------------------------------------------------------------------------------------------------
// Compilation

const KEY_FLAG_ORDER = ['RO', 'RW', 'OW', 'RM', 'access', 'update', 'insert', 'delete', 'not_key', 'incomplete', 'variable_flags'];

export function compileKeySpec(k: KeySpecJson): CompiledKeySpec {
  const num = (o: { [f: string]: string | number }, f: string): number => (typeof o[f] === 'number' ? (o[f] as number) : 0);
  const bsType = k.begin_search.type;
  const fkType = k.find_keys.type;
  const kw = k.begin_search.spec['keyword'];
  return {
    bs: bsType === 'index' ? 'index' : bsType === 'keyword' ? 'keyword' : 'unknown',
    index: num(k.begin_search.spec, 'index'),
    keyword: typeof kw === 'string' ? Buffer.from(kw.toUpperCase(), 'latin1') : undefined,
    startfrom: num(k.begin_search.spec, 'startfrom'),
    fk: fkType === 'range' ? 'range' : fkType === 'keynum' ? 'keynum' : 'unknown',
    lastkey: num(k.find_keys.spec, 'lastkey'),
    limit: num(k.find_keys.spec, 'limit'),
    keynumidx: num(k.find_keys.spec, 'keynumidx'),
    firstkey: num(k.find_keys.spec, 'firstkey'),
    keystep: num(k.find_keys.spec, 'keystep') || 1,
    flags: k.flags,
    notKey: k.flags.includes('not_key'),
    incomplete: k.flags.includes('incomplete'),
  };
}

// ------------------------------------------------------------------------------------------------
// Small byte helpers (no string building on the hot path)

/** Case-insensitive compare of argument i with an upper-case ASCII word. */
function argIs(a: ArgsView, i: number, upper: Buffer | string): boolean {
  // i < argc and s + j < e <= buf.length below: the `?? 0` defaults are never taken.
  const s = argStart(a, i);
  const e = argEnd(a, i);
  const n = upper.length;
  if (e - s !== n) return false;
  const b = a.buf;
  if (typeof upper === 'string') {
    for (let j = 0; j < n; j++) {
      let c = b[s + j] ?? 0;
      if (c >= 97 && c <= 122) c -= 32;
      if (c !== upper.charCodeAt(j)) return false;
    }
  } else {
    for (let j = 0; j < n; j++) {
      let c = b[s + j] ?? 0;
      if (c >= 97 && c <= 122) c -= 32;
      if (c !== upper[j]) return false;
    }
  }
  return true;
}

/**
 * Parses argument i as Redis's string2ll does (optional '-', no '+', no leading zeros, int64 range).
 * Returns NaN when it is not an integer. Large magnitudes lose precision; they are only compared with argc.
 */
function parseIntArg(a: ArgsView, i: number): number {
  // i < argc and s <= j < e <= buf.length below: the defaults are never taken.
  const s = argStart(a, i);
  const e = argEnd(a, i);
  const b = a.buf;
  let p = s;
  let neg = false;
  if (p < e && b[p] === 0x2d /* - */) {
    neg = true;
    p++;
  }
  const digits = e - p;
  if (digits === 0 || digits > 19) return NaN;
  if (b[p] === 0x30 && (digits > 1 || neg)) return NaN; // "0" only: no "-0", no "01"
  let v = 0;
  for (let j = p; j < e; j++) {
    const c = (b[j] ?? 0) - 0x30;
    if (c < 0 || c > 9) return NaN;
    v = v * 10 + c;
  }
  if (digits === 19 && BigInt(b.toString('latin1', p, e)) > (neg ? 9223372036854775808n : 9223372036854775807n)) return NaN;
  return neg ? -v : v;
}

// ------------------------------------------------------------------------------------------------
// numkeys error wording, per command family, as Redis 7.0 replies (checked against a live server by
// test/unit/commands.test.ts). Fallback wording is used for commands not listed.

interface NumkeysWording {
  notInt: string;
  negative: string;
  zero: string | undefined;
  tooMany: string;
}
const INT_ERR = 'ERR value is not an integer or out of range';
const SYNTAX = 'ERR syntax error';
const TOO_MANY = "ERR Number of keys can't be greater than number of args";
const NEGATIVE = "ERR Number of keys can't be negative";
const GT0 = 'ERR numkeys should be greater than 0';
const atLeastOne = (name: string): string => `ERR at least 1 input key is needed for '${name}' command`;

function numkeysWording(name: string): NumkeysWording {
  switch (name) {
    case 'eval':
    case 'eval_ro':
    case 'evalsha':
    case 'evalsha_ro':
      return { notInt: INT_ERR, negative: NEGATIVE, zero: undefined, tooMany: TOO_MANY };
    case 'fcall':
    case 'fcall_ro':
      return { notInt: 'ERR Bad number of keys provided', negative: NEGATIVE, zero: undefined, tooMany: TOO_MANY };
    case 'zunion':
    case 'zinter':
    case 'zdiff':
    case 'zunionstore':
    case 'zinterstore':
    case 'zdiffstore':
    case 'zintercard':
      return { notInt: INT_ERR, negative: atLeastOne(name), zero: atLeastOne(name), tooMany: SYNTAX };
    case 'lmpop':
    case 'blmpop':
    case 'zmpop':
    case 'bzmpop':
      return { notInt: GT0, negative: GT0, zero: GT0, tooMany: SYNTAX };
    case 'sintercard':
      return { notInt: GT0, negative: GT0, zero: GT0, tooMany: TOO_MANY };
    default:
      return { notInt: INT_ERR, negative: NEGATIVE, zero: GT0, tooMany: TOO_MANY };
  }
}
const wordingCache = new Map<string, NumkeysWording>();
function wordingFor(spec: CommandSpec): NumkeysWording {
  let w = wordingCache.get(spec.name);
  if (w === undefined) {
    w = numkeysWording(spec.name);
    wordingCache.set(spec.name, w);
  }
  return w;
}

// ------------------------------------------------------------------------------------------------
// Key extraction

/**
 * Redis's getkeys procedures for commands whose key specs are 'unknown' (SORT, SORT_RO). Returns the
 * key positions (and flags when `flags` is given).
 */
function sortKeys(spec: CommandSpec, a: ArgsView, flags: Array<readonly string[]> | undefined): number[] {
  const keys = [1];
  flags?.push(spec.keySpecs[0]?.flags ?? []);
  if (spec.name !== 'sort') return keys; // SORT_RO: only the sorted key
  // Port of sortGetKeys: skip LIMIT (2 args), GET/BY (1 arg); the *last* STORE wins.
  let store = -1;
  for (let i = 2; i < a.argc; i++) {
    if (argIs(a, i, 'LIMIT')) i += 2;
    else if (argIs(a, i, 'GET') || argIs(a, i, 'BY')) i += 1;
    else if (argIs(a, i, 'STORE') && i + 1 < a.argc) store = i + 1;
  }
  if (store > 0) {
    keys.push(store);
    flags?.push(spec.keySpecs[2]?.flags ?? ['OW', 'update']);
  }
  return keys;
}

const PROCS: { [name: string]: (spec: CommandSpec, a: ArgsView, flags: Array<readonly string[]> | undefined) => number[] } = {
  sort: sortKeys,
  sort_ro: sortKeys,
};

/**
 * True when the command's one key is argument 1 and keyIndexes has nothing else to do for it: one key
 * spec (index 1, range 0) besides not-key ones, no getkeys procedure, no proxy argument check.
 */
export function firstArgKeyOnly(name: string, specs: readonly CompiledKeySpec[]): boolean {
  if (PROCS[name] !== undefined || ARG_CHECKS[name] !== undefined) return false;
  const keys = specs.filter((k) => !k.notKey);
  const k = keys[0];
  return keys.length === 1 && k !== undefined && !k.incomplete && k.bs === 'index' && k.index === 1 && k.fk === 'range' && k.lastkey === 0;
}

/** True when the command's key specs cannot all be evaluated and no procedure covers it. */
export function specsIncomplete(name: string, specs: readonly CompiledKeySpec[]): boolean {
  if (PROCS[name]) return false;
  return specs.some((k) => !k.notKey && (k.incomplete || k.bs === 'unknown' || k.fk === 'unknown'));
}

/**
 * Evaluates the key specs. Returns the key positions or an error line. `flagsOut`, when given,
 * receives the key flags per returned key (for COMMAND GETKEYSANDFLAGS).
 */
function extract(spec: CommandSpec, a: ArgsView, flagsOut: Array<readonly string[]> | undefined): number[] | string {
  const proc = PROCS[spec.name];
  if (proc !== undefined) return proc(spec, a, flagsOut);
  if (spec.incompleteKeys) return `ERR the proxy cannot determine the keys of command '${spec.display}'`;
  const argc = a.argc;
  const specs = spec.keySpecs;
  let keys: number[] | undefined;
  for (let j = 0; j < specs.length; j++) {
    const k = specs[j];
    if (k === undefined || k.notKey) continue;
    let first = 0;
    if (k.bs === 'index') {
      first = k.index;
    } else {
      // keyword: positive startfrom searches forward up to argc-2 (a keyword needs an argument after
      // it); negative startfrom searches backward from argc+startfrom down to 1.
      const kw = k.keyword!;
      if (k.startfrom > 0) {
        for (let i = k.startfrom; i < argc - 1; i++)
          if (argIs(a, i, kw)) {
            first = i + 1;
            break;
          }
      } else {
        for (let i = argc + k.startfrom; i >= 1; i--)
          if (i < argc && argIs(a, i, kw)) {
            first = i + 1;
            break;
          }
      }
      if (first === 0) continue; // keyword absent: this spec names no keys
    }
    let last: number;
    let step: number;
    if (k.fk === 'range') {
      step = k.keystep;
      if (k.lastkey >= 0) last = first + k.lastkey;
      else if (k.limit === 0) last = argc + k.lastkey;
      else last = first + (Math.floor((argc - first) / k.limit) + k.lastkey);
      // Out of bounds: the request is malformed (e.g. "XREAD COUNT 1 STREAMS").
      if (first >= argc || last >= argc || last < first) return SYNTAX;
      if (k.lastkey < 0 && k.limit === 0 && step > 1 && (last - first + 1) % step !== 0) {
        // key/value lists (MSET, MSETNX) with a missing value
        return spec.arityError;
      }
    } else {
      step = k.keystep;
      const w = wordingFor(spec);
      const idx = first + k.keynumidx;
      if (idx >= argc) return SYNTAX;
      const n = parseIntArg(a, idx);
      if (Number.isNaN(n)) return w.notInt;
      if (n < 0) return w.negative;
      first += k.firstkey;
      if (n === 0) {
        if (w.zero !== undefined && !spec.noMandatoryKeys) return w.zero;
        continue;
      }
      last = first + (n - 1) * step;
      if (last >= argc) return w.tooMany;
    }
    if (keys === undefined && first === last) {
      // One key (GET, SET, ...: the proxy's hot path): an exact-size array, not a push-grown one.
      keys = [first];
      flagsOut?.push(k.flags);
      continue;
    }
    if (keys === undefined) keys = [];
    for (let i = first; i <= last; i += step) {
      keys.push(i);
      flagsOut?.push(k.flags);
    }
  }
  if (keys === undefined) {
    if (spec.noMandatoryKeys || !spec.hasKeys) return [];
    return SYNTAX;
  }
  return keys;
}

// ------------------------------------------------------------------------------------------------
// Argument checks that refuse a request the proxy cannot serve correctly.

/**
 * XREAD/XREADGROUP option walk (as xreadCommand parses): the argument index of BLOCK's timeout, or
 * -1 when the request does not block. The proxy serves the blocking form on a dedicated connection.
 */
export function xreadBlockIndex(spec: CommandSpec, a: ArgsView): number {
  const group = spec.name === 'xreadgroup';
  for (let i = 1; i < a.argc; i++) {
    const more = a.argc - i - 1;
    if (argIs(a, i, 'BLOCK') && more > 0) return i + 1;
    if (argIs(a, i, 'COUNT') && more > 0) {
      i++;
      continue;
    }
    if (argIs(a, i, 'STREAMS') && more > 0) return -1;
    if (group && argIs(a, i, 'GROUP') && more >= 2) {
      i += 2;
      continue;
    }
    if (group && argIs(a, i, 'NOACK')) continue;
    return -1; // syntax error: Redis will say so
  }
  return -1;
}

/**
 * COPY src dst [DB n] [REPLACE]: served (a slot's group holds that slot in every DB). Options are
 * walked as copyCommand does, so a bad number gets Redis's own error first (a syntax error is left to
 * the backend, which rejects the request before doing anything).
 */
function checkCopy(_spec: CommandSpec, a: ArgsView): string | undefined {
  for (let i = 3; i < a.argc; i++) {
    if (argIs(a, i, 'REPLACE')) continue;
    if (argIs(a, i, 'DB') && i + 1 < a.argc) {
      i++;
      if (parseRedisInteger(a.buf.toString('latin1', argStart(a, i), argEnd(a, i))) === null)
        return 'ERR value is not an integer or out of range';
      continue;
    }
    return undefined;
  }
  return undefined;
}

/**
 * SORT/SORT_RO BY and GET patterns read other keys (pattern with '*' replaced by each element). They
 * are allowed only when every such key is in the sorted key's slot: the pattern must carry a complete
 * hash tag before its '*', and that tag must hash to the same slot as the sorted key. 'GET #' and
 * patterns without '*' read no keys.
 */
function checkSort(spec: CommandSpec, a: ArgsView): string | undefined {
  const ro = spec.name === 'sort_ro';
  let keySlot = -1;
  for (let i = 2; i < a.argc; i++) {
    const left = a.argc - i - 1;
    if (argIs(a, i, 'ASC') || argIs(a, i, 'DESC') || argIs(a, i, 'ALPHA')) continue;
    if (argIs(a, i, 'LIMIT') && left >= 2) {
      i += 2;
      continue;
    }
    if (!ro && argIs(a, i, 'STORE') && left >= 1) {
      i += 1;
      continue;
    }
    const by = argIs(a, i, 'BY');
    if ((by || argIs(a, i, 'GET')) && left >= 1) {
      i += 1; // left >= 1: argument i exists
      const s = argStart(a, i);
      const e = argEnd(a, i);
      const b = a.buf;
      if (!by && e - s === 1 && b[s] === 0x23 /* # */) continue;
      const star = b.indexOf(0x2a /* * */, s);
      if (star < 0 || star >= e) continue; // no '*': no key is read
      const open = b.indexOf(0x7b /* { */, s);
      const close = open >= 0 && open < star ? b.indexOf(0x7d /* } */, open + 1) : -1;
      if (open >= 0 && open < star && close >= 0 && close < star) {
        if (keySlot < 0) keySlot = slotOfRange(b, argStart(a, 1), argEnd(a, 1));
        if (slotOfRange(b, s, star) === keySlot) continue;
      }
      return (
        `ERR command '${spec.display}' with a BY/GET pattern is not allowed: the keys it reads may be in other slots ` +
        `(put a hash tag matching the sorted key's before the '*', e.g. '{tag}:*->field')`
      );
    }
    return undefined; // syntax error: Redis will say so
  }
  return undefined;
}

const ARG_CHECKS: { [name: string]: (spec: CommandSpec, a: ArgsView) => string | undefined } = {
  sort: checkSort,
  sort_ro: checkSort,
  copy: checkCopy,
};

// ------------------------------------------------------------------------------------------------
// Public API

/** True when argc (including the command name, and the subcommand for subcommands) fits the arity. */
export function checkArity(spec: CommandSpec, argc: number): boolean {
  const ar = spec.arity;
  return ar > 0 ? argc === ar : argc >= -ar;
}

/**
 * Key argument indexes of a request, in key-spec order (duplicates kept). Call after the arity check.
 *
 * - ok with keys = [] happens only for commands whose keys are optional (EVAL/FCALL with numkeys 0)
 *   or that have no keys at all; the proxy may send such a request to any backend.
 * - ok: false carries the full error line to send: a malformed request (bad numkeys, "STREAMS" with
 *   nothing after it, MSET with a missing value, ...), an argument the proxy refuses (SORT BY/GET patterns reading keys in other slots), or a command whose key
 *   positions cannot be known (`incomplete: true`, e.g. MIGRATE ... KEYS).
 */
/** keyIndexes' answer for a firstArgKeyOnly command: one shared, frozen object (no allocation per request). */
const FIRST_ARG_KEY: KeysResult = Object.freeze({ ok: true, keys: Object.freeze([1]) });

export function keyIndexes(spec: CommandSpec, args: ArgsView): KeysResult {
  if (spec.firstArgKeyOnly && args.argc >= 2) return FIRST_ARG_KEY;
  const check = ARG_CHECKS[spec.name];
  if (check !== undefined) {
    const err = check(spec, args);
    if (err !== undefined) return { ok: false, error: err };
  }
  const r = extract(spec, args, undefined);
  if (typeof r === 'string') return spec.incompleteKeys ? { ok: false, error: r, incomplete: true } : { ok: false, error: r };
  return { ok: true, keys: r };
}

/**
 * Keys with their access flags, as COMMAND GETKEYSANDFLAGS reports them (no proxy refusal checks).
 * Flags of SET (GET option) and BITFIELD (read-only form) are computed as Redis does.
 */
export function keysAndFlags(spec: CommandSpec, args: ArgsView): { keys: number[]; flags: Array<readonly string[]> } | string {
  const flags: Array<readonly string[]> = [];
  const r = extract(spec, args, flags);
  if (typeof r === 'string') return r;
  if (spec.name === 'set' && r.length === 1) {
    let get = false;
    for (let i = 3; i < args.argc; i++)
      if (argIs(args, i, 'GET')) {
        get = true;
        break;
      }
    flags[0] = get ? ['RW', 'access', 'update'] : ['OW', 'update'];
  } else if (spec.name === 'bitfield' && r.length === 1) {
    let ro = true;
    for (let i = 2; i < args.argc; i++) {
      const rem = args.argc - i - 1;
      if (argIs(args, i, 'GET') && rem >= 2) i += 2;
      else if ((argIs(args, i, 'SET') || argIs(args, i, 'INCRBY')) && rem >= 3) {
        ro = false;
        break;
      } else if (argIs(args, i, 'OVERFLOW') && rem >= 1) i += 1;
      else {
        ro = false;
        break;
      }
    }
    flags[0] = ro ? ['RO', 'access'] : ['RW', 'access', 'update'];
  }
  return { keys: r, flags: flags.map((f) => KEY_FLAG_ORDER.filter((x) => f.includes(x))) };
}
