// Owns THE command table: how the proxy treats every Redis 7.0 command and subcommand (forwarded by
// key, split across groups and merged, answered locally, or refused with a reason), deny by default,
// plus the fast case-insensitive lookup the proxy calls for every request. The metadata (arity,
// flags, key specs, docs) comes from redis-7.0-commands.json, generated from a real redis-server by
// scripts/gen-commands.mjs; only the policies below are written by hand.
//
// Rules of the table:
// - Every name below must be a Redis 7.0 command or subcommand ('container|sub'), or one of the
//   PROXY_EXTRAS; the unit tests check both directions (nothing unclassified, nothing invented).
// - A container name ('config') classifies all of its subcommands; a 'container|sub' entry overrides
//   that for one subcommand ('memory' is denied, 'memory|usage' is keyed).
// - A command that is in the JSON but in no list is refused ('not classified'), and an unknown
//   command is refused: lookupCommand returns undefined.
// - *|help subcommands: COMMAND HELP is answered locally (by command-reply.ts); every other HELP is
//   refused (the proxy would have to edit Redis's help text to be truthful about what it supports).
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  checkArity,
  argEnd,
  argStart,
  compileKeySpec,
  firstArgKeyOnly,
  specsIncomplete,
  type AppFamily,
  type ArgsView,
  type CommandJson,
  type CommandSpec,
  type Policy,
} from './keys.js';

export type {
  AppFamily,
  ArgsView,
  CommandSpec,
  Policy,
  KeysResult,
  CommandJson,
  CompiledKeySpec,
  KeySpecJson,
  DocMap,
  DocValue,
} from './keys.js';
export { checkArity, keyIndexes, xreadBlockIndex } from './keys.js';

// ================================================================================================
// The table
// ================================================================================================

/** Forwarded to the single slot of their keys (all keys must hash to one slot, else CROSSSLOT). */
const KEYED: readonly string[] = [
  // strings
  'append',
  'decr',
  'decrby',
  'get',
  'getdel',
  'getex',
  'getrange',
  'getset',
  'incr',
  'incrby',
  'incrbyfloat',
  'lcs',
  'msetnx',
  'psetex',
  'set',
  'setex',
  'setnx',
  'setrange',
  'strlen',
  'substr',
  // bitmaps
  'bitcount',
  'bitfield',
  'bitfield_ro',
  'bitop',
  'bitpos',
  'getbit',
  'setbit',
  // generic keyspace, one key or keys of one slot. COPY ... DB and MOVE are correct through the
  // proxy: a slot's group holds that slot in every DB.
  'copy',
  'move',
  'dump',
  'expire',
  'expireat',
  'expiretime',
  'persist',
  'pexpire',
  'pexpireat',
  'pexpiretime',
  'pttl',
  'rename',
  'renamenx',
  'restore',
  'ttl',
  'type',
  'object|encoding',
  'object|freq',
  'object|idletime',
  'object|refcount',
  'memory|usage',
  // SORT: BY/GET patterns reading keys outside the key's slot are refused by keyIndexes
  'sort',
  'sort_ro',
  // lists
  'lindex',
  'linsert',
  'llen',
  'lmove',
  'lmpop',
  'lpop',
  'lpos',
  'lpush',
  'lpushx',
  'lrange',
  'lrem',
  'lset',
  'ltrim',
  'rpop',
  'rpoplpush',
  'rpush',
  'rpushx',
  // hashes
  'hdel',
  'hexists',
  'hget',
  'hgetall',
  'hincrby',
  'hincrbyfloat',
  'hkeys',
  'hlen',
  'hmget',
  'hmset',
  'hrandfield',
  'hscan',
  'hset',
  'hsetnx',
  'hstrlen',
  'hvals',
  // sets
  'sadd',
  'scard',
  'sdiff',
  'sdiffstore',
  'sinter',
  'sintercard',
  'sinterstore',
  'sismember',
  'smembers',
  'smismember',
  'smove',
  'spop',
  'srandmember',
  'srem',
  'sscan',
  'sunion',
  'sunionstore',
  // sorted sets
  'zadd',
  'zcard',
  'zcount',
  'zdiff',
  'zdiffstore',
  'zincrby',
  'zinter',
  'zintercard',
  'zinterstore',
  'zlexcount',
  'zmpop',
  'zmscore',
  'zpopmax',
  'zpopmin',
  'zrandmember',
  'zrange',
  'zrangebylex',
  'zrangebyscore',
  'zrangestore',
  'zrank',
  'zrem',
  'zremrangebylex',
  'zremrangebyrank',
  'zremrangebyscore',
  'zrevrange',
  'zrevrangebylex',
  'zrevrangebyscore',
  'zrevrank',
  'zscan',
  'zscore',
  'zunion',
  'zunionstore',
  // streams (XREAD/XREADGROUP with BLOCK are served as blocking commands, src/proxy/apps/blocking.ts)
  'xack',
  'xadd',
  'xautoclaim',
  'xclaim',
  'xdel',
  'xlen',
  'xpending',
  'xrange',
  'xread',
  'xreadgroup',
  'xrevrange',
  'xsetid',
  'xtrim',
  'xgroup|create',
  'xgroup|createconsumer',
  'xgroup|delconsumer',
  'xgroup|destroy',
  'xgroup|setid',
  'xinfo|consumers',
  'xinfo|groups',
  'xinfo|stream',
  // geo
  'geoadd',
  'geodist',
  'geohash',
  'geopos',
  'georadius',
  'georadius_ro',
  'georadiusbymember',
  'georadiusbymember_ro',
  'geosearch',
  'geosearchstore',
  // hyperloglog
  'pfadd',
  'pfcount',
  'pfmerge',
  // scripting: keys are the declared KEYS (numkeys 0 may go to any backend). Scripts must not touch
  // undeclared keys; SCRIPT/FUNCTION management is refused below.
  'eval',
  'eval_ro',
  'evalsha',
  'evalsha_ro',
  'fcall',
  'fcall_ro',
];

