// One ACL selector: which commands (a bitmap over the command index, plus allowed first arguments),
// which keys (patterns with read/write permission) and which channels a user may touch — the root
// permissions of a Redis 7 user. Rules are applied with Redis's own semantics (ACL SETUSER), a request
// is checked as Redis checks it, and `describe` writes the rules back the way ACL LIST does.
import type { ArgsView } from '../commands/table.js';
import { argEnd, argStart, keysAndFlags } from '../commands/keys.js';
import { ACL_CATEGORIES, commandIndex, lookupAclCommand, type AclCommand } from './command-index.js';
import { globMatch } from './glob.js';

export const READ = 1;
export const WRITE = 2;
const ALL = READ | WRITE;

export interface KeyPattern {
  pattern: string;
  perm: number;
}

/** Why a rule was refused; the texts are Redis's (ACLSetUserStringError). */
export type RuleError = 'syntax' | 'unknown' | 'allkeys' | 'allchannels' | 'firstarg-subcommand';

export const RULE_ERROR_TEXT: Record<RuleError, string> = {
  syntax: 'Syntax error',
  unknown: 'Unknown command or category name in ACL',
  allkeys:
    "Adding a pattern after the * pattern (or the 'allkeys' flag) is not valid and does not have any effect. Try 'resetkeys' to start with an empty list of patterns",
  allchannels:
    "Adding a pattern after the * pattern (or the 'allchannels' flag) is not valid and does not have any effect. Try 'resetchannels' to start with an empty list of channels",
  'firstarg-subcommand': 'Allowing first-arg of a subcommand is not supported',
};

/** A denial, in Redis's order of checks. */
export type Denial = 'cmd' | 'key' | 'channel';

export class AclSelector {
  /** Bit per command id, plus the "future commands" bit at index futureBit. */
  readonly bits: Uint8Array;
  allKeys = false;
  allChannels = false;
  keys: KeyPattern[] = [];
  channels: string[] = [];
  /** Allowed first arguments (lower-case) of commands whose bit is clear (`+select|0`). */
  firstArgs = new Map<number, string[]>();

  constructor() {
    this.bits = new Uint8Array(commandIndex().futureBit + 1);
  }

  /** Redis's ALLCOMMANDS flag: set by +@all, cleared as soon as any command bit is cleared. */
  allCommands = false;

  /** The reserved bit only +@all sets: the user may run commands added in the future (ACL LIST starts with +@all). */
  get futureCommands(): boolean {
    return this.bits[commandIndex().futureBit] === 1;
  }

  clone(): AclSelector {
    const c = new AclSelector();
    c.bits.set(this.bits);
    c.allCommands = this.allCommands;
    c.allKeys = this.allKeys;
    c.allChannels = this.allChannels;
    c.keys = this.keys.map((k) => ({ ...k }));
    c.channels = this.channels.slice();
    for (const [id, a] of this.firstArgs) c.firstArgs.set(id, a.slice());
    return c;
  }

  private setPerm(cmd: AclCommand, allow: boolean): void {
    if (!allow) this.allCommands = false;
    this.bits[cmd.id] = allow ? 1 : 0;
    this.firstArgs.delete(cmd.id);
    for (const s of cmd.subs) this.bits[s.id] = allow ? 1 : 0;
  }

  private setCategory(cat: number, allow: boolean): void {
    const walk = (list: readonly AclCommand[]): void => {
      for (const c of list) {
        if (c.categories & cat) this.setPerm(c, allow);
        if (c.subs.length > 0) walk(c.subs);
      }
    };
    walk(commandIndex().top);
  }

