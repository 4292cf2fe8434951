// Commands the proxy answers itself: connection state (PING, ECHO, QUIT, RESET, SELECT, AUTH, HELLO,
// CLIENT ...), introspection (COMMAND, INFO, TIME), cluster-wide ones (DBSIZE, FLUSHDB, FLUSHALL sent
// to every group master) and Codis's SLOTSMAPPING / SLOTSHASHKEY. One handler per name of the
// command table's LOCAL_COMMANDS, in a map typed against that list: a missing or extra handler fails
// the build. A handler returns the reply, or undefined when it answers later itself (fan-outs).
import type { Request } from '../resp/request-parser.js';
import {
  encode,
  errorReply,
  OK,
  PONG,
  bulkReply,
  intReply,
  bulk,
  int,
  arr,
  map,
  nil,
  encodeCommand,
  type RespValue,
} from '../resp/encode.js';
import { integerOf, isErrorReply } from '../resp/reply-scanner.js';
import { slotOf } from '../slots/hash.js';
import { argEnd, argStart, type CommandSpec } from '../commands/keys.js';
import { commandReply } from '../commands/command-reply.js';
import type { SessionHost } from './session-host.js';
import type { SessionInfo } from './context.js';
import { allCommands, type LocalCommandName } from '../commands/table.js';
import type { CommandStats } from './stats.js';
import { infoReply, keyspaceOf } from './info.js';
import { VERSION, REDIS_COMPAT_VERSION } from '../version.js';
import { parseRedisInt32, parseRedisInteger } from '../commands/redis-int.js';
import { ACL_HANDLERS } from './acl-commands.js';
import { ADMIN_HANDLERS, clientType } from './admin-commands.js';
import { WRONGPASS } from '../acl/users.js';
import { FanoutTo } from './reply-queue.js';

// Callers check argc first; an index past it reads as an empty argument.
const arg = (req: Request, i: number): Buffer => req.buf.subarray(argStart(req, i), argEnd(req, i));
const argStr = (req: Request, i: number): string => req.buf.toString('utf8', argStart(req, i), argEnd(req, i));
const argUpper = (req: Request, i: number): string => argStr(req, i).toUpperCase();

/**
 * AUTH / HELLO AUTH against the proxy's users (src/acl); on success the session runs as that user.
 * `user` null: the one-argument AUTH form (the default user). Returns Redis's error or null.
 */
function authenticate(s: SessionHost, user: string | null, pass: Buffer): string | null {
  const acl = s.ctx.acl;
  if (user === null && acl.get('default')?.nopass === true) {
    return 'ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?';
  }
  const u = acl.authenticate(user ?? 'default', pass);
  if (u === undefined) return WRONGPASS;
  s.aclUser = u;
  s.authed = true;
  return null;
}

export function clientListLine(s: SessionInfo, laddr: string): string {
  const now = Date.now();
  return (
    `id=${s.id} addr=${s.remote} laddr=${laddr} fd=0 name=${s.name} age=${Math.floor((now - s.createdAt) / 1000)} ` +
    `idle=${Math.floor((now - s.lastActive) / 1000)} flags=N db=${s.db} sub=0 psub=0 ssub=0 multi=-1 qbuf=0 qbuf-free=0 argv-mem=0 ` +
    `multi-mem=0 rbs=0 rbp=0 obl=0 oll=${s.queued} omem=0 tot-mem=0 events=r cmd=${s.lastCommand || 'NULL'} user=${s.aclUser?.name ?? 'default'} redir=-1 ` +
    `resp=${s.proto} lib-name=${s.libName} lib-ver=${s.libVer}`
  );
}

function helloReply(s: SessionHost): RespValue {
  return map([
    [bulk('server'), bulk('redis')],
    [bulk('version'), bulk(REDIS_COMPAT_VERSION)],
    [bulk('proto'), int(s.proto)],
    [bulk('id'), int(s.id)],
    [bulk('mode'), bulk('standalone')],
    [bulk('role'), bulk('master')],
    [bulk('modules'), arr([])],
    [bulk('proxy'), bulk(`shardis ${VERSION}`)],
  ]);
}

