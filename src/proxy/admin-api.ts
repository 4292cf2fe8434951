// The proxy's admin HTTP API (Codis-compatible paths): health, overview, model, stats, slot table
// (read and replace), start, stats reset, shutdown, and Prometheus /metrics. Every call that changes
// anything or returns addresses needs a token: the proxy's xauth in the path (as Codis's dashboard
// sends it) or `Authorization: Bearer <xauth or the product's admin token>`, compared in constant
// time; refusals are logged and rate-limited per client address (util/admin-auth.ts). Public on
// purpose: PUBLIC_PROXY_ROUTES (health, and the model the dashboard's handshake reads).
// Served by util/mini-router.ts on node:http / node:https, not Fastify: the proxy keeps ~20 MiB of
// RSS that way (issue 13); the replies are the ones Fastify sent.
import type { TlsOptions } from 'node:tls';
import { tokensEqual } from '../models/auth.js';
import { AuthError, AuthGuard, bearerToken } from '../util/admin-auth.js';
import type { Logger } from '../util/log.js';
import {
  HttpError,
  MiniRouter,
  redirect,
  Reply,
  serveRouter,
  type MiniRequest,
  type RouteEntry,
  type Served,
} from '../util/mini-router.js';
import { parseSlots, type Slot } from '../models/slot.js';
import type { ProxyModel } from '../models/proxy.js';
import type { StatsSnapshot } from './stats.js';
import { isValidAddr, parseAddr } from '../util/address.js';
import { VERSION } from '../version.js';
import { codisStatsFields, RateMeter } from './codis-view.js';

/** What the API needs from a proxy (one process, or the primary of --workers N). */
export interface ProxyControl {
  readonly product: string;
  readonly xauth: string;
  /** The product's dashboard admin token, also accepted as a bearer token ('' or absent: xauth only). */
  readonly adminToken?: string;
  model(): ProxyModel;
  config(): Record<string, unknown>;
  online(): boolean;
  slots(): Slot[];
  fillSlots(slots: Slot[]): Promise<void>;
  start(): Promise<void>;
  snapshot(): Promise<StatsSnapshot>;
  resetStats(): Promise<void>;
  shutdown(): Promise<void>;
  /** Replaces the sentinel list the proxy follows failovers with (HA); absent = not supported. */
  setSentinels?(servers: string[]): Promise<void>;
  /** Replaces the client users the dashboard pushes (ACL lines added to the proxy's own); throws on a bad set. */
  setAcl?(lines: string[]): Promise<void>;
  /** Digest of the pushed ACL lines ('' = none). */
  aclDigest?(): string;
  /** Replaces the live façade proxies' client addresses (cluster_facade's node list). */
  setClusterNodes?(addrs: string[]): Promise<void>;
  clusterNodes?(): string[] | null;
  /** What the proxy's sentinel watcher knows (servers, last resolution, switched groups). */
  sentinels?(): Promise<unknown>;
  /** Going offline (true) or back (false): PING fails while draining so front doors take the proxy out. */
  setDraining?: (on: boolean) => Promise<void>;
  draining?(): boolean;
}

function statsJson(s: StatsSnapshot, online: boolean, rate: RateMeter, primaryOnly: boolean): Record<string, unknown> {
  const codis = codisStatsFields(s, rate.read(s.opsTotal), primaryOnly);
  return {
    online,
    closed: codis.closed,
    ops: {
      total: s.opsTotal,
      fails: s.opsErrors,
      qps: codis.qps,
      redis: { errors: codis.redisErrors },
      cmd: s.commands.map((c) => ({
        opstr: c.name.toUpperCase(),
        calls: c.calls,
        usecs: Math.round(c.usecs),
        usecs_percall: c.calls ? Math.round(c.usecs / c.calls) : 0,
        fails: c.errors,
      })),
    },
    sessions: { total: s.sessionsTotal, alive: s.sessionsAlive },
    migration: {
      move_calls: s.migration.calls,
      keys_moved: s.migration.keysMoved,
      in_place: s.migration.inPlace,
      waits: s.migration.waits,
      errors: s.migration.errors,
    },
    protocol_errors: s.protocolErrors,
    // Requests routed to each slot (index = slot id), cumulative since start or the last stats reset.
    slot_ops: s.slotOps,
    rejected_connections: s.rejectedConnections,
    backends: s.backends,
    rusage: { mem: s.rss, ...codis.rusage },
    backend: codis.backend,
    uptime_ms: Date.now() - s.startTime,
  };
}

