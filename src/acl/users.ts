// The proxy's client users: a registry built from `user <name> <rules...>` lines (Redis's aclfile
// syntax, from the proxy config or pushed by the dashboard), with the `default` user every
// connection starts as. It answers AUTH, the permission check before a request is routed, and the
// texts of ACL WHOAMI/LIST/USERS/GETUSER/DRYRUN. These users are the proxy's clients only: the proxy's
// own credentials towards the redis-servers (product_auth / backend user) are separate.
import type { ArgsView, CommandSpec } from '../commands/table.js';
import { aclCommandOf } from './command-index.js';
import type { Denial } from './selector.js';
import { AclUser } from './user.js';
import { argEnd, argStart } from '../commands/keys.js';

/** Redis's reply texts for denials (without the leading '-'). */
export function denialError(d: Denial, spec: CommandSpec): string {
  if (d === 'cmd') return `NOPERM this user has no permissions to run the '${spec.name}' command`;
  if (d === 'key') return 'NOPERM this user has no permissions to access one of the keys used as arguments';
  return 'NOPERM this user has no permissions to access one of the channels used as arguments';
}

export const WRONGPASS = 'WRONGPASS invalid username-password pair or user is disabled.';

export class AclUsers {
  private readonly users = new Map<string, AclUser>();

  /**
   * `lines`: aclfile lines ("user alice on >pw ~app:* +@read"); blank lines and '#' comments skipped.
   * `defaultPassword`: the legacy requirepass (session_auth) for the default user, when no line
   * defines `default`. Throws with Redis-style text naming the line on a bad rule or duplicate user.
   */
  constructor(lines: readonly string[] = [], defaultPassword = '') {
    const def = new AclUser('default');
    def.applyAll(['+@all', '~*', '&*', 'on', 'nopass']);
    if (defaultPassword !== '') def.applyAll(['resetpass', `>${defaultPassword}`]);
    this.users.set('default', def);
    const seen = new Set<string>();
    lines.forEach((raw, i) => {
      const line = raw.trim();
      if (line === '' || line.startsWith('#')) return;
      const words = line.split(/\s+/);
      if (words[0]?.toLowerCase() !== 'user' || words.length < 2) {
        throw new Error(`ACL line ${i + 1}: expected "user <name> <rules...>", got "${line}"`);
      }
      const name = words[1] as string;
      if (seen.has(name)) throw new Error(`ACL line ${i + 1}: Duplicate user '${name}' found`);
      seen.add(name);
      const u = new AclUser(name);
      const err = u.applyAll(words.slice(2));
      if (err) throw new Error(`ACL line ${i + 1}: ${err}`);
      this.users.set(name, u);
    });
  }

  get(name: string): AclUser | undefined {
    return this.users.get(name);
  }

  /** The user `name` authenticated by `password`, or undefined (answer WRONGPASS). */
  authenticate(name: string, password: Buffer): AclUser | undefined {
    const u = this.users.get(name);
    return u && u.checkPassword(password) ? u : undefined;
  }

  /** A new connection is logged in as `default` when that user is on and needs no password. */
  initialUser(): AclUser | undefined {
    const d = this.users.get('default');
    return d && d.enabled && d.nopass ? d : undefined;
  }

  /** Redis's "NOPERM ..." line for a request `user` may not run, or null. */
  deny(user: AclUser, spec: CommandSpec, args: ArgsView): string | null {
    if (user.root.unrestricted) return null;
    const cmd = aclCommandOf(spec);
    if (cmd === undefined) return null; // proxy-only commands (SLOTSMAPPING, ...) are not ACL commands
    const d = user.check(cmd, args);
    return d === null ? null : denialError(d, spec);
  }

  /** ACL DRYRUN's answer: null (allowed) or Redis's sentence naming the command, key or channel. */
  dryRun(user: AclUser, spec: CommandSpec, args: ArgsView): string | null {
    const cmd = aclCommandOf(spec);
    if (cmd === undefined) return null;
    const d = user.root.explain(cmd, args);
    if (d === null) return null;
    const argText = args.buf.toString('utf8', argStart(args, d.arg), argEnd(args, d.arg));
    if (d.kind === 'cmd') return `This user has no permissions to run the '${spec.name}' command`;
    if (d.kind === 'key') return `This user has no permissions to access the '${argText}' key`;
    return `This user has no permissions to access the '${argText}' channel`;
  }

  /** Names in Redis's order (byte order, as its radix tree iterates). */
  names(): string[] {
    return [...this.users.keys()].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
  }

  /** ACL LIST lines. */
  list(): string[] {
    return this.names().map((n) => (this.users.get(n) as AclUser).describe());
  }
}