/** Sends `args` to every group master on the session's db and merges the replies. */
function toAllMasters(
  s: SessionHost,
  req: Request,
  cmd: CommandStats,
  args: string[],
  merge: (replies: Buffer[]) => Buffer,
): Buffer | undefined {
  const masters = s.ctx.placement.masters();
  if (!s.ctx.online || masters.length === 0) return errorReply('ERR proxy is not online yet (no slot table)');
  const raw = encodeCommand(args);
  const all = new FanoutTo(masters, raw, (replies) => {
    const bad = replies.findIndex(isErrorReply);
    if (bad >= 0) return errorReply(`ERR ${args[0]} failed on ${masters[bad]}: ${(replies[bad]?.toString('utf8', 1) ?? '').trim()}`);
    return merge(replies);
  });
  s.fanout(all, s.defer(cmd, req));
  return undefined;
}

/** Answers one local command: the reply, or undefined when the handler queued it itself. */
export type LocalHandler = (s: SessionHost, req: Request, cmd: CommandStats, spec: CommandSpec) => Buffer | undefined;

const CLIENT_NAME_ERROR = 'ERR Client names cannot contain spaces, newlines or special characters.';
const RESET_REPLY = Buffer.from('+RESET\r\n');

const HANDLERS: { readonly [name in LocalCommandName]: LocalHandler } = {
  ...ACL_HANDLERS,
  ...ADMIN_HANDLERS,
  ping: (s, req, _c, spec) => {
    // Front-door health check (src/frontdoor/README.md): a proxy without a slot table or going offline fails PING.
    if (!s.ctx.online) return errorReply('LOADING proxy has no slot table yet');
    if (s.ctx.draining === true) return errorReply('ERR proxy is draining (going offline): reconnect to another proxy');
    if (req.argc === 1) return PONG;
    if (req.argc > 2) return errorReply(spec.arityError);
    return bulkReply(arg(req, 1));
  },
  echo: (_s, req) => bulkReply(arg(req, 1)),
  quit: (s) => {
    // Later requests are not read; the session ends once every reply so far is written.
    s.reply(null, OK);
    s.drain();
    return undefined;
  },
  reset: (s) => {
    s.apps.reset();
    s.db = 0;
    s.proto = 2;
    s.name = '';
    s.resetConns();
    s.tx.reset();
    s.replicaReadsOptIn = false;
    s.aclUser = s.ctx.acl.initialUser() ?? null;
    s.authed = s.aclUser !== null;
    return RESET_REPLY;
  },
  select: (s, req) => {
    const txt = argStr(req, 1);
    const db = parseRedisInt32(txt);
    if (db === null) {
      return errorReply(
        parseRedisInteger(txt) === null
          ? 'ERR value is not an integer or out of range'
          : 'ERR value is out of range, value must between -2147483648 and 2147483647',
      );
    }
    if (db < 0 || db >= s.ctx.config.databases) return errorReply('ERR DB index is out of range');
    s.db = db;
    s.resetConns();
    return OK;
  },
  auth: (s, req) => {
    const err =
      req.argc === 2
        ? authenticate(s, null, arg(req, 1))
        : req.argc === 3
          ? authenticate(s, argStr(req, 1), arg(req, 2))
          : 'ERR syntax error';
    return err === null ? OK : errorReply(err);
  },
  hello: (s, req) => {
    // Redis's order: version, every option's syntax, then AUTH, then the auth check, then the name.
    let proto: 2 | 3 = s.proto;
    if (req.argc >= 2) {
      const v = parseRedisInteger(argStr(req, 1));
      if (v === null) return errorReply('ERR Protocol version is not an integer or out of range');
      if (v !== 2 && v !== 3) return errorReply('NOPROTO unsupported protocol version');
      proto = v;
    }
    let name: string | null = null;
    let user: string | null = null,
      pass: Buffer = Buffer.alloc(0);
    for (let i = 2; i < req.argc; i++) {
      const opt = argUpper(req, i);
      if (opt === 'AUTH' && i + 2 < req.argc) {
        user = argStr(req, i + 1);
        pass = arg(req, i + 2);
        i += 2;
      } else if (opt === 'SETNAME' && i + 1 < req.argc) {
        name = argStr(req, i + 1);
        i += 1;
      } else return errorReply(`ERR Syntax error in HELLO option '${argStr(req, i)}'`);
    }
    if (user !== null) {
      const err = authenticate(s, user, pass);
      if (err !== null) return errorReply(err);
    }
    if (!s.authed)
      return errorReply(
        'NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time',
      );
    if (name !== null && /[^\x21-\x7e]/.test(name)) return errorReply(CLIENT_NAME_ERROR);
    if (name !== null) s.name = name;
    if (proto !== s.proto) {
      s.proto = proto;
      s.resetConns();
    }
    return encode(helloReply(s), s.proto);
  },
  'client|setname': (s, req) => {
    const name = argStr(req, 2);
    if (/[\s]/.test(name) || /[^\x21-\x7e]/.test(name)) return errorReply(CLIENT_NAME_ERROR);
    s.name = name;
    return OK;
  },
  'client|getname': (s) => (s.name ? bulkReply(s.name) : encode(nil, s.proto)),
  'client|id': (s) => intReply(s.id),
  'client|setinfo': (s, req) => {
    const attr = argUpper(req, 2),
      val = argStr(req, 3);
    if (/[\s]/.test(val)) return errorReply(`ERR ${attr} cannot contain spaces, newlines or special characters.`);
    if (attr === 'LIB-NAME') s.libName = val;
    else if (attr === 'LIB-VER') s.libVer = val;
    else return errorReply(`ERR Unrecognized option '${argStr(req, 2)}'`);
    return OK;
  },
  'client|info': (s) => encode({ t: 'verbatim', v: clientListLine(s, s.ctx.config.proxyAddr) + '\n' }, s.proto),
  'client|list': (s, req) => {
    let sessions = [...s.ctx.sessions];
    if (req.argc === 4 && argUpper(req, 2) === 'TYPE') {
      if (!['NORMAL', 'MASTER', 'REPLICA', 'SLAVE', 'PUBSUB'].includes(argUpper(req, 3)))
        return errorReply(`ERR Unknown client type '${argStr(req, 3)}'`);
      const t = argUpper(req, 3).toLowerCase();
      sessions = sessions.filter((x) => clientType(x) === t);
    } else if (req.argc > 3 && argUpper(req, 2) === 'ID') {
      const ids: number[] = [];
      for (let i = 3; i < req.argc; i++) {
        const id = parseRedisInteger(argStr(req, i));
        if (id === null) return errorReply('ERR Invalid client ID');
        ids.push(id);
      }
      // Redis lists them in the order asked (and once per mention).
      const byId = new Map(sessions.map((x) => [x.id, x]));
      sessions = ids.flatMap((id) => {
        const x = byId.get(id);
        return x ? [x] : [];
      });
    } else if (req.argc !== 2) return errorReply('ERR syntax error');
    return encode({ t: 'verbatim', v: sessions.map((x) => clientListLine(x, s.ctx.config.proxyAddr) + '\n').join('') }, s.proto);
  },
  // COMMAND and every COMMAND subcommand.
  command: (s, req) => commandReply(req, s.proto),
  time: (s) => {
    const now = Date.now();
    const us = Math.floor(performance.timeOrigin * 1000 + performance.now() * 1000) % 1_000_000;
    return encode(arr([bulk(String(Math.floor(now / 1000))), bulk(String(us))]), s.proto);
  },
  info: (s, req, cmd) => {
    const sections: string[] = [];
    for (let i = 1; i < req.argc; i++) sections.push(argStr(req, i).toLowerCase());
    const wantKeyspace = sections.length === 0 || sections.some((x) => ['keyspace', 'all', 'everything', 'default'].includes(x));
    if (!wantKeyspace || !s.ctx.online || s.ctx.placement.masters().length === 0) {
      return encode({ t: 'verbatim', v: infoReply(s.ctx, sections, null) }, s.proto);
    }
    return toAllMasters(s, req, cmd, ['INFO', 'keyspace'], (replies) =>
      encode({ t: 'verbatim', v: infoReply(s.ctx, sections, keyspaceOf(replies)) }, s.proto),
    );
  },
  dbsize: (s, req, cmd) =>
    toAllMasters(s, req, cmd, ['DBSIZE'], (replies) => intReply(replies.reduce((a, r) => a + (integerOf(r) ?? 0), 0))),
  flushdb: (s, req, cmd, spec) => flush(s, req, cmd, spec),
  flushall: (s, req, cmd, spec) => flush(s, req, cmd, spec),
  'slowlog|get': (s, req) => {
    let count = 10;
    if (req.argc > 3) return errorReply("ERR unknown subcommand or wrong number of arguments for 'GET'. Try SLOWLOG HELP.");
    if (req.argc === 3) {
      const t = parseRedisInteger(argStr(req, 2));
      if (t === null || t < -1) return errorReply('ERR count should be greater than or equal to -1');
      count = t;
    }
    return encode(s.ctx.stats.slowlog.get(count), s.proto);
  },
  'slowlog|len': (s) => intReply(s.ctx.stats.slowlog.length),
  'slowlog|reset': (s) => {
    s.ctx.stats.slowlog.reset();
    return OK;
  },
  readonly: (s) => {
    s.replicaReadsOptIn = true;
    return OK;
  },
  readwrite: (s) => {
    s.replicaReadsOptIn = false;
    return OK;
  },
  slotsmapping: (s, req) => {
    const router = s.ctx.router;
    const entry = (id: number): RespValue => {
      const sl = router.slot(id);
      return arr([
        int(id),
        bulk(sl.backend_addr ?? ''),
        bulk(sl.migrate_from ?? ''),
        arr((sl.replica_groups ?? []).map((g) => arr(g.map((a) => bulk(a))))),
      ]);
    };
    if (req.argc === 1) return encode(arr(Array.from({ length: 1024 }, (_, i) => entry(i))), s.proto);
    const txt = argStr(req, 1);
    const id = /^\d+$/.test(txt) ? Number(txt) : -1;
    if (id < 0 || id >= 1024) return errorReply(`ERR invalid slot id '${txt}', must be 0..1023`);
    return encode(entry(id), s.proto);
  },
  slotshashkey: (s, req) => {
    const out: RespValue[] = [];
    for (let i = 1; i < req.argc; i++) out.push(int(slotOf(arg(req, i))));
    return encode(arr(out), s.proto);
  },
};