/** Split per group and merged by the proxy. */
const SPLIT: { readonly [name: string]: 'mget' | 'mset' | 'sum' } = {
  mget: 'mget', // array of values, in request order
  mset: 'mset', // key/value pairs; +OK when every part succeeded (not atomic across groups)
  del: 'sum',
  unlink: 'sum',
  exists: 'sum',
  touch: 'sum', // integer sum
};

/**
 * Answered by the proxy itself. Exported as a literal tuple: the proxy's handler map
 * (proxy/local-commands.ts) is typed against it, so a name without a handler, or a handler without a
 * name here, fails the build.
 */
export const LOCAL_COMMANDS = [
  // connection and session
  'ping',
  'echo',
  'quit',
  'reset',
  'select',
  'auth',
  'hello',
  'client|setname',
  'client|getname',
  'client|id',
  'client|info',
  'client|list',
  'client|setinfo',
  // this proxy's own sessions and settings (admin-commands.ts)
  'client|kill',
  'client|pause',
  'client|unpause',
  'config|get',
  'latency|latest',
  'latency|history',
  'latency|reset',
  'latency|doctor',
  // COMMAND and all its subcommands (incl. plain COMMAND and COMMAND HELP): command-reply.ts
  'command',
  // server-wide, synthesized or fanned out by the proxy
  'time',
  'info',
  'dbsize',
  'flushdb',
  'flushall',
  // the proxy's own slow log
  'slowlog|get',
  'slowlog|len',
  'slowlog|reset',
  // replica-read opt-in for sessions that have written (READONLY / READWRITE)
  'readonly',
  'readwrite',
  // Codis extras
  'slotsmapping',
  'slotshashkey',
  // ACL: the proxy's own client users (src/acl)
  'acl|whoami',
  'acl|list',
  'acl|users',
  'acl|getuser',
  'acl|cat',
  'acl|dryrun',
  'acl|genpass',
] as const;
/** The names in LOCAL_COMMANDS ('command' stands for COMMAND and all its subcommands). */
export type LocalCommandName = (typeof LOCAL_COMMANDS)[number];

/**
 * Served by src/proxy/apps/: session-bound families that need per-session state or a dedicated
 * (borrowed) backend connection. See src/proxy/APPS.md.
 */
const APP: ReadonlyArray<readonly [family: AppFamily, names: readonly string[]]> = [
  ['transaction', ['multi', 'exec', 'discard', 'watch', 'unwatch']],
  ['blocking', ['blpop', 'brpop', 'blmove', 'blmpop', 'bzpopmin', 'bzpopmax', 'bzmpop', 'brpoplpush', 'wait']],
  [
    'pubsub',
    [
      'publish',
      'spublish',
      'subscribe',
      'ssubscribe',
      'psubscribe',
      'unsubscribe',
      'sunsubscribe',
      'punsubscribe',
      'pubsub|channels',
      'pubsub|numsub',
      'pubsub|numpat',
      'pubsub|shardchannels',
      'pubsub|shardnumsub',
    ],
  ],
  ['keyspace', ['scan', 'keys', 'randomkey']],
  [
    'scripting',
    [
      'script|load',
      'script|exists',
      'script|flush',
      'function|load',
      'function|delete',
      'function|flush',
      'function|list',
      'function|dump',
      'function|restore',
    ],
  ],
  ['cluster', ['cluster|slots', 'cluster|shards', 'cluster|nodes', 'cluster|info', 'cluster|keyslot', 'cluster|myid']],
];

