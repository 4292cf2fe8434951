// Administrative commands the proxy answers about itself, in Redis 7.0's reply shapes and error texts:
// - CLIENT KILL (old `addr` form and the filters ID, TYPE, USER, ADDR, LADDR, SKIPME) on this proxy's
//   own client sessions; CLIENT PAUSE / UNPAUSE of this proxy's sessions (client-pause.ts);
// - CONFIG GET of the settings that belong to the proxy (maxclients, timeout, databases, slowlog-*,
//   latency-monitor-threshold), from its configuration; other names match nothing, as an unknown name
//   in Redis (the servers' own settings are per group: ask a group master);
// - LATENCY LATEST / HISTORY / RESET / DOCTOR of the proxy's latency monitor (latency-monitor.ts).
// Sessions of other proxies and the backends' clients are out of reach: each proxy answers for itself.
import type { Request } from '../resp/request-parser.js';
import { encode, errorReply, OK, intReply, arr, bulk, int, map, type RespValue } from '../resp/encode.js';
import type { CommandStats } from './stats.js';
import { argEnd, argStart, type CommandSpec } from '../commands/keys.js';
import type { SessionHost } from './session-host.js';
import type { SessionInfo } from './context.js';
import { ClientPause } from './client-pause.js';
import { parseRedisInteger } from '../commands/redis-int.js';
import { globMatch } from '../acl/glob.js';
import { latencyThresholdMs } from './latency-monitor.js';

type Handler = (s: SessionHost, req: Request, cmd: CommandStats, spec: CommandSpec) => Buffer | undefined;
// Callers check argc first; an index past it reads as an empty argument.
const argStr = (req: Request, i: number): string => req.buf.toString('utf8', argStart(req, i), argEnd(req, i));
const SYNTAX = 'ERR syntax error';

/** The proxy's pause state (created on first use: contexts built without one, as in unit tests, still work). */
export function pauseOf(s: SessionHost): ClientPause {
  return (s.ctx.pause ??= new ClientPause());
}

/** Redis's client type of a proxy session: 'pubsub' while it has subscriptions, else 'normal'. */
export const clientType = (x: SessionInfo): 'normal' | 'pubsub' => (x.subscribed === true ? 'pubsub' : 'normal');

/** Closes `x`: at once, or — when it is the caller — right after the caller's reply is written. */
function kill(s: SessionHost, x: SessionInfo): void {
  if (x === s) queueMicrotask(() => s.drain());
  else x.close();
}

function clientKill(s: SessionHost, req: Request): Buffer {
  const sessions = [...s.ctx.sessions];
  if (req.argc === 3) {
    // Old form: CLIENT KILL addr:port.
    const addr = argStr(req, 2);
    const x = sessions.find((y) => y.remote === addr);
    if (x === undefined) return errorReply('ERR No such client');
    kill(s, x);
    return OK;
  }
  if ((req.argc - 2) % 2 !== 0) return errorReply(SYNTAX);
  const tests: Array<(x: SessionInfo) => boolean> = [];
  let skipMe = true;
  for (let i = 2; i < req.argc; i += 2) {
    const opt = argStr(req, i).toLowerCase(),
      v = argStr(req, i + 1);
    switch (opt) {
      case 'id': {
        const id = parseRedisInteger(v);
        if (id === null || id < 1) return errorReply('ERR client-id should be greater than 0');
        tests.push((x) => x.id === id);
        break;
      }
      case 'type': {
        const t = v.toLowerCase();
        if (!['normal', 'pubsub', 'master', 'replica', 'slave'].includes(t)) return errorReply(`ERR Unknown client type '${v}'`);
        tests.push((x) => clientType(x) === t);
        break;
      }
      case 'user': {
        if (s.ctx.acl.get(v) === undefined) return errorReply(`ERR No such user '${v}'`);
        tests.push((x) => x.aclUser?.name === v);
        break;
      }
      case 'addr':
        tests.push((x) => x.remote === v);
        break;
      case 'laddr':
        tests.push(() => s.ctx.config.proxyAddr === v);
        break;
      case 'skipme': {
        const t = v.toLowerCase();
        if (t !== 'yes' && t !== 'no') return errorReply(SYNTAX);
        skipMe = t === 'yes';
        break;
      }
      default:
        return errorReply(SYNTAX);
    }
  }
  let n = 0;
  for (const x of sessions) {
    if ((skipMe && x === s) || !tests.every((t) => t(x))) continue;
    kill(s, x);
    n++;
  }
  return intReply(n);
}

