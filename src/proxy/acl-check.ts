// The one ACL permission check of the proxy's request path, used where a request is routed
// (dispatcher.ts) and where it is queued inside MULTI (apps/transactions.ts), so that a command
// queued in a transaction is held to the same rights as one sent alone.
import type { CommandSpec } from '../commands/keys.js';
import type { Request } from '../resp/request-parser.js';
import type { AclUser } from '../acl/user.js';
import type { ProxyContext } from './context.js';

/** Redis's "NOPERM ..." line (counted in the stats) when `user` may not run `req`, else null. */
export function aclRefusal(ctx: ProxyContext, user: AclUser | null, spec: CommandSpec, req: Request): string | null {
  // The default unrestricted user costs one property check.
  if (user === null || user.root.unrestricted) return null;
  const denied = ctx.acl.deny(user, spec, req);
  if (denied !== null) ctx.stats.aclDenied++;
  return denied;
}