const PUBSUB = 'only the pub/sub commands listed in the proxy documentation are available';
const CROSS_DB = 'SWAPDB cannot be atomic across the groups of a sharded cluster';
const ADMIN = 'administrative command, not available through the proxy';
const CLUSTER = 'only CLUSTER SLOTS, SHARDS, NODES, INFO, KEYSLOT and MYID are answered by the proxy (cluster_facade)';
const SCRIPTING =
  'SCRIPT KILL, SCRIPT DEBUG, FUNCTION KILL and FUNCTION STATS are not available through the proxy (SCRIPT LOAD/EXISTS/FLUSH and FUNCTION LOAD/DELETE/FLUSH/LIST/DUMP/RESTORE are)';
const CLIENT =
  "only CLIENT SETNAME, GETNAME, ID, INFO, LIST, SETINFO, and KILL, PAUSE and UNPAUSE of this proxy's own sessions are available through the proxy";
const CONFIG =
  "only CONFIG GET of the proxy's own settings (maxclients, timeout, databases, slowlog-*, latency-monitor-threshold) is available through the proxy; the servers are configured per group";
const LATENCY =
  "only LATENCY LATEST, HISTORY, RESET and DOCTOR of the proxy's own latency monitor are available through the proxy (per-command latency histograms: the proxy's Prometheus metrics)";
const HELP = 'HELP is not available through the proxy';
const ACL =
  'only ACL WHOAMI, LIST, USERS, GETUSER, CAT, DRYRUN and GENPASS are available through the proxy: its users come from its configuration (acl_users, acl_file)';

/** Refused with a reason shown to the client. */
const DENIED: ReadonlyArray<readonly [reason: string, names: readonly string[]]> = [
  [PUBSUB, ['pubsub']],
  [CROSS_DB, ['swapdb']],
  [ACL, ['acl']],
  [
    ADMIN,
    [
      'bgrewriteaof',
      'bgsave',
      'debug',
      'failover',
      'lastsave',
      'lolwut',
      'memory',
      'migrate',
      'module',
      'monitor',
      'pfdebug',
      'pfselftest',
      'psync',
      'replconf',
      'replicaof',
      'role',
      'save',
      'shutdown',
      'slaveof',
      'sync',
    ],
  ],
  [CLUSTER, ['cluster', 'asking', 'restore-asking']],
  [SCRIPTING, ['script', 'function']],
  [CLIENT, ['client']],
  [CONFIG, ['config']],
  [LATENCY, ['latency']],
  [HELP, ['object|help', 'xinfo|help', 'xgroup|help', 'slowlog|help']],
];

/** Not Redis 7.0 commands: answered by the proxy, with metadata for COMMAND INFO/DOCS. */
const PROXY_EXTRAS: { readonly [name: string]: CommandJson } = {
  slotsmapping: {
    arity: -1,
    flags: ['loading', 'stale'],
    first: 0,
    last: 0,
    step: 0,
    acl: ['@slow'],
    tips: [],
    key_specs: [],
    docs: {
      summary: "Returns the proxy's slot table: for each slot its id, backend address, migration source and replicas (Codis)",
      since: '3.2.0',
      group: 'server',
      complexity: 'O(N) where N is the number of slots returned',
      arguments: [{ name: 'slot', type: 'integer', flags: ['optional'] }],
    },
  },
  slotshashkey: {
    arity: -2,
    flags: ['loading', 'stale', 'fast'],
    first: 0,
    last: 0,
    step: 0,
    acl: ['@fast'],
    tips: [],
    key_specs: [],
    docs: {
      summary: 'Returns the slot of each given key (Codis hashing: crc32 of the hash tag modulo 1024)',
      since: '3.2.0',
      group: 'server',
      complexity: 'O(N) where N is the number of keys',
      arguments: [{ name: 'key', type: 'string', flags: ['multiple'] }],
    },
  },
  // Redis 7.2's CLIENT SETINFO, sent by current client libraries on connect; answered by the proxy.
  'client|setinfo': {
    arity: 4,
    flags: ['noscript', 'loading', 'stale'],
    first: 0,
    last: 0,
    step: 0,
    acl: ['@slow', '@connection'],
    tips: [],
    key_specs: [],
    docs: {
      summary: 'Sets information specific to the client or connection.',
      since: '7.2.0',
      group: 'connection',
      complexity: 'O(1)',
      arguments: [
        {
          name: 'attr',
          type: 'oneof',
          arguments: [
            { name: 'libname', type: 'string', token: 'LIB-NAME' },
            { name: 'libver', type: 'string', token: 'LIB-VER' },
          ],
        },
      ],
    },
  },
};