/**
 * Routes served without a token on purpose (method and route pattern); every other route needs one.
 * test/integration/admin-api-lockdown.test.ts probes every route against this list.
 */
export const PUBLIC_PROXY_ROUTES: ReadonlyMap<string, string> = new Map([
  ['GET /', 'redirect to /proxy'],
  ['GET /health', 'liveness for front doors: online, draining, version'],
  // Codis's handshake: the dashboard reads the model (the proxy's token) to derive the xauth, which
  // also needs product_auth; the model holds this proxy's own identity, no password and no backend.
  ['GET /api/proxy/model', "Codis handshake: the proxy's own model"],
]);

export interface AdminApiOptions {
  /** Serve over TLS with these options (admin_tls). */
  https?: TlsOptions;
  /** Where refused tokens are logged (default: nowhere). */
  log?: Logger;
  /** Serve Codis's unauthenticated overview `GET /proxy` without a token (codis-admin --proxy=ADDR). */
  codisCompatReads?: boolean;
}

/** The admin API's router with every route registered (not listening), and its route table. */
export function buildAdminApi(ctl: ProxyControl, o: AdminApiOptions = {}): { router: MiniRouter; table: RouteEntry[] } {
  const router = new MiniRouter({
    bodyLimit: 16 * 1024 * 1024,
    errorReply: (err) => {
      const code = err.statusCode && err.statusCode >= 400 ? err.statusCode : 500;
      const headers: Record<string, string> = {};
      if (err instanceof AuthError && err.retryAfterSec > 0) headers['retry-after'] = String(err.retryAfterSec);
      return new Reply(code, { error: err.message }, headers);
    },
  });
  const rate = new RateMeter();
  const stats = async (): Promise<Record<string, unknown>> => ({
    ...statsJson(await ctl.snapshot(), ctl.online(), rate, ctl.config().backend_primary_only !== false),
    // Tells the dashboard to push this proxy the live façade proxies (proxy-side cluster-layout.ts).
    cluster_facade: ctl.config().clusterFacade === true,
    draining: ctl.draining?.() ?? false,
    // The dashboard compares it with its own acl_users and pushes them when they differ.
    acl_digest: ctl.aclDigest?.() ?? '',
  });
  const guard = o.log ? new AuthGuard(o.log, 'proxy admin API') : null;
  const accepted = (t: string): boolean =>
    t !== '' && ((ctl.xauth !== '' && tokensEqual(t, ctl.xauth)) || (!!ctl.adminToken && tokensEqual(t, ctl.adminToken)));
  // Rate-limited per client address, method and route pattern (not the concrete URL with its token).
  const authed = (r: MiniRequest): void => {
    guard?.checkNotLocked(r.ip, r.method, r.route);
    const inPath = r.params.xauth && r.params.xauth !== '_' ? r.params.xauth : '';
    const bearer = bearerToken(r.headers.authorization);
    if (accepted(inPath) || accepted(bearer)) return;
    guard?.failed(r.ip, r.method, r.route, inPath || bearer ? 'wrong token' : 'no token');
    throw new AuthError(
      inPath || bearer ? 403 : 401,
      'invalid xauth: pass the proxy xauth (derived from product_name, product_auth and the proxy token) in the path, or "Authorization: Bearer <xauth or the admin token>"',
    );
  };
  const codisRead = o.codisCompatReads ? undefined : authed;
  const body = (r: MiniRequest): Record<string, unknown> | undefined =>
    typeof r.body === 'object' && r.body !== null ? (r.body as Record<string, unknown>) : undefined;
  router.get('/', () => redirect('/proxy'));
  router.get('/health', () => ({ status: 'ok', online: ctl.online(), draining: ctl.draining?.() ?? false, version: VERSION }));
  router.get('/api/proxy/model', () => ctl.model());
  // ---- token: reads (the overview is open with codis_compat_reads, as codis-admin --proxy reads it) ----
  router.get(
    '/proxy',
    async () => ({
      version: VERSION,
      compile: '',
      config: ctl.config(),
      model: ctl.model(),
      stats: await stats(),
      slots: ctl.slots(),
    }),
    codisRead,
  );
  router.get('/proxy/model', () => ctl.model(), authed);
  router.get('/proxy/stats', () => stats(), authed);
  router.get('/proxy/slots', () => ctl.slots(), authed);
  router.get('/proxy/sentinels', async () => (ctl.sentinels ? ctl.sentinels() : null), authed);
  router.get('/proxy/cluster-nodes', () => ({ addrs: ctl.clusterNodes?.() ?? null }), authed);
  // Backend addresses are labels of the backend gauges: Prometheus sends the token as a bearer.
  router.get(
    '/metrics',
    async () => {
      // Loaded on the first scrape: prom-client (and its process collectors: event-loop delay monitor,
      // GC observer) costs ~10 MB of RSS in a proxy that is never scraped.
      const { renderMetrics } = await import('./metrics.js');
      const text = await renderMetrics(await ctl.snapshot(), ctl.product);
      return new Reply(200, text, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' });
    },
    authed,
  );
  router.get('/api/proxy/xping/:xauth', () => 'OK', authed);
  router.get('/api/proxy/stats/:xauth', () => stats(), authed);
  router.get('/api/proxy/slots/:xauth', () => ctl.slots(), authed);
  router.get('/api/proxy/sentinels/:xauth', async () => (ctl.sentinels ? ctl.sentinels() : null), authed);
  // ---- token: changes (each answers 'OK' once done) ----
  const change = (url: string, act: (r: MiniRequest) => Promise<void> | void): void =>
    router.put(
      url,
      async (r) => {
        await act(r);
        return 'OK';
      },
      authed,
    );
  /** The body's `key` as a list of host:port addresses, or a 400 naming the expected shape. */
  const addrList = (r: MiniRequest, key: string, fallback?: unknown[]): string[] => {
    const v = body(r)?.[key] ?? fallback;
    if (!Array.isArray(v) || !v.every((a) => typeof a === 'string' && isValidAddr(a)))
      throw new HttpError(400, `body must be {"${key}": ["host:port", ...]}`);
    return v as string[];
  };
  change('/api/proxy/drain/:xauth/:on', async (r) => {
    if (!ctl.setDraining) throw new HttpError(501, 'this proxy cannot drain');
    await ctl.setDraining(r.params.on !== '0');
  });
  change('/api/proxy/fillslots/:xauth', async (r) => {
    let slots: Slot[];
    try {
      slots = parseSlots(r.body);
    } catch (e) {
      throw new HttpError(400, `bad slot table: ${(e as Error).message}`);
    }
    await ctl.fillSlots(slots);
  });
  change('/api/proxy/sentinels/:xauth', async (r) => {
    const servers = addrList(r, 'servers', []);
    if (!ctl.setSentinels) throw new HttpError(501, 'this proxy does not follow sentinels');
    await ctl.setSentinels(servers);
  });
  change('/api/proxy/acl/:xauth', async (r) => {
    const lines = body(r)?.lines;
    if (!Array.isArray(lines) || !lines.every((l) => typeof l === 'string'))
      throw new HttpError(400, 'body must be {"lines": ["user <name> <rules...>", ...]}');
    if (!ctl.setAcl) throw new HttpError(501, 'this proxy takes no client users from the dashboard');
    try {
      await ctl.setAcl(lines as string[]);
    } catch (e) {
      throw new HttpError(400, `ACL not applied: ${(e as Error).message}`);
    }
  });
  change('/api/proxy/cluster-nodes/:xauth', async (r) => {
    const addrs = addrList(r, 'addrs');
    if (!ctl.setClusterNodes) throw new HttpError(501, 'this proxy has no cluster façade');
    await ctl.setClusterNodes(addrs);
  });
  change('/api/proxy/start/:xauth', () => ctl.start());
  change('/api/proxy/stats/reset/:xauth', () => ctl.resetStats());
  change('/api/proxy/shutdown/:xauth', () => {
    setImmediate(() => {
      void ctl.shutdown();
    });
  });
  return { router, table: router.table };
}

/** Builds the admin API and listens on `addr` (port 0: a free one). */
export async function startAdminApi(ctl: ProxyControl, addr: string, o: AdminApiOptions = {}): Promise<Served> {
  const { router } = buildAdminApi(ctl, o);
  const { host, port } = parseAddr(addr, { allowEmptyHost: true, allowPortZero: true });
  return serveRouter(router, { host, port, https: o.https });
}
