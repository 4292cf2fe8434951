// The ACL commands the proxy answers about its own client users (src/acl): WHOAMI, LIST, USERS,
// GETUSER, CAT, DRYRUN, GENPASS, with Redis 7.0's replies. Users are read-only at run time (they come
// from the proxy config or the dashboard), so SETUSER/DELUSER/LOAD/SAVE/LOG stay refused by the table.
import { randomBytes } from 'node:crypto';
import type { Request } from '../resp/request-parser.js';
import { encode, errorReply, OK, bulk, arr, map, nil, type RespValue } from '../resp/encode.js';
import { lookupCommand, precheckCommand } from '../commands/table.js';
import type { CommandStats } from './stats.js';
import { argEnd, argStart, type CommandSpec } from '../commands/keys.js';
import type { SessionHost } from './session-host.js';
import { ACL_CATEGORIES, commandIndex } from '../acl/command-index.js';
import { parseRedisInteger } from '../commands/redis-int.js';

type Handler = (s: SessionHost, req: Request, cmd: CommandStats, spec: CommandSpec) => Buffer | undefined;
// Callers check argc first; an index past it reads as an empty argument.
const argStr = (req: Request, i: number): string => req.buf.toString('utf8', argStart(req, i), argEnd(req, i));

/** The request's arguments from index `from` on, as a request of their own (for DRYRUN). */
function subRequest(req: Request, from: number): Request {
  return { ...req, base: req.base + 2 * from, argc: req.argc - from };
}

export const ACL_HANDLERS: Record<
  'acl|whoami' | 'acl|list' | 'acl|users' | 'acl|getuser' | 'acl|cat' | 'acl|dryrun' | 'acl|genpass',
  Handler
> = {
  'acl|whoami': (s) => encode(s.aclUser ? bulk(s.aclUser.name) : nil, s.proto),
  'acl|list': (s) => encode(arr(s.ctx.acl.list().map((l) => bulk(l))), s.proto),
  'acl|users': (s) => encode(arr(s.ctx.acl.names().map((n) => bulk(n))), s.proto),
  'acl|getuser': (s, req) => {
    const u = s.ctx.acl.get(argStr(req, 2));
    if (u === undefined) return encode(nil, s.proto);
    const fields: Array<[RespValue, RespValue]> = u
      .getUser()
      .map(([k, v]) => [bulk(k), typeof v === 'string' ? bulk(v) : arr(v.map((x) => bulk(x)))]);
    // Redis sends "flags" as a set in RESP3.
    const flags = fields[0];
    if (flags && s.proto === 3 && flags[1].t === 'array') flags[1] = { t: 'set', v: flags[1].v };
    return encode(map(fields), s.proto);
  },
  'acl|cat': (s, req) => {
    if (req.argc === 2) return encode(arr(ACL_CATEGORIES.map((c) => bulk(c))), s.proto);
    const name = argStr(req, 2).toLowerCase();
    const j = ACL_CATEGORIES.indexOf(name as (typeof ACL_CATEGORIES)[number]);
    if (j < 0) return errorReply(`ERR Unknown category '${argStr(req, 2)}'`);
    const names = commandIndex()
      .byId.filter((c) => c.categories & (1 << j))
      .map((c) => bulk(c.fullName));
    return encode(arr(names), s.proto);
  },
  'acl|dryrun': (s, req) => {
    const u = s.ctx.acl.get(argStr(req, 2));
    if (u === undefined) return errorReply(`ERR User '${argStr(req, 2)}' not found`);
    const sub = subRequest(req, 3);
    const spec = lookupCommand(sub);
    if (spec === undefined || (spec.isContainer && sub.argc >= 2)) return errorReply(`ERR Command '${argStr(req, 3)}' not found`);
    if (precheckCommand(spec, sub) !== '') return errorReply(`ERR wrong number of arguments for '${spec.name}' command`);
    const why = s.ctx.acl.dryRun(u, spec, sub);
    return why === null ? OK : encode(bulk(why), s.proto);
  },
  'acl|genpass': (s, req) => {
    let bits = 256;
    if (req.argc === 3) {
      const n = parseRedisInteger(argStr(req, 2));
      if (n === null || n <= 0 || n > 4096)
        return errorReply('ERR ACL GENPASS argument must be the number of bits for the output password, a positive number up to 4096');
      bits = n;
    }
    const hex = randomBytes(Math.ceil(bits / 8))
      .toString('hex')
      .slice(0, Math.ceil(bits / 4));
    return encode(bulk(hex), s.proto);
  },
};
