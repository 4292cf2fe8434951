// `shardis admin frontdoor haproxy|nginx|keepalived` (generate a complete, commented config from the
// live proxy list, print it or write it with --out only after all input was checked) and
// `shardis admin proxy offline ID` (drain a proxy out of every front door, then stop and remove it).
import { renameSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import type { CliValue } from '../option-flags.js';
import { dashboardDirectory, jodisDirectory, staticDirectory, type ProxyDirectory, type ProxyEntry } from '../../client/proxy-directory.js';
import { defaultHaproxyOptions, haproxyServerName, renderHaproxyConfig } from '../../frontdoor/haproxy-config.js';
import { defaultNginxOptions, renderNginxConfig } from '../../frontdoor/nginx-config.js';
import { renderKeepalivedConfig, type KeepalivedCheck } from '../../frontdoor/keepalived-config.js';
import { checkHostPort, checkInterface, checkPeer, FrontdoorInputError, intIn, parseVip } from '../../frontdoor/validate.js';
import { drainAndRemove } from '../../frontdoor/haproxy-runtime.js';
import { proxyXAuth } from '../../models/proxy.js';
import { httpJson, replyError } from '../../util/http-json.js';
import { AdminCliError, DashboardClient, usageError, type GlobalOptions } from './client.js';
import type { StatsReply } from './format.js';

type Opts = GlobalOptions & Record<string, CliValue>;
type Action = (fn: (opts: Opts, args: Array<string | undefined>) => Promise<void>) => (...a: unknown[]) => Promise<void>;
export interface FrontdoorDeps {
  action: Action;
  client: (opts: Opts) => Promise<DashboardClient>;
  out: (opts: Opts, json: unknown, human: () => string) => void;
}

const collect = (v: string, prev: string[] = []): string[] => [...prev, v];
const str = (v: unknown, d: string): string => (typeof v === 'string' ? v : d);

/** Runs `fn`, turning input errors into usage errors (exit 2). */
async function checked<T>(fn: () => Promise<T> | T): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    if (e instanceof FrontdoorInputError) throw usageError(e.message);
    throw e;
  }
}

async function directory(opts: Opts): Promise<ProxyDirectory> {
  const list = opts.proxy as string[] | undefined;
  if (list?.length) return checked(() => staticDirectory(list.map((p) => checkHostPort(p, '--proxy'))));
  const dash = opts.dashboard ?? process.env.SHARDIS_DASHBOARD;
  if (dash) {
    const addr = await checked(() => checkHostPort(dash, '--dashboard'));
    // The proxy list needs the admin token (given, SHARDIS_ADMIN_TOKEN, or derived from the product).
    const token = await new DashboardClient(addr, opts, 5000).adminToken();
    return checked(() => dashboardDirectory(addr, { token }));
  }
  if (opts.coordinator && opts.product) {
    try {
      return await jodisDirectory(opts.coordinator, opts.product);
    } catch (e) {
      throw new AdminCliError(3, `coordinator ${opts.coordinator}: ${(e as Error).message}`);
    }
  }
  throw usageError('give --dashboard HOST:PORT, --coordinator SPEC with --product NAME, or --proxy HOST:PORT ... to list the proxies');
}

async function onlineProxies(opts: Opts): Promise<ProxyEntry[]> {
  const dir = await directory(opts);
  let all: ProxyEntry[];
  try {
    all = await dir.list();
  } catch (e) {
    throw new AdminCliError(3, `cannot read the proxy list from ${dir.describe}: ${(e as Error).message}`);
  } finally {
    await dir.close().catch(() => undefined);
  }
  const online = all.filter((p) => p.state === 'online');
  if (online.length === 0)
    throw new AdminCliError(
      1,
      `no online proxies in ${dir.describe} (${all.length} registered${all.length ? `: ${all.map((p) => `${p.addr} ${p.state}`).join(', ')}` : ''}); nothing written`,
    );
  return online;
}

/** Prints the config, or writes it (mode 600, via a temporary file) to --out. */
function emit(opts: Opts, text: string): void {
  if (typeof opts.out === 'string' && opts.out) {
    const tmp = `${opts.out}.tmp-${process.pid}`;
    writeFileSync(tmp, text, { mode: 0o600 });
    renameSync(tmp, opts.out);
    process.stderr.write(`wrote ${opts.out}\n`);
  } else process.stdout.write(text);
}