// ================================================================================================
// Building the specs
// ================================================================================================

interface CommandsFile {
  redis_version: string;
  count: number;
  help: { command: string[] };
  commands: { [name: string]: CommandJson };
}

function loadJson(): CommandsFile {
  // dist/src/commands/ gets a copy from tsc (tsconfig includes src/**/*.json); fall back to the source tree.
  const candidates = [
    new URL('./redis-7.0-commands.json', import.meta.url),
    new URL('../../../src/commands/redis-7.0-commands.json', import.meta.url),
  ];
  let lastErr: unknown;
  for (const u of candidates) {
    try {
      return JSON.parse(readFileSync(fileURLToPath(u), 'utf8')) as CommandsFile;
    } catch (e) {
      lastErr = e;
    }
  }
  throw new Error(`cannot read redis-7.0-commands.json: ${String(lastErr)}`);
}

const FILE = loadJson();
/** COMMAND HELP lines, as Redis 7.0 prints them. */
export const COMMAND_HELP: readonly string[] = FILE.help.command;

/** All metadata: Redis's entries plus the proxy extras (client|setinfo is added to CLIENT's subcommands). */
const META: { [name: string]: CommandJson } = { ...FILE.commands };
for (const [name, meta] of Object.entries(PROXY_EXTRAS)) {
  META[name] = meta;
  const bar = name.indexOf('|');
  if (bar > 0) {
    const parent = META[name.slice(0, bar)];
    if (parent?.subcommands && !parent.subcommands.includes(name)) parent.subcommands = [...parent.subcommands, name];
  }
}

/** name -> policy, as written in the lists above (before container inheritance). */
const LISTED = new Map<string, Policy>();
/** Names listed more than once or not known to Redis: reported by tableProblems(). */
const problems: string[] = [];
function list(name: string, p: Policy): void {
  if (LISTED.has(name)) problems.push(`'${name}' is listed twice`);
  if (!META[name]) problems.push(`'${name}' is not a Redis 7.0 command nor a proxy extra`);
  LISTED.set(name, p);
}
for (const n of KEYED) list(n, { kind: 'keyed' });
for (const [n, merge] of Object.entries(SPLIT)) list(n, { kind: 'split', merge });
for (const n of LOCAL_COMMANDS) list(n, { kind: 'local' });
for (const [family, names] of APP) for (const n of names) list(n, { kind: 'app', family });
for (const [reason, names] of DENIED) for (const n of names) list(n, { kind: 'denied', reason });

const UNCLASSIFIED: Policy = { kind: 'denied', reason: 'this command is not classified by the proxy' };
const NO_SUBCOMMAND: Policy = { kind: 'denied', reason: 'a subcommand is required' };
const unclassified: string[] = [];

function policyOf(name: string, meta: CommandJson): Policy {
  const own = LISTED.get(name);
  if (own) return own;
  const bar = name.indexOf('|');
  if (bar > 0) {
    const inherited = LISTED.get(name.slice(0, bar));
    if (inherited) return inherited;
  }
  if (meta.subcommands) return NO_SUBCOMMAND; // a container: only reached for a missing/unknown subcommand
  unclassified.push(name);
  return UNCLASSIFIED;
}

/** Open-addressing table keyed by case-folded ASCII bytes: no string is built per lookup. */
class NameTable {
  private readonly keys: Array<Buffer | undefined>;
  private readonly vals: Array<CommandSpec | undefined>;
  private readonly mask: number;
  private maxLen = 0;

