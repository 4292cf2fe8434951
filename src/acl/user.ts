// One ACL user as Redis 7 keeps it: on/off, passwords (SHA-256 hex), nopass, and one root selector of
// command/key/channel permissions. `apply` takes ACL SETUSER rules with Redis's semantics; `describe`
// and `getUser` render the user the way ACL LIST and ACL GETUSER do. Selectors in parentheses (Redis
// 7's extra selectors) are refused with a clear error: the proxy supports the root selector only.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { ArgsView } from '../commands/table.js';
import type { AclCommand } from './command-index.js';
import { AclSelector, RULE_ERROR_TEXT, type Denial, type RuleError } from './selector.js';

export const sha256hex = (pw: string | Buffer): string => createHash('sha256').update(pw).digest('hex');

type UserRuleError = RuleError | 'no-such-password' | 'bad-hash' | 'selectors';

const USER_ERROR_TEXT: Record<UserRuleError, string> = {
  ...RULE_ERROR_TEXT,
  'no-such-password': 'The password you are trying to remove from the user does not exist',
  'bad-hash': 'The password hash must be exactly 64 characters and contain only lowercase hexadecimal characters',
  selectors: 'Selectors in parentheses are not supported by the Shardis proxy (use the root permissions)',
};

/** The full Redis error for a refused rule (ACL SETUSER's wording). */
export const ruleErrorText = (op: string, e: UserRuleError): string => `ERR Error in ACL SETUSER modifier '${op}': ${USER_ERROR_TEXT[e]}`;

export class AclUser {
  /** Redis keeps "on" and "off" as two flags; a new user has only "off". */
  enabled = false;
  disabled = true;
  nopass = false;
  sanitizePayload = false;
  skipSanitizePayload = false;
  passwords: string[] = [];
  root = new AclSelector();

  constructor(readonly name: string) {}

  /** Applies one rule; returns Redis's error text (without "ERR ...modifier") or null. */
  apply(op: string): UserRuleError | null {
    if (op === '') return null;
    const lower = op.toLowerCase();
    switch (lower) {
      case 'on':
        this.enabled = true;
        this.disabled = false;
        return null;
      case 'off':
        this.enabled = false;
        this.disabled = true;
        return null;
      case 'nopass':
        this.nopass = true;
        this.passwords = [];
        return null;
      case 'resetpass':
        this.nopass = false;
        this.passwords = [];
        return null;
      case 'sanitize-payload':
        this.sanitizePayload = true;
        this.skipSanitizePayload = false;
        return null;
      case 'skip-sanitize-payload':
        this.skipSanitizePayload = true;
        this.sanitizePayload = false;
        return null;
      case 'clearselectors':
        return null;
      case 'reset':
        this.apply('resetpass');
        this.root.apply('resetkeys');
        this.root.apply('resetchannels');
        this.apply('off');
        this.apply('sanitize-payload');
        this.root.apply('-@all');
        return null;
      default:
        break;
    }
    const c = op[0];
    if (c === '>' || c === '#') {
      let hash: string;
      if (c === '>') hash = sha256hex(Buffer.from(op.slice(1), 'utf8'));
      else {
        hash = op.slice(1);
        if (!/^[0-9a-f]{64}$/.test(hash)) return 'bad-hash';
      }
      if (!this.passwords.includes(hash)) this.passwords.push(hash);
      this.nopass = false;
      return null;
    }
    if (c === '<' || c === '!') {
      let hash: string;
      if (c === '<') hash = sha256hex(Buffer.from(op.slice(1), 'utf8'));
      else {
        hash = op.slice(1);
        if (!/^[0-9a-f]{64}$/.test(hash)) return 'bad-hash';
      }
      const i = this.passwords.indexOf(hash);
      if (i < 0) return 'no-such-password';
      this.passwords.splice(i, 1);
      return null;
    }
    if (c === '(' && op.endsWith(')')) return 'selectors';
    return this.root.apply(op);
  }

  /** Applies rules in order; stops at the first bad one and returns Redis's full error line. */
  applyAll(rules: readonly string[]): string | null {
    for (const r of rules) {
      const e = this.apply(r);
      if (e) return ruleErrorText(r, e);
    }
    return null;
  }

  /** Whether `password` authenticates this user (constant time over the stored hashes). */
  checkPassword(password: Buffer): boolean {
    if (!this.enabled) return false;
    if (this.nopass) return true;
    const given = Buffer.from(sha256hex(password), 'latin1');
    let ok = false;
    for (const h of this.passwords) if (timingSafeEqual(given, Buffer.from(h, 'latin1'))) ok = true;
    return ok;
  }

  check(cmd: AclCommand, args: ArgsView): Denial | null {
    return this.root.check(cmd, args);
  }

  private flagNames(): string[] {
    const f: string[] = [];
    if (this.enabled) f.push('on');
    if (this.disabled) f.push('off');
    if (this.nopass) f.push('nopass');
    if (this.skipSanitizePayload) f.push('skip-sanitize-payload');
    if (this.sanitizePayload) f.push('sanitize-payload');
    return f;
  }

  /** One ACL LIST line: "user alice on #<sha> ~cache:* resetchannels -@all +get". */
  describe(): string {
    const parts = ['user', this.name, ...this.flagNames(), ...this.passwords.map((p) => `#${p}`)];
    const s = this.root;
    if (s.allKeys) parts.push('~*');
    else for (const k of s.describeKeys().split(' ')) if (k !== '') parts.push(k);
    if (s.allChannels) parts.push('&*');
    else {
      parts.push('resetchannels');
      for (const c of s.channels) parts.push(`&${c}`);
    }
    parts.push(s.describeCommands());
    return parts.join(' ');
  }

  /** ACL GETUSER's fields, in Redis's order (a map in RESP3, a flat array in RESP2). */
  getUser(): Array<[string, string | string[]]> {
    return [
      ['flags', this.flagNames()],
      ['passwords', this.passwords.slice()],
      ['commands', this.root.describeCommands()],
      ['keys', this.root.describeKeys()],
      ['channels', this.root.describeChannels()],
      ['selectors', []],
    ];
  }
}
