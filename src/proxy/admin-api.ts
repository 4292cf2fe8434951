// The proxy's admin HTTP API (Codis-compatible paths): health, overview, model, stats, slot table
// (read and replace), start, stats reset, shutdown, and Prometheus /metrics. Every call that changes
// anything or returns addresses needs a token: the proxy's xauth in the path (as Codis's dashboard
// sends it) or `Authorization: Bearer <xauth or the product's admin token>`, compared in constant
// time; refusals are logged and rate-limited per client address (util/admin-auth.ts). Public on
// purpose: PUBLIC_PROXY_ROUTES (health, and the model the dashboard's handshake reads).
import type { TlsOptions } from 'node:tls';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { tokensEqual } from '../models/auth.js';
import { AuthError, AuthGuard, bearerToken } from '../util/admin-auth.js';
import type { Logger } from '../util/log.js';
import { trackRoutes, type RouteEntry } from '../util/route-table.js';
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

type AnyReq = FastifyRequest<{ Params: Record<string, string | undefined> }>;

/** The admin API's Fastify app with every route registered (not listening), and its route table. */
export function buildAdminApi(ctl: ProxyControl, o: AdminApiOptions = {}): { app: FastifyInstance; table: RouteEntry[] } {
  const https = o.https;
  const app = (https
    ? Fastify({ logger: false, bodyLimit: 16 * 1024 * 1024, https })
    : Fastify({ logger: false, bodyLimit: 16 * 1024 * 1024 })) as unknown as FastifyInstance;
  const table = trackRoutes(app);
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
  const authReq = (req: FastifyRequest): void => {
    const r = req as AnyReq;
    const route = r.routeOptions.url ?? r.url.split('?')[0] ?? '';
    guard?.checkNotLocked(r.ip, r.method, route);
    const inPath = r.params.xauth && r.params.xauth !== '_' ? r.params.xauth : '';
    const bearer = bearerToken(r.headers.authorization);
    if (accepted(inPath) || accepted(bearer)) return;
    guard?.failed(r.ip, r.method, route, inPath || bearer ? 'wrong token' : 'no token');
    throw new AuthError(
      inPath || bearer ? 403 : 401,
      'invalid xauth: pass the proxy xauth (derived from product_name, product_auth and the proxy token) in the path, or "Authorization: Bearer <xauth or the admin token>"',
    );
  };
  const authed = { preHandler: async (req: FastifyRequest) => authReq(req) };
  const codisRead = o.codisCompatReads ? {} : authed;
  app.setErrorHandler((err: Error & { statusCode?: number }, _req, reply) => {
    const code = err.statusCode && err.statusCode >= 400 ? err.statusCode : 500;
    if (err instanceof AuthError && err.retryAfterSec > 0) void reply.header('retry-after', String(err.retryAfterSec));
    void reply.code(code).send({ error: err.message });
  });
  app.get('/', async (_req, reply) => reply.redirect('/proxy'));
  app.get('/health', async () => ({ status: 'ok', online: ctl.online(), draining: ctl.draining?.() ?? false, version: VERSION }));
  app.get('/api/proxy/model', async () => ctl.model());
  // ---- token: reads (the overview is open with codis_compat_reads, as codis-admin --proxy reads it) ----
  app.get('/proxy', codisRead, async () => ({
    version: VERSION,
    compile: '',
    config: ctl.config(),
    model: ctl.model(),
    stats: await stats(),
    slots: ctl.slots(),
  }));
  app.get('/proxy/model', authed, async () => ctl.model());
  app.get('/proxy/stats', authed, async () => stats());
  app.get('/proxy/slots', authed, async () => ctl.slots());
  app.get('/proxy/sentinels', authed, async () => (ctl.sentinels ? ctl.sentinels() : null));
  app.get('/proxy/cluster-nodes', authed, async () => ({ addrs: ctl.clusterNodes?.() ?? null }));
  // Backend addresses are labels of the backend gauges: Prometheus sends the token as a bearer.
  app.get('/metrics', authed, async (_req, reply) => {
    void reply.header('content-type', 'text/plain; version=0.0.4; charset=utf-8');
    // Loaded on the first scrape: prom-client (and its process collectors: event-loop delay monitor,
    // GC observer) costs ~10 MB of RSS in a proxy that is never scraped.
    const { renderMetrics } = await import('./metrics.js');
    return renderMetrics(await ctl.snapshot(), ctl.product);
  });
  app.get('/api/proxy/xping/:xauth', authed, async () => 'OK');
  app.get('/api/proxy/stats/:xauth', authed, async () => stats());
  app.get('/api/proxy/slots/:xauth', authed, async () => ctl.slots());
  app.get('/api/proxy/sentinels/:xauth', authed, async () => (ctl.sentinels ? ctl.sentinels() : null));
  // ---- token: changes ----
  app.put<{ Params: { on: string } }>('/api/proxy/drain/:xauth/:on', authed, async (req) => {
    if (!ctl.setDraining) throw Object.assign(new Error('this proxy cannot drain'), { statusCode: 501 });
    await ctl.setDraining(req.params.on !== '0');
    return 'OK';
  });
  app.put('/api/proxy/fillslots/:xauth', authed, async (req) => {
    let slots: Slot[];
    try {
      slots = parseSlots(req.body);
    } catch (e) {
      throw Object.assign(new Error(`bad slot table: ${(e as Error).message}`), { statusCode: 400 });
    }
    await ctl.fillSlots(slots);
    return 'OK';
  });
  app.put('/api/proxy/sentinels/:xauth', authed, async (req) => {
    const body = req.body as { servers?: unknown } | undefined;
    const servers = body?.servers ?? [];
    if (!Array.isArray(servers) || !servers.every((a) => typeof a === 'string' && isValidAddr(a))) {
      throw Object.assign(new Error('body must be {"servers": ["host:port", ...]}'), { statusCode: 400 });
    }
    if (!ctl.setSentinels) throw Object.assign(new Error('this proxy does not follow sentinels'), { statusCode: 501 });
    await ctl.setSentinels(servers as string[]);
    return 'OK';
  });
  app.put('/api/proxy/acl/:xauth', authed, async (req) => {
    const lines = (req.body as { lines?: unknown } | undefined)?.lines;
    if (!Array.isArray(lines) || !lines.every((l) => typeof l === 'string'))
      throw Object.assign(new Error('body must be {"lines": ["user <name> <rules...>", ...]}'), { statusCode: 400 });
    if (!ctl.setAcl) throw Object.assign(new Error('this proxy takes no client users from the dashboard'), { statusCode: 501 });
    try {
      await ctl.setAcl(lines as string[]);
    } catch (e) {
      throw Object.assign(new Error(`ACL not applied: ${(e as Error).message}`), { statusCode: 400 });
    }
    return 'OK';
  });
  app.put('/api/proxy/cluster-nodes/:xauth', authed, async (req) => {
    const addrs = (req.body as { addrs?: unknown } | undefined)?.addrs;
    if (!Array.isArray(addrs) || !addrs.every((a) => typeof a === 'string' && isValidAddr(a))) {
      throw Object.assign(new Error('body must be {"addrs": ["host:port", ...]}'), { statusCode: 400 });
    }
    if (!ctl.setClusterNodes) throw Object.assign(new Error('this proxy has no cluster façade'), { statusCode: 501 });
    await ctl.setClusterNodes(addrs as string[]);
    return 'OK';
  });
  app.put('/api/proxy/start/:xauth', authed, async () => {
    await ctl.start();
    return 'OK';
  });
  app.put('/api/proxy/stats/reset/:xauth', authed, async () => {
    await ctl.resetStats();
    return 'OK';
  });
  app.put('/api/proxy/shutdown/:xauth', authed, async () => {
    setImmediate(() => {
      void ctl.shutdown();
    });
    return 'OK';
  });
  return { app, table };
}

/** Builds the admin API and listens on `addr` (port 0: a free one). */
export async function startAdminApi(
  ctl: ProxyControl,
  addr: string,
  o: AdminApiOptions = {},
): Promise<{ app: FastifyInstance; port: number }> {
  const { app } = buildAdminApi(ctl, o);
  const { host, port } = parseAddr(addr, { allowEmptyHost: true, allowPortZero: true });
  await app.listen({ host, port });
  const a = app.server.address();
  return { app, port: typeof a === 'object' && a ? a.port : port };
}