  constructor(entries: Array<[string, CommandSpec]>) {
    let size = 16;
    while (size < entries.length * 4) size <<= 1;
    this.mask = size - 1;
    this.keys = new Array<Buffer | undefined>(size).fill(undefined);
    this.vals = new Array<CommandSpec | undefined>(size).fill(undefined);
    for (const [name, spec] of entries) {
      const k = Buffer.from(name.toLowerCase(), 'latin1');
      this.maxLen = Math.max(this.maxLen, k.length);
      let i = NameTable.hash(k, 0, k.length) & this.mask;
      while (this.keys[i] !== undefined) i = (i + 1) & this.mask;
      this.keys[i] = k;
      this.vals[i] = spec;
    }
  }

  private static hash(b: Uint8Array, s: number, e: number): number {
    let h = 0x811c9dc5;
    for (let i = s; i < e; i++) {
      let c = b[i] ?? 0; // s <= i < e <= b.length: always a byte
      if (c >= 65 && c <= 90) c |= 0x20;
      h = Math.imul(h ^ c, 0x01000193);
    }
    return h >>> 0;
  }

  get(b: Uint8Array, s: number, e: number): CommandSpec | undefined {
    const n = e - s;
    if (n <= 0 || n > this.maxLen) return undefined;
    let i = NameTable.hash(b, s, e) & this.mask;
    for (;;) {
      const k = this.keys[i];
      if (k === undefined) return undefined;
      if (k.length === n) {
        let j = 0;
        for (; j < n; j++) {
          let c = b[s + j] ?? 0; // j < n = e - s: always a byte
          if (c >= 65 && c <= 90) c |= 0x20;
          if (c !== k[j]) break;
        }
        if (j === n) return this.vals[i];
      }
      i = (i + 1) & this.mask;
    }
  }
}

const NO_FLAGS_SET: ReadonlySet<string> = new Set();
const SPECS = new Map<string, CommandSpec>();
const subTables = new Map<CommandSpec, NameTable>();

for (const [name, meta] of Object.entries(META)) {
  const bar = name.indexOf('|');
  const policy = policyOf(name, meta);
  const keySpecs = meta.key_specs.map(compileKeySpec);
  const flags = meta.flags.length ? new Set(meta.flags) : NO_FLAGS_SET;
  const display = name.replace('|', ' ').toUpperCase();
  const spec: CommandSpec = {
    name,
    display,
    arity: meta.arity,
    write: flags.has('write'),
    readonly: flags.has('readonly'),
    policy,
    flags,
    keySpecs,
    hasKeys: keySpecs.some((k) => !k.notKey),
    noMandatoryKeys: flags.has('no_mandatory_keys'),
    incompleteKeys: specsIncomplete(name, keySpecs),
    firstArgKeyOnly: firstArgKeyOnly(name, keySpecs),
    isContainer: meta.subcommands !== undefined,
    parent: bar > 0 ? name.slice(0, bar) : undefined,
    proxyExtra: Object.prototype.hasOwnProperty.call(PROXY_EXTRAS, name),
    arityError: `ERR wrong number of arguments for '${name}' command`,
    deniedError: policy.kind === 'denied' ? `ERR command '${display}' is not allowed: ${policy.reason}` : '',
    meta,
  };
  SPECS.set(name, spec);
}

const TOP = new NameTable([...SPECS].filter(([n]) => !n.includes('|')));
for (const spec of SPECS.values()) {
  if (spec.isContainer) {
    subTables.set(spec, new NameTable(spec.meta.subcommands!.map((full) => [full.slice(full.indexOf('|') + 1), SPECS.get(full)!])));
  }
}
const ALL: readonly CommandSpec[] = [...SPECS.values()];

// ================================================================================================
// Lookup API
// ================================================================================================

/**
 * The spec of a request, by argv[0] (and argv[1] for containers), case-insensitive, no allocation.
 * - undefined: unknown command (refuse with unknownCommandError(args)).
 * - a spec with isContainer === true: the request named no subcommand (argc 1) or an unknown one
 *   (argc >= 2). Only plain COMMAND is valid that way; resolveCommand turns the rest into Redis's own
 *   errors ("wrong number of arguments for 'object' command" / "unknown subcommand 'foo'. Try OBJECT HELP.").
 * - otherwise the command or subcommand spec ('object|encoding').
 */
export function lookupCommand(args: ArgsView): CommandSpec | undefined {
  if (args.argc < 1) return undefined;
  const spec = TOP.get(args.buf, argStart(args, 0), argEnd(args, 0));
  if (spec === undefined || !spec.isContainer || args.argc < 2) return spec;
  return subTables.get(spec)!.get(args.buf, argStart(args, 1), argEnd(args, 1)) ?? spec;
}