  /** Applies one selector rule (the part of ACL SETUSER that is not about passwords or on/off). */
  apply(op: string): RuleError | null {
    const lower = op.toLowerCase();
    if (lower === 'allkeys' || op === '~*') {
      this.allKeys = true;
      this.keys = [];
    } else if (lower === 'resetkeys') {
      this.allKeys = false;
      this.keys = [];
    } else if (lower === 'allchannels' || op === '&*') {
      this.allChannels = true;
      this.channels = [];
    } else if (lower === 'resetchannels') {
      this.allChannels = false;
      this.channels = [];
    } else if (lower === 'allcommands' || lower === '+@all') {
      this.bits.fill(1);
      this.allCommands = true;
      this.firstArgs.clear();
    } else if (lower === 'nocommands' || lower === '-@all') {
      this.bits.fill(0);
      this.allCommands = false;
      this.firstArgs.clear();
    } else if (op.startsWith('~') || op.startsWith('%')) {
      return this.addKeyPattern(op);
    } else if (op.startsWith('&')) {
      if (this.allChannels) return 'allchannels';
      const pat = op.slice(1);
      if (/\s/.test(pat)) return 'syntax';
      if (!this.channels.includes(pat)) this.channels.push(pat);
      this.allChannels = false;
    } else if ((op.startsWith('+') || op.startsWith('-')) && op[1] === '@') {
      const j = ACL_CATEGORIES.indexOf(lower.slice(2) as (typeof ACL_CATEGORIES)[number]);
      if (j < 0) return 'unknown';
      this.setCategory(1 << j, op[0] === '+');
    } else if (op.startsWith('+')) {
      return this.allowCommand(op.slice(1));
    } else if (op.startsWith('-')) {
      const cmd = lookupAclCommand(op.slice(1));
      if (!cmd) return 'unknown';
      this.setPerm(cmd, false);
    } else {
      return 'syntax';
    }
    return null;
  }

  private addKeyPattern(op: string): RuleError | null {
    if (this.allKeys) return 'allkeys';
    let perm = 0;
    let at = 1;
    if (op[0] === '%') {
      for (; at < op.length; at++) {
        const c = (op[at] as string).toUpperCase();
        if (c === 'R' && !(perm & READ)) perm |= READ;
        else if (c === 'W' && !(perm & WRITE)) perm |= WRITE;
        else if (c === '~') {
          at++;
          break;
        } else return 'syntax';
      }
    } else {
      perm = ALL;
    }
    const pattern = op.slice(at);
    if (/\s/.test(pattern)) return 'syntax';
    const have = this.keys.find((k) => k.pattern === pattern);
    if (have) have.perm |= perm;
    else this.keys.push({ pattern, perm });
    this.allKeys = false;
    return null;
  }

  private allowCommand(name: string): RuleError | null {
    const bar = name.lastIndexOf('|');
    if (bar < 0) {
      const cmd = lookupAclCommand(name);
      if (!cmd) return 'unknown';
      this.setPerm(cmd, true);
      return null;
    }
    const parent = lookupAclCommand(name.slice(0, bar));
    if (!parent) return 'unknown';
    if (parent.parent) return 'firstarg-subcommand';
    const sub = name.slice(bar + 1);
    if (sub === '') return 'syntax';
    if (parent.subs.length > 0) {
      const cmd = lookupAclCommand(name);
      if (!cmd) return 'unknown';
      this.setPerm(cmd, true);
      return null;
    }
    // A first argument of a command without subcommands (SELECT 0): Redis's deprecated form.
    const list = this.firstArgs.get(parent.id) ?? [];
    if (!list.includes(sub.toLowerCase())) list.push(sub.toLowerCase());
    this.firstArgs.set(parent.id, list);
    return null;
  }

  /** Whether this selector lets `cmd` run with these arguments (Redis's ACLSelectorCheckCmd). */
  check(cmd: AclCommand, args: ArgsView): Denial | null {
    return this.explain(cmd, args)?.kind ?? null;
  }

  /** Like check, with the index of the refused key or channel argument (ACL DRYRUN names it). */
  explain(cmd: AclCommand, args: ArgsView): { kind: Denial; arg: number } | null {
    const spec = cmd.spec;
    if (!this.allCommands && !spec.flags.has('no_auth') && this.bits[cmd.id] !== 1) {
      const allowed = this.firstArgs.get(cmd.id);
      const idx = cmd.parent ? 2 : 1;
      if (allowed === undefined || args.argc <= idx) return { kind: 'cmd', arg: 0 };
      const first = args.buf.toString('latin1', argStart(args, idx), argEnd(args, idx)).toLowerCase();
      if (!allowed.includes(first)) return { kind: 'cmd', arg: 0 };
    }
    if (!this.allKeys && spec.hasKeys) {
      const r = keysAndFlags(spec, args);
      if (typeof r !== 'string') {
        for (let j = 0; j < r.keys.length; j++) {
          const k = r.keys[j] as number;
          if (!this.keyAllowed(args, k, r.flags[j] ?? [])) return { kind: 'key', arg: k };
        }
      }
    }
    if (!this.allChannels) {
      for (const ch of channelArgs(cmd.fullName, args)) {
        if (!this.channelAllowed(ch.value, ch.pattern)) return { kind: 'channel', arg: ch.arg };
      }
    }
    return null;
  }

  /** True when nothing can be refused (allcommands, allkeys, allchannels): the proxy skips the check. */
  get unrestricted(): boolean {
    return this.allCommands && this.allKeys && this.allChannels;
  }