function clientPause(s: SessionHost, req: Request): Buffer {
  const ms = parseRedisInteger(argStr(req, 2));
  if (ms === null) return errorReply('ERR timeout is not an integer or out of range');
  if (ms < 0) return errorReply('ERR timeout is negative');
  let all = true;
  if (req.argc === 4) {
    const m = argStr(req, 3).toUpperCase();
    if (m !== 'WRITE' && m !== 'ALL') return errorReply('ERR CLIENT PAUSE mode must be WRITE or ALL');
    all = m === 'ALL';
  } else if (req.argc > 4)
    return errorReply(`ERR unknown subcommand or wrong number of arguments for '${argStr(req, 1)}'. Try CLIENT HELP.`);
  pauseOf(s).pause(ms, all);
  return OK;
}

/** The proxy's own settings, under Redis's names (CONFIG GET). */
function proxySettings(s: SessionHost): Array<[string, string]> {
  const c = s.ctx.config;
  return [
    ['maxclients', String(c.maxClients)],
    ['timeout', String(Math.floor(c.sessionRecvTimeout / 1000))],
    ['databases', String(c.databases)],
    ['slowlog-log-slower-than', String(c.slowlogSlowerThan)],
    ['slowlog-max-len', String(c.slowlogMaxLen)],
    ['latency-monitor-threshold', String(latencyThresholdMs(c.slowlogSlowerThan))],
  ];
}

function configGet(s: SessionHost, req: Request): Buffer {
  const out: Array<[RespValue, RespValue]> = [];
  const settings = proxySettings(s);
  const taken = new Set<string>();
  for (let i = 2; i < req.argc; i++) {
    const pattern = argStr(req, i);
    if (!/[[*?]/.test(pattern)) {
      // A plain name is looked up without case and answered under the name as given (Redis 7.0).
      const hit = settings.find(([k]) => k === pattern.toLowerCase());
      if (hit !== undefined && !taken.has(hit[0])) {
        taken.add(hit[0]);
        out.push([bulk(pattern), bulk(hit[1])]);
      }
      continue;
    }
    for (const [k, v] of settings) {
      if (taken.has(k) || !globMatch(pattern, k, true)) continue;
      taken.add(k);
      out.push([bulk(k), bulk(v)]);
    }
  }
  return encode(map(out), s.proto);
}

function latencyDoctor(s: SessionHost): Buffer {
  const us = s.ctx.config.slowlogSlowerThan;
  const lines: string[] = [];
  if (us < 0) {
    lines.push(
      'Latency monitoring is disabled on this Shardis proxy: it records client commands slower than slowlog_log_slower_than, which is negative. Set it to a number of microseconds in the proxy configuration to enable it.',
    );
  } else {
    const sum = s.ctx.stats.latency.summary();
    lines.push(
      `Shardis proxy latency report. The proxy records the event "command" when a client command takes at least ${us} us at the proxy (slowlog_log_slower_than), from parsing the request to its reply being ready, backend time included. One sample per second (the highest) is kept, up to 160.`,
    );
    if (sum.length === 0) lines.push('No latency spike was observed by this proxy since it started (or since LATENCY RESET).');
    for (const e of sum) {
      lines.push(
        `- ${e.event}: ${e.samples} latency spikes (average ${Math.round(e.avg)} ms, worst ${e.max} ms); the latest was ${e.latest.ms} ms at ${new Date(e.latest.time * 1000).toISOString()}.`,
      );
    }
    if (sum.length > 0) {
      lines.push(
        'SLOWLOG GET on the proxy lists the slow commands; LATENCY DOCTOR on a group master (directly) tells whether the server itself was slow, or whether the time went to the network or the proxy.',
      );
    }
  }
  return encode({ t: 'verbatim', v: lines.join('\n') + '\n' }, s.proto);
}

export const ADMIN_HANDLERS: Record<
  | 'client|kill'
  | 'client|pause'
  | 'client|unpause'
  | 'config|get'
  | 'latency|latest'
  | 'latency|history'
  | 'latency|reset'
  | 'latency|doctor',
  Handler
> = {
  'client|kill': (s, req) => clientKill(s, req),
  'client|pause': (s, req) => clientPause(s, req),
  'client|unpause': (s) => {
    pauseOf(s).unpause();
    return OK;
  },
  'config|get': (s, req) => configGet(s, req),
  'latency|latest': (s) => encode(arr(s.ctx.stats.latency.latest().map(([e, t, l, m]) => arr([bulk(e), int(t), int(l), int(m)]))), s.proto),
  'latency|history': (s, req) => encode(arr(s.ctx.stats.latency.history(argStr(req, 2)).map(([t, l]) => arr([int(t), int(l)]))), s.proto),
  'latency|reset': (s, req) => {
    const events: string[] = [];
    for (let i = 2; i < req.argc; i++) events.push(argStr(req, i));
    return intReply(s.ctx.stats.latency.reset(events));
  },
  'latency|doctor': (s) => latencyDoctor(s),
};
