// Commands the proxy answers itself: connection state (PING, ECHO, QUIT, RESET, SELECT, AUTH, HELLO,
// CLIENT ...), introspection (COMMAND, INFO, TIME), cluster-wide ones (DBSIZE, FLUSHDB, FLUSHALL sent
// to every group master) and Codis's SLOTSMAPPING / SLOTSHASHKEY.
import type { Request } from '../resp/request-parser.js';
import { encode, errorReply, OK, PONG, bulkReply, intReply, bulk, int, arr, map, nil, encodeCommand, type RespValue } from '../resp/encode.js';
import { integerOf, isErrorReply } from '../resp/reply-scanner.js';
import { slotOf } from '../slots/hash.js';
import type { CommandSpec } from '../commands/keys.js';
import { commandReply } from '../commands/command-reply.js';
import type { Session } from './session.js';
import type { CommandStats } from './stats.js';
import { infoReply, keyspaceOf } from './info.js';
import { VERSION, REDIS_COMPAT_VERSION } from '../version.js';

const arg = (req: Request, i: number): Buffer => req.buf.subarray(req.offs[2 * i]!, req.offs[2 * i + 1]!);
const argStr = (req: Request, i: number): string => req.buf.toString('utf8', req.offs[2 * i]!, req.offs[2 * i + 1]!);
const argUpper = (req: Request, i: number): string => argStr(req, i).toUpperCase();

function constantTimeEqual(a: string, b: string): boolean {
  const x = Buffer.from(a), y = Buffer.from(b);
  if (x.length !== y.length) return false;
  let d = 0;
  for (let i = 0; i < x.length; i++) d |= x[i]! ^ y[i]!;
  return d === 0;
}

/** Checks a username/password against session_auth; returns an error message or null. */
function authenticate(s: Session, user: string | null, pass: string): string | null {
  const want = s.ctx.config.sessionAuth;
  if (want === '') {
    if (user === null) return 'ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?';
    if (user === 'default') { s.authed = true; return null; }
    return 'WRONGPASS invalid username-password pair or user is disabled.';
  }
  if ((user === null || user === 'default') && constantTimeEqual(pass, want)) { s.authed = true; return null; }
  return 'WRONGPASS invalid username-password pair or user is disabled.';
}

export function clientListLine(s: Session): string {
  const now = Date.now();
  return `id=${s.id} addr=${s.remote} laddr=${s.ctx.config.proxyAddr} fd=0 name=${s.name} age=${Math.floor((now - s.createdAt) / 1000)} ` +
    `idle=${Math.floor((now - s.lastActive) / 1000)} flags=N db=${s.db} sub=0 psub=0 ssub=0 multi=-1 qbuf=0 qbuf-free=0 argv-mem=0 ` +
    `multi-mem=0 rbs=0 rbp=0 obl=0 oll=${s.queued} omem=0 tot-mem=0 events=r cmd=${s.lastCommand || 'NULL'} user=default redir=-1 ` +
    `resp=${s.proto} lib-name=${s.libName} lib-ver=${s.libVer}`;
}