  private keyAllowed(args: ArgsView, i: number, flags: readonly string[]): boolean {
    let need = 0;
    if (flags.includes('access')) need |= READ;
    if (flags.includes('insert') || flags.includes('delete') || flags.includes('update')) need |= WRITE;
    const key = args.buf.subarray(argStart(args, i), argEnd(args, i));
    for (const k of this.keys) {
      if ((k.perm & need) !== need) continue;
      if (globMatch(k.pattern, key)) return true;
    }
    return false;
  }

  /** A channel name is matched against the patterns; a PSUBSCRIBE pattern only literally (as Redis). */
  channelAllowed(channel: Buffer, isPattern: boolean): boolean {
    if (this.allChannels) return true;
    for (const p of this.channels) {
      if (isPattern ? Buffer.from(p, 'utf8').equals(channel) : globMatch(p, channel)) return true;
    }
    return false;
  }

  /** Keys part of ACL LIST / GETUSER ("~*", "%R~a* ~b"). */
  describeKeys(): string {
    if (this.allKeys) return '~*';
    return this.keys.map((k) => (k.perm === ALL ? '~' : k.perm === READ ? '%R~' : '%W~') + k.pattern).join(' ');
  }

  /** Channels part of GETUSER ("&*", "&a &b", ""). */
  describeChannels(): string {
    if (this.allChannels) return '&*';
    return this.channels.map((c) => `&${c}`).join(' ');
  }

  /**
   * The command rules, as Redis writes them: start from +@all or -@all, add the categories that best
   * fit the bitmap (greedy, in category order), then single commands and first arguments.
   */
  describeCommands(): string {
    const idx = commandIndex();
    const fake = new AclSelector();
    const rules: string[] = [];
    const additive = !this.futureCommands;
    rules.push(additive ? '-@all' : '+@all');
    fake.apply(additive ? '-@all' : '+@all');
    const temp = this.clone();
    const applied = new Set<number>();
    for (;;) {
      let best = -1;
      let minDiff = Number.MAX_SAFE_INTEGER;
      let maxSame = 0;
      for (let j = 0; j < ACL_CATEGORIES.length; j++) {
        if (applied.has(j)) continue;
        let on = 0;
        let off = 0;
        for (const c of idx.byId) {
          if (c.categories & (1 << j)) {
            if (temp.bits[c.id] === 1) on++;
            else off++;
          }
        }
        const diff = additive ? off : on;
        const same = additive ? on : off;
        if (same > diff && (diff < minDiff || (diff === minDiff && same > maxSame))) {
          best = j;
          minDiff = diff;
          maxSame = same;
        }
      }
      if (best < 0) break;
      const name = ACL_CATEGORIES[best] as string;
      rules.push(`${additive ? '+' : '-'}@${name}`);
      fake.apply(`${additive ? '+' : '-'}@${name}`);
      temp.apply(`${additive ? '-' : '+'}@${name}`);
      applied.add(best);
    }
    const single = (list: readonly AclCommand[]): void => {
      for (const c of list) {
        const user = this.bits[c.id] === 1;
        if (user !== (fake.bits[c.id] === 1)) {
          rules.push(`${user ? '+' : '-'}${c.fullName}`);
          fake.setPerm(c, user);
        }
        if (c.subs.length > 0) single(c.subs);
        const fa = this.firstArgs.get(c.id);
        if (!user && fa) for (const a of fa) rules.push(`+${c.fullName}|${a}`);
      }
    };
    single(idx.top);
    return rules.join(' ');
  }
}

/** Channel arguments Redis checks for a command (publish/subscribe ones only; patterns marked). */
export function channelArgs(fullName: string, args: ArgsView): Array<{ value: Buffer; pattern: boolean; arg: number }> {
  const arg = (i: number): Buffer => args.buf.subarray(argStart(args, i), argEnd(args, i));
  const out: Array<{ value: Buffer; pattern: boolean; arg: number }> = [];
  switch (fullName) {
    case 'subscribe':
    case 'ssubscribe':
      for (let i = 1; i < args.argc; i++) out.push({ value: arg(i), pattern: false, arg: i });
      break;
    case 'psubscribe':
      for (let i = 1; i < args.argc; i++) out.push({ value: arg(i), pattern: true, arg: i });
      break;
    case 'publish':
    case 'spublish':
      if (args.argc > 1) out.push({ value: arg(1), pattern: false, arg: 1 });
      break;
    default:
      break;
  }
  return out;
}