function flush(s: SessionHost, req: Request, cmd: CommandStats, spec: CommandSpec): Buffer | undefined {
  if (!s.ctx.config.allowFlush) return errorReply(`ERR ${spec.display} is disabled on this proxy (session_allow_flush = false)`);
  const args = [spec.name.toUpperCase()];
  if (req.argc > 2) return errorReply('ERR syntax error');
  if (req.argc === 2) {
    const o = argUpper(req, 1);
    if (o !== 'ASYNC' && o !== 'SYNC') return errorReply('ERR syntax error');
    args.push(o);
  }
  return toAllMasters(s, req, cmd, args, () => OK);
}

/** Handler per local spec (a subcommand without its own entry uses its container's: COMMAND DOCS...). */
const BY_SPEC = new Map<CommandSpec, LocalHandler>();
for (const spec of allCommands()) {
  if (spec.policy.kind !== 'local') continue;
  const h =
    (HANDLERS as { readonly [name: string]: LocalHandler | undefined })[spec.name] ??
    (spec.parent !== undefined ? (HANDLERS as { readonly [name: string]: LocalHandler | undefined })[spec.parent] : undefined);
  if (h === undefined) throw new Error(`local command '${spec.name}' has no handler`);
  BY_SPEC.set(spec, h);
}

/** Runs a command whose table policy is 'local'. */
export function runLocal(s: SessionHost, spec: CommandSpec, req: Request, cmd: CommandStats): void {
  const h = BY_SPEC.get(spec);
  const r = h === undefined ? errorReply(`ERR command '${spec.display}' is not supported by the proxy`) : h(s, req, cmd, spec);
  if (r !== undefined) s.reply(cmd, r);
}