/** Every spec: Redis 7.0 commands, subcommands, containers and the proxy extras. */
export function allCommands(): CommandSpec[] {
  return ALL.slice();
}

/** A spec by full lower-case name ('get', 'object|encoding'); case-insensitive. */
export function commandByName(name: string): CommandSpec | undefined {
  return SPECS.get(name.toLowerCase());
}

/** Top-level specs (no subcommands), in table order. */
export function topLevelCommands(): CommandSpec[] {
  return ALL.filter((s) => s.parent === undefined);
}

/** The subcommand specs of a container, in Redis's order. */
export function subcommandsOf(spec: CommandSpec): CommandSpec[] {
  return (spec.meta.subcommands ?? []).map((n) => SPECS.get(n)!);
}

/** The proxy does not refuse this command outright (it may still refuse some argument forms). */
export function isServed(spec: CommandSpec): boolean {
  if (spec.isContainer && spec.policy.kind === 'denied') return subcommandsOf(spec).some((s) => s.policy.kind !== 'denied');
  return spec.policy.kind !== 'denied';
}

/**
 * Argument `i` as Redis prints it into an error with `%.*s`: at most `max` bytes, cut at the first NUL
 * (a C string), CR and LF each mapped to a space. A binary string (one char per byte, 'latin1'), so
 * the reply can echo the bytes exactly (errorReply(msg, 'latin1')).
 */
function argText(args: ArgsView, i: number, max: number): string {
  const s = argStart(args, i);
  const e = Math.min(argEnd(args, i), s + max);
  const nul = args.buf.indexOf(0, s);
  return args.buf.toString('latin1', s, nul >= 0 && nul < e ? nul : e).replace(/[\r\n]/g, ' ');
}

/** Redis 7's "ERR unknown command 'foo', with args beginning with: 'a' 'b' " (trailing space kept); a binary string. */
export function unknownCommandError(args: ArgsView): string {
  let rest = '';
  for (let i = 1; i < args.argc && rest.length < 128; i++) rest += `'${argText(args, i, 128 - rest.length)}' `;
  return `ERR unknown command '${args.argc > 0 ? argText(args, 0, 128) : ''}', with args beginning with: ${rest}`;
}

/** Redis 7's "ERR unknown subcommand 'foo'. Try OBJECT HELP." for a container request; a binary string. */
export function unknownSubcommandError(args: ArgsView): string {
  return `ERR unknown subcommand '${argText(args, 1, 128)}'. Try ${argText(args, 0, 1 << 20).toUpperCase()} HELP.`;
}

/**
 * Redis's checks before a command runs, on the result of lookupCommand: unknown command, unknown
 * subcommand, then arity. '' when the request passes, else the full error line (without '-'; a binary
 * string, since the unknown-command texts echo the client's bytes). The
 * proxy's dispatcher calls exactly this (then its own checks: auth, transaction, policy).
 */
export function precheckCommand(spec: CommandSpec | undefined, args: ArgsView): string {
  if (spec === undefined) return unknownCommandError(args);
  if (spec.isContainer && args.argc >= 2) return unknownSubcommandError(args);
  if (!checkArity(spec, args.argc)) return spec.arityError;
  return '';
}

/**
 * Everything the table decides before routing, in Redis's order of checks: unknown command, unknown
 * subcommand, arity (precheckCommand), then the policy. Returns the spec when the request may proceed
 * (keyed, split or local; keyed/split still go through keyIndexes), or the full error line (without
 * '-') to send.
 */
export function resolveCommand(args: ArgsView): CommandSpec | string {
  const spec = lookupCommand(args);
  const err = precheckCommand(spec, args);
  if (err !== '') return err;
  if (spec!.policy.kind === 'denied') return spec!.deniedError;
  return spec!;
}

/** For tests and reviewers: table names that are duplicated or unknown to Redis 7.0. */
export function tableProblems(): string[] {
  return problems.slice();
}

/** For tests and reviewers: Redis 7.0 commands the table does not classify (they are refused). */
export function unclassifiedCommands(): string[] {
  return unclassified.slice();
}

/** The names written in the table (exactly as listed), with their policy. */
export function listedPolicies(): ReadonlyMap<string, Policy> {
  return LISTED;
}

/** Names of the proxy-only commands (not in Redis 7.0). */
export const PROXY_EXTRA_NAMES: readonly string[] = Object.keys(PROXY_EXTRAS);