function bindAddr(opts: Opts, vipAddr: string | null): string {
  if (typeof opts.bind === 'string') return checkHostPort(opts.bind, '--bind');
  const port = intIn(str(opts.port, '6379'), '--port', 1, 65535);
  return `${vipAddr ? (vipAddr.includes(':') ? `[${vipAddr}]` : vipAddr) : '0.0.0.0'}:${port}`;
}

export function addFrontdoorCommands(admin: Command, proxy: Command, d: FrontdoorDeps): void {
  const fd = admin
    .command('frontdoor')
    .description('generate front-door configs (haproxy, nginx stream, keepalived) from the live proxy list');
  const common = (c: Command): Command =>
    c
      .option('--out <file>', 'write the config here (mode 600) instead of printing it; nothing is written when the input is bad')
      .option('--proxy <host:port>', 'use this proxy list instead of asking the dashboard/coordinator (repeatable)', collect)
      .option('--vip <addr>', 'virtual IP the clients use (the frontend binds it)')
      .option('--bind <host:port>', 'listen address (default VIP or 0.0.0.0, port --port)')
      .option('--port <port>', 'client port of the front door', '6379')
      .option('--auth <password>', "the proxies' session_auth, for the RESP health check (env SHARDIS_SESSION_AUTH)")
      .option('--maxconn-per-server <n>', 'connections per proxy', '1000');

  common(
    fd
      .command('haproxy')
      .description('haproxy.cfg (2.6): TCP mode, RESP health check, leastconn, per-server maxconn, stats page, Runtime API'),
  )
    .option('--runtime-api <path|host:port>', 'Runtime API socket (unix path, or loopback host:port)', defaultHaproxyOptions().runtimeApi)
    .option('--stats-bind <host:port>', 'stats page address (empty: none)', defaultHaproxyOptions().statsBind)
    .option('--check-inter <ms>', 'health check interval', '1000')
    .option('--backend <name>', 'backend name', defaultHaproxyOptions().backend)
    .option('--maxconn <n>', 'client connections HAProxy accepts in total', String(defaultHaproxyOptions().maxconn))
    .action(
      d.action(async (opts) => {
        const base = defaultHaproxyOptions();
        const o = await checked(() => ({
          ...base,
          bind: bindAddr(opts, opts.vip ? parseVip(String(opts.vip)).addr : null),
          auth: str(opts.auth, process.env.SHARDIS_SESSION_AUTH ?? ''),
          maxconnPerServer: intIn(str(opts.maxconnPerServer, '1000'), '--maxconn-per-server', 1, 1_000_000),
          runtimeApi: str(opts.runtimeApi, base.runtimeApi).startsWith('/')
            ? str(opts.runtimeApi, base.runtimeApi)
            : checkHostPort(str(opts.runtimeApi, ''), '--runtime-api'),
          statsBind: opts.statsBind === '' ? '' : checkHostPort(str(opts.statsBind, base.statsBind), '--stats-bind'),
          maxconn: intIn(str(opts.maxconn, String(base.maxconn)), '--maxconn', 1, 10_000_000),
          checkInterMs: intIn(str(opts.checkInter, '1000'), '--check-inter', 100, 600_000),
          backend: /^[\w.-]+$/.test(str(opts.backend, base.backend))
            ? str(opts.backend, base.backend)
            : (() => {
                throw new FrontdoorInputError('--backend: letters, digits, _ . - only');
              })(),
          product: str(opts.product, base.product),
        }));
        emit(opts, renderHaproxyConfig(await onlineProxies(opts), o));
      }),
    );

  common(fd.command('nginx').description('nginx.conf with a stream (TCP) proxy: least_conn, passive failure detection, max_conns'))
    .option('--pid-file <file>', 'pid file of this nginx', defaultNginxOptions().pidFile)
    .option('--stream-module <file>', 'load_module path of the stream module (empty: none)', defaultNginxOptions().streamModule)
    .action(
      d.action(async (opts) => {
        const base = defaultNginxOptions();
        const o = await checked(() => ({
          ...base,
          bind: bindAddr(opts, opts.vip ? parseVip(String(opts.vip)).addr : null),
          maxConnsPerServer: intIn(str(opts.maxconnPerServer, '1000'), '--maxconn-per-server', 1, 1_000_000),
          pidFile: str(opts.pidFile, base.pidFile),
          streamModule: str(opts.streamModule, base.streamModule),
          product: str(opts.product, base.product),
        }));
        emit(opts, renderNginxConfig(await onlineProxies(opts), o));
      }),
    );

  fd.command('keepalived')
    .description('keepalived.conf (2.2): VRRP with priorities, vrrp_script health check, notify logging, unicast peers')
    .option('--out <file>', 'write the config here (mode 600) instead of printing it')
    .requiredOption('--vip <addr[/len]>', 'the virtual IP, e.g. 192.0.2.100/24')
    .requiredOption('--interface <if>', 'interface that carries VRRP and the VIP (must exist here unless --no-interface-check)')
    .option('--no-interface-check', 'do not check that --interface exists on this host (generating for another host)')
    .option('--peer <ip>', 'unicast peer (repeatable; none = multicast)', collect)
    .option('--src-ip <ip>', "unicast_src_ip (this host's address)")
    .option('--priority <1-254>', "this host's priority (give each host a different one)", '100')
    .option('--virtual-router-id <1-255>', 'VRRP router id, the same on every host of this VIP', '51')
    .option('--advert-int <s>', 'advert interval in seconds', '1')
    .option('--down-timer-adverts <n>', 'missed adverts before the backup takes over', '2')
    .option('--check <haproxy|proxy>', 'what the vrrp_script checks on this host', 'haproxy')
    .option('--check-addr <host:port>', 'address of the checked local HAProxy / proxy / redis-server', '127.0.0.1:6379')
    .option('--auth <password>', 'password for the check (proxy session_auth or redis requirepass)')
    .option(
      '--redis-pair <gid>',
      'Redis hot-standby pair layout for this group: the VIP follows the redis-server that ROLE says is master (Sentinel decides); the local server is --check-addr',
    )
    .option('--notify-log <file>', 'append VRRP transitions to this file (default: syslog via logger)')
    .option('--redis-cli <path>', 'redis-cli used by the check', '/usr/bin/redis-cli')
    .action(
      d.action(async (opts) => {
        const text = await checked(async () => {
          const vip = parseVip(String(opts.vip));
          const iface = String(opts.interface);
          if (opts.interfaceCheck !== false) checkInterface(iface);
          else if (!/^[\w.@:-]{1,15}$/.test(iface)) throw new FrontdoorInputError(`--interface "${iface}" is not an interface name`);
          const peers = ((opts.peer as string[] | undefined) ?? []).map(checkPeer);
          const srcIp = opts.srcIp ? checkPeer(String(opts.srcIp)) : '';
          const [host, port] = ((a: string) => [a.slice(0, a.lastIndexOf(':')), Number(a.slice(a.lastIndexOf(':') + 1))] as const)(
            checkHostPort(str(opts.checkAddr, '127.0.0.1:6379'), '--check-addr'),
          );
          const auth = str(opts.auth, '');
          if (/['"\\\s]/.test(auth))
            throw new FrontdoorInputError('--auth for keepalived checks cannot contain quotes, backslashes or spaces');
          let check: KeepalivedCheck;
          if (opts.redisPair !== undefined) {
            const group = intIn(String(opts.redisPair), '--redis-pair', 1, 9999);
            check = { kind: 'redis-pair', host, port, auth, group };
          } else {
            const kind = str(opts.check, 'haproxy');
            if (kind !== 'haproxy' && kind !== 'proxy') throw new FrontdoorInputError(`--check must be haproxy or proxy, got "${kind}"`);
            check = { kind, host, port, auth };
          }
          const notifyLog = str(opts.notifyLog, '');
          if (notifyLog && !/^\/[\w./-]+$/.test(notifyLog))
            throw new FrontdoorInputError('--notify-log must be an absolute path of letters, digits, _ . / -');
          const vrid = intIn(str(opts.virtualRouterId, '51'), '--virtual-router-id', 1, 255);
          return renderKeepalivedConfig({
            vip: vip.cidr,
            interface: iface,
            virtualRouterId: vrid,
            priority: intIn(str(opts.priority, '100'), '--priority', 1, 254),
            advertInt: intIn(str(opts.advertInt, '1'), '--advert-int', 1, 255),
            downTimerAdverts: intIn(str(opts.downTimerAdverts, '2'), '--down-timer-adverts', 1, 100),
            peers,
            srcIp,
            check,
            notifyLog,
            redisCli: str(opts.redisCli, '/usr/bin/redis-cli'),
            instance: check.kind === 'redis-pair' ? `shardis_redis_g${check.group}` : `shardis_vip_${vrid}`,
            routerId: `shardis_${iface.replace(/[^\w]/g, '_')}_${vrid}`,
          });
        });
        emit(opts, text);
      }),
    );

  proxy
    .command('offline <proxy>')
    .description('take a proxy out gracefully: it fails health checks, every front door drains it, then it is stopped and removed')
    .option(
      '--frontdoor <runtime-api>',
      'HAProxy Runtime API (unix path or host:port) to drain it from directly (repeatable); agents (`shardis frontdoor sync`) drain it by themselves',
      collect,
    )
    .option('--backend <name>', 'HAProxy backend of the proxies', defaultHaproxyOptions().backend)
    .option(
      '--drain-wait <ms>',
      'how long to wait for its sessions to end before stopping it (pooled connections are then closed between requests)',
      '10000',
    )
    .action(
      d.action(async (opts, [ref]) => {
        const waitMs = intIn(str(opts.drainWait, '10000'), '--drain-wait', 0, 3_600_000);
        const c = await d.client(opts);
        const s = await c.get<StatsReply>('/api/topom/stats/{token}');
        const p = s.proxy.models.find((m) => String(m.id) === ref || m.token === ref || m.admin_addr === ref || m.proxy_addr === ref);
        if (!p) throw new AdminCliError(1, `no proxy "${ref}" (give its id, token, admin or client address)`);
        const model = await c.get<{ product_name?: string }>('/topom/model');
        const xauth = proxyXAuth(model.product_name ?? opts.product ?? '', opts.productAuth ?? '', p.token);
        // 1. The proxy fails PING (health checks) and its discovery entry says draining.
        const r = await httpJson('PUT', p.admin_addr, `/api/proxy/drain/${xauth}/1`, { timeoutMs: 5000 }).catch((e: Error) => {
          throw new AdminCliError(1, `proxy ${p.admin_addr}: ${e.message}`);
        });
        if (r.status !== 200) throw new AdminCliError(1, `proxy ${p.admin_addr} refused to drain: ${replyError(r)}`);
        const name = haproxyServerName(p);
        const backend = str(opts.backend, defaultHaproxyOptions().backend);
        const stopProxy = async (): Promise<void> => {
          await c.put(`/api/topom/proxy/remove/{token}/${p.id}/0`);
        };
        let stopped = false;
        const once = async (): Promise<void> => {
          if (!stopped) {
            stopped = true;
            await stopProxy();
          }
        };
        // 2. Front doors: no new connections, wait for sessions (bounded), 3. stop the proxy (it closes the
        // rest between requests), 4. delete the server.
        const doors = (opts.frontdoor as string[] | undefined) ?? [];
        const results = await Promise.all(
          doors.map(async (api) => ({
            api,
            ...(await drainAndRemove(api, backend, name, { waitMs, removeDeadlineMs: 30000, beforeRemove: once })),
          })),
        );
        if (doors.length === 0) {
          // No front door given: wait for the proxy's own sessions to end (agents drain it), bounded.
          const deadline = Date.now() + waitMs;
          while (Date.now() < deadline) {
            const h = await httpJson('GET', p.admin_addr, '/proxy/stats', {
              timeoutMs: 3000,
              headers: { authorization: `Bearer ${xauth}` },
            }).catch(() => null);
            const alive = (h?.json as { sessions?: { alive?: number } } | undefined)?.sessions?.alive;
            if (alive === undefined || alive === 0) break;
            await new Promise((res) => setTimeout(res, 200));
          }
        }
        await once();
        d.out(
          opts,
          { proxy: p.id, frontdoors: results },
          () =>
            `proxy ${p.id} (${p.proxy_addr}) drained${results.length ? ` from ${results.map((x) => `${x.api}${x.removed ? '' : ' (still had sessions)'}`).join(', ')}` : ''}, stopped and removed\n`,
        );
      }),
    );
}