function helloReply(s: Session): RespValue {
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
function toAllMasters(s: Session, cmd: CommandStats, args: string[], merge: (replies: Buffer[]) => Buffer): void {
  const masters = s.ctx.router.masters();
  if (!s.ctx.online || masters.length === 0) { s.reply(cmd, errorReply('ERR proxy is not online yet (no slot table)')); return; }
  const raw = encodeCommand(args);
  s.fanout(masters.map((addr) => ({ addr, raw })), s.defer(cmd), (replies) => {
    const bad = replies.findIndex(isErrorReply);
    if (bad >= 0) return errorReply(`ERR ${args[0]} failed on ${masters[bad]}: ${replies[bad]!.toString('utf8', 1).trim()}`);
    return merge(replies);
  });
}

function handleClient(s: Session, spec: CommandSpec, req: Request, cmd: CommandStats): void {
  const reply = (r: Buffer): void => s.reply(cmd, r);
  switch (spec.name) {
    case 'client|setname': {
      const name = argStr(req, 2);
      if (/[\s]/.test(name) || /[^\x21-\x7e]/.test(name)) return reply(errorReply('ERR Client names cannot contain spaces, newlines or special characters.'));
      s.name = name;
      return reply(OK);
    }
    case 'client|getname': return reply(s.name ? bulkReply(s.name) : encode(nil, s.proto));
    case 'client|id': return reply(intReply(s.id));
    case 'client|setinfo': {
      const attr = argUpper(req, 2), val = argStr(req, 3);
      if (/[\s]/.test(val)) return reply(errorReply(`ERR ${attr} cannot contain spaces, newlines or special characters.`));
      if (attr === 'LIB-NAME') s.libName = val;
      else if (attr === 'LIB-VER') s.libVer = val;
      else return reply(errorReply(`ERR Unrecognized option '${argStr(req, 2)}'`));
      return reply(OK);
    }
    case 'client|info': return reply(encode({ t: 'verbatim', v: clientListLine(s) + '\n' }, s.proto));
    case 'client|list': {
      let sessions = [...s.ctx.sessions] as Session[];
      if (req.argc >= 4 && argUpper(req, 2) === 'ID') {
        const ids = new Set<number>();
        for (let i = 3; i < req.argc; i++) ids.add(Number(argStr(req, i)));
        sessions = sessions.filter((x) => ids.has(x.id));
      } else if (req.argc >= 4 && argUpper(req, 2) === 'TYPE') {
        if (!['NORMAL', 'MASTER', 'REPLICA', 'PUBSUB'].includes(argUpper(req, 3))) return reply(errorReply(`ERR Unknown client type '${argStr(req, 3)}'`));
        if (argUpper(req, 3) !== 'NORMAL') sessions = [];
      } else if (req.argc !== 2) return reply(errorReply('ERR syntax error'));
      return reply(encode({ t: 'verbatim', v: sessions.map((x) => clientListLine(x) + '\n').join('') }, s.proto));
    }
    default: return reply(errorReply(`ERR command '${spec.display}' is not supported by the proxy`));
  }
}

export function handleLocal(s: Session, spec: CommandSpec, req: Request, cmd: CommandStats): void {
  const reply = (r: Buffer): void => s.reply(cmd, r);
  const cfg = s.ctx.config;
  if (spec.name.startsWith('client|')) return handleClient(s, spec, req, cmd);
  if (spec.name === 'command' || spec.name.startsWith('command|')) return reply(commandReply(req, s.proto));
  switch (spec.name) {
    case 'ping':
      if (req.argc === 1) return reply(PONG);
      return reply(bulkReply(arg(req, 1)));
    case 'echo': return reply(bulkReply(arg(req, 1)));
    case 'quit': {
      const p = s.defer(null);
      s.markQuit(p);
      p.onReply(OK);
      return;
    }
    case 'reset':
      s.apps.reset();
      s.db = 0; s.proto = 2; s.name = ''; s.resetConns();
      s.authed = cfg.sessionAuth === '';
      return reply(Buffer.from('+RESET\r\n'));
    case 'select': {
      const txt = argStr(req, 1);
      const db = /^-?\d+$/.test(txt) ? Number(txt) : NaN;
      if (!Number.isInteger(db)) return reply(errorReply('ERR value is not an integer or out of range'));
      if (db < 0 || db >= cfg.databases) return reply(errorReply(`ERR DB index is out of range (the proxy accepts DB 0..${cfg.databases - 1})`));
      s.db = db;
      s.resetConns();
      return reply(OK);
    }
    case 'auth': {
      const err = req.argc === 2 ? authenticate(s, null, argStr(req, 1)) : req.argc === 3 ? authenticate(s, argStr(req, 1), argStr(req, 2)) : 'ERR syntax error';
      return reply(err === null ? OK : errorReply(err));
    }
    case 'hello': {
      let proto: 2 | 3 = s.proto;
      if (req.argc >= 2) {
        const v = argStr(req, 1);
        if (!/^\d+$/.test(v)) return reply(errorReply('ERR Protocol version is not an integer or out of range'));
        if (v !== '2' && v !== '3') return reply(errorReply('NOPROTO unsupported protocol version'));
        proto = v === '3' ? 3 : 2;
      }
      let name: string | null = null;
      for (let i = 2; i < req.argc; i++) {
        const opt = argUpper(req, i);
        if (opt === 'AUTH' && i + 2 < req.argc) {
          const err = authenticate(s, argStr(req, i + 1), argStr(req, i + 2));
          if (err !== null) return reply(errorReply(err));
          i += 2;
        } else if (opt === 'SETNAME' && i + 1 < req.argc) {
          name = argStr(req, i + 1);
          if (/[^\x21-\x7e]/.test(name)) return reply(errorReply('ERR Client names cannot contain spaces, newlines or special characters.'));
          i += 1;
        } else return reply(errorReply(`ERR Syntax error in HELLO option '${argStr(req, i)}'`));
      }
      if (!s.authed) return reply(errorReply('NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time'));
      if (name !== null) s.name = name;
      if (proto !== s.proto) { s.proto = proto; s.resetConns(); }
      return reply(encode(helloReply(s), s.proto));
    }
    case 'time': {
      const now = Date.now();
      const us = Math.floor(performance.timeOrigin * 1000 + performance.now() * 1000) % 1_000_000;
      return reply(encode(arr([bulk(String(Math.floor(now / 1000))), bulk(String(us))]), s.proto));
    }
    case 'info': {
      const sections: string[] = [];
      for (let i = 1; i < req.argc; i++) sections.push(argStr(req, i).toLowerCase());
      const wantKeyspace = sections.length === 0 || sections.some((x) => ['keyspace', 'all', 'everything', 'default'].includes(x));
      if (!wantKeyspace || !s.ctx.online || s.ctx.router.masters().length === 0) {
        return reply(encode({ t: 'verbatim', v: infoReply(s.ctx, sections, null) }, s.proto));
      }
      return toAllMasters(s, cmd, ['INFO', 'keyspace'], (replies) =>
        encode({ t: 'verbatim', v: infoReply(s.ctx, sections, keyspaceOf(replies)) }, s.proto));
    }
    case 'dbsize':
      return toAllMasters(s, cmd, ['DBSIZE'], (replies) => intReply(replies.reduce((a, r) => a + (integerOf(r) ?? 0), 0)));
    case 'flushdb':
    case 'flushall': {
      if (!cfg.allowFlush) return reply(errorReply(`ERR ${spec.display} is disabled on this proxy (session_allow_flush = false)`));
      const args = [spec.name.toUpperCase()];
      for (let i = 1; i < req.argc; i++) {
        const o = argUpper(req, i);
        if (o !== 'ASYNC' && o !== 'SYNC') return reply(errorReply('ERR syntax error'));
        args.push(o);
      }
      return toAllMasters(s, cmd, args, () => OK);
    }
    case 'slotsmapping': {
      const router = s.ctx.router;
      const entry = (id: number): RespValue => {
        const sl = router.slot(id);
        return arr([int(id), bulk(sl.backend_addr ?? ''), bulk(sl.migrate_from ?? ''), arr((sl.replica_groups ?? []).map((g) => arr(g.map((a) => bulk(a)))))]);
      };
      if (req.argc === 1) return reply(encode(arr(Array.from({ length: 1024 }, (_, i) => entry(i))), s.proto));
      const txt = argStr(req, 1);
      const id = /^\d+$/.test(txt) ? Number(txt) : -1;
      if (id < 0 || id >= 1024) return reply(errorReply(`ERR invalid slot id '${txt}', must be 0..1023`));
      return reply(encode(entry(id), s.proto));
    }
    case 'slowlog|get': {
      let count = 10;
      if (req.argc >= 3) {
        const t = argStr(req, 2);
        if (!/^-?\d+$/.test(t)) return reply(errorReply('ERR value is not an integer or out of range'));
        count = Number(t);
      }
      return reply(encode(s.ctx.stats.slowlog.get(count), s.proto));
    }
    case 'readonly': s.replicaReadsOptIn = true; return reply(OK);
    case 'readwrite': s.replicaReadsOptIn = false; return reply(OK);
    case 'slowlog|len': return reply(intReply(s.ctx.stats.slowlog.length));
    case 'slowlog|reset': s.ctx.stats.slowlog.reset(); return reply(OK);
    case 'slotshashkey': {
      const out: RespValue[] = [];
      for (let i = 1; i < req.argc; i++) out.push(int(slotOf(arg(req, i))));
      return reply(encode(arr(out), s.proto));
    }
    default:
      return reply(errorReply(`ERR command '${spec.display}' is not supported by the proxy`));
  }
}

