// The dashboard's HTTP API (fastify, JSON), on Codis 3.2's paths where Codis has them. Every call that
// changes anything or returns addresses needs the admin token, either in the path where Codis has
// `{xauth}` or as `Authorization: Bearer <token>` (then any placeholder, e.g. `_`, may stand in the
// token position); tokens are compared in constant time, refusals are logged and rate-limited per
// client address (util/admin-auth.ts). Public on purpose: `/`, `/health`, `/metrics` (counts only),
// the console page and `/api/topom/console/info` (see PUBLIC_DASHBOARD_ROUTES). With
// codis_compat_xauth on, Codis's unauthenticated reads (`/topom`, `/topom/model`, ...) are open too, as
// Codis's tools send no token for them.
// Errors are HTTP 4xx/5xx with {"error": "..."}. A standby dashboard answers 503 (except /health).
// Codis's own tools (codis-admin, codis-fe) get Codis's shapes instead where they differ (codis-api.ts).
// Every endpoint is documented in src/dashboard/README.md.
import { readFileSync } from 'node:fs';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { Registry, Gauge } from 'prom-client';
import { codisDashboardXAuth, tokensEqual } from '../models/auth.js';
import { VERSION } from '../version.js';
import { parseAddr } from '../util/address.js';
import { AuthError, AuthGuard, bearerToken } from '../util/admin-auth.js';
import { trackRoutes, type RouteEntry } from '../util/route-table.js';
import { publicDashboardConfig } from './config.js';
import { DashboardError, badRequest, unavailable } from './errors.js';
import type { Topom } from './topom.js';
import { parseGroupId, parseSlotId } from './input.js';
import { registerMigrationRoutes } from './api-migration.js';
import { codisOverviewView, codisStatsView, isCodisClient, sendCodisError } from './codis-api.js';
import { registerConsoleRoutes } from './api-console.js';

/** What the API needs from the process that runs it. */
export type { DashboardHost } from './dashboard-host.js';
import type { DashboardHost } from './dashboard-host.js';

type Params = Record<string, string>;
type Req = FastifyRequest<{ Params: Params; Querystring: Record<string, string> }>;

/** What the route groups below register their routes with. */
interface Routes {
  app: FastifyInstance;
  /** The active topom, or a 503 while standby. */
  active: () => Topom;
  /**
   * An authenticated, logged mutation answering {"ok": true, ...result}; Codis's tools get "OK", or
   * `codis(result)` where Codis answers with data.
   */
  put: (path: string, fn: (req: Req, t: Topom) => Promise<unknown>, codis?: (result: unknown) => unknown) => void;
  /** True when the request comes from codis-admin or codis-fe (codis-api.ts). */
  codis: (req: FastifyRequest) => boolean;
  /** An authenticated read. */
  getAuthed: (path: string, fn: (req: Req, t: Topom) => unknown) => void;
  /** A read Codis serves without a token: authenticated unless codis_compat_xauth is on. */
  getCodisRead: (path: string, fn: (req: Req, t: Topom) => unknown) => void;
  auth: (req: Req) => void;
  logCall: (req: Req) => void;
}

function parseBool01(v: string | undefined, what: string): boolean {
  if (v === undefined || v === '0' || v === 'false' || v === '') return false;
  if (v === '1' || v === 'true') return true;
  throw badRequest(`${what} must be 0 or 1, got "${v}"`);
}

function buildMetrics(host: DashboardHost): Registry {
  const reg = new Registry();
  const labels = { product: host.config.productName };
  reg.setDefaultLabels(labels);
  const gauge = (name: string, help: string, value: (t: Topom) => number, standbyValue = 0): void => {
    new Gauge({
      name,
      help,
      registers: [reg],
      collect(this: Gauge) {
        const t = host.current();
        this.set(t ? value(t) : standbyValue);
      },
    });
  };
  gauge('shardis_dashboard_active', '1 if this dashboard holds the product lock, 0 while standby.', () => 1);
  gauge('shardis_dashboard_groups', 'Server groups.', (t) => t.counters().groups);
  gauge('shardis_dashboard_servers', 'Servers in all groups.', (t) => t.counters().servers);
  gauge('shardis_dashboard_servers_up', 'Servers that answered the last INFO poll.', (t) => t.counters().serversUp);
  gauge('shardis_dashboard_proxies', 'Registered proxies.', (t) => t.counters().proxies);
  gauge('shardis_dashboard_proxies_up', 'Proxies that answered the last stats poll.', (t) => t.counters().proxiesUp);
  gauge('shardis_dashboard_slots_assigned', 'Slots mapped to a group (of 1024).', (t) => t.counters().slotsAssigned);
  gauge(
    'shardis_dashboard_write_safety_degraded_groups',
    'Groups with replicas whose master runs with a lowered min-replicas-to-write because too few replicas are online.',
    (t) => t.counters().writeSafetyDegraded,
  );
  return reg;
}

/** A Fastify app with JSON bodies, `{"error"}` answers for failures and unknown paths. */
function newApp(host: DashboardHost): FastifyInstance {
  const t = host.config.tls;
  // admin_tls: HTTPS (the console page is served by the same listener, so it is HTTPS too).
  const https = t.admin ? { cert: readFileSync(t.certFile), key: readFileSync(t.keyFile), minVersion: 'TLSv1.2' as const } : null;
  const app = (https
    ? Fastify({ logger: false, bodyLimit: 8 * 1024 * 1024, https })
    : Fastify({ logger: false, bodyLimit: 8 * 1024 * 1024 })) as unknown as FastifyInstance;
  const parseBody = (_req: FastifyRequest, body: string, done: (err: Error | null, v?: unknown) => void): void => {
    if (!body || !body.trim()) {
      done(null, undefined);
      return;
    }
    try {
      done(null, JSON.parse(body));
    } catch (e) {
      done(badRequest(`request body is not valid JSON: ${(e as Error).message}`));
    }
  };
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'string' }, parseBody);

  app.setErrorHandler((err: Error & { statusCode?: number }, req, reply) => {
    let status = 500;
    if (err instanceof AuthError && err.retryAfterSec > 0) void reply.header('retry-after', String(err.retryAfterSec));
    if (err instanceof DashboardError) status = err.status;
    else if (err.statusCode && err.statusCode >= 400 && err.statusCode < 600) status = err.statusCode;
    if (status >= 500)
      host.log.warn(
        { method: req.method, url: req.url.replace(/\/api\/topom\/([a-z-]+(?:\/[a-z-]+)?)\/[^/]+/, '/api/topom/$1/…'), err: err.message },
        'API call failed',
      );
    if (isCodisClient(req, host.config.productName)) {
      sendCodisError(reply, err.message);
      return;
    }
    void reply.code(status).send({ error: err.message });
  });
  app.setNotFoundHandler((req, reply) => {
    void reply.code(404).send({ error: `no such endpoint: ${req.method} ${req.url.split('?')[0]} (see src/dashboard/README.md)` });
  });
  return app;
}

function newRoutes(host: DashboardHost, app: FastifyInstance): Routes {
  const { config } = host;
  const codisXAuth = codisDashboardXAuth(config.productName);
  const codis = (req: FastifyRequest): boolean => isCodisClient(req, config.productName);
  const active = (): Topom => {
    const t = host.current();
    if (!t) throw unavailable(`this dashboard is standby: ${host.standbyReason()}`);
    return t;
  };
  const guard = new AuthGuard(host.log, 'dashboard API');
  const auth = (req: Req): void => {
    const route = req.routeOptions.url ?? req.url.split('?')[0] ?? '';
    guard.checkNotLocked(req.ip, req.method, route);
    // `_` (or any placeholder) in the token position is "no token in the path" when a bearer is sent.
    const inPath = req.params.token && req.params.token !== '_' ? req.params.token : '';
    const bearer = bearerToken(req.headers.authorization);
    if ((inPath && tokensEqual(inPath, config.adminToken)) || (bearer && tokensEqual(bearer, config.adminToken))) return;
    if (inPath && config.codisCompatXauth && tokensEqual(inPath, codisXAuth)) return;
    guard.failed(req.ip, req.method, route, inPath || bearer ? 'wrong token' : 'no token');
    if ((inPath && tokensEqual(inPath, codisXAuth)) || (!inPath && !bearer && codis(req))) {
      throw new AuthError(
        inPath ? 403 : 401,
        `invalid xauth: Codis's tools (their product-only token, their reads without a token) are accepted only with codis_compat_xauth = true (weaker security: see the README, "Coming from Codis")`,
      );
    }
    throw new AuthError(
      inPath || bearer ? 403 : 401,
      'invalid admin token: pass the dashboard admin_token in the path or as "Authorization: Bearer <token>" (by default it is derived from product_name and product_auth; `shardis admin --product P --product-auth A` computes it)',
    );
  };
  const logCall = (req: Req): void => {
    host.log.info({ method: req.method, route: req.routeOptions.url }, 'API call');
  };
  const put = (path: string, fn: (req: Req, t: Topom) => Promise<unknown>, codisReply?: (result: unknown) => unknown): void => {
    app.put(path, async (req: Req) => {
      auth(req);
      logCall(req);
      const r = await fn(req, active());
      if (codis(req)) return codisReply ? codisReply(r) : 'OK';
      return { ok: true, ...(r as object) };
    });
  };
  const getAuthed = (path: string, fn: (req: Req, t: Topom) => unknown): void => {
    app.get(path, async (req: Req) => {
      auth(req);
      return fn(req, active());
    });
  };
  const getCodisRead = (path: string, fn: (req: Req, t: Topom) => unknown): void => {
    app.get(path, async (req: Req) => {
      if (!config.codisCompatXauth) auth(req);
      return fn(req, active());
    });
  };
  return { app, active, put, getAuthed, getCodisRead, auth, logCall, codis };
}

/**
 * Routes served without the admin token on purpose (method and fastify route pattern). Everything
 * else needs it; test/integration/admin-api-lockdown.test.ts probes every route against this list.
 */
export const PUBLIC_DASHBOARD_ROUTES: ReadonlyMap<string, string> = new Map([
  ['GET /', 'redirect to /console/'],
  ['GET /health', 'liveness for load balancers and standbys: active/standby, product, version'],
  ['GET /metrics', 'Prometheus gauges: counts of groups, servers, proxies, slots (no addresses)'],
  ['GET /console', 'redirect to /console/'],
  ['GET /console/', 'the console page (static; it asks for the token)'],
  ['GET /console/:file', 'the console bundle (static)'],
  ['GET /api/topom/console/info', "what the console's login page needs: product, version, read_only, active"],
]);

/** Health and metrics (public), and the overview, model, stats and slots (token, Codis's reads). */
function registerOpenReads(host: DashboardHost, r: Routes): void {
  const { app, getAuthed, getCodisRead, codis } = r;
  const { config } = host;
  const overview = (t: Topom, req: FastifyRequest): Record<string, unknown> => {
    const o = {
      version: VERSION,
      compile: '',
      active: true,
      config: { ...publicDashboardConfig(config), log_level: host.log.level },
      model: t.model,
      stats: t.stats(),
    };
    return codis(req) ? codisOverviewView(o) : o;
  };
  const stats = (t: Topom, req: FastifyRequest): Record<string, unknown> => (codis(req) ? codisStatsView(t.stats()) : t.stats());
  app.get('/', async (_req, reply) => reply.redirect('/console/'));
  app.get('/health', async (_req, reply) => {
    const t = host.current();
    if (!t) return reply.code(503).send({ status: 'standby', product: config.productName, version: VERSION, reason: host.standbyReason() });
    return { status: 'active', product: config.productName, version: VERSION };
  });
  getCodisRead('/topom', (req, t) => overview(t, req));
  getCodisRead('/topom/model', (_r, t) => t.model);
  getCodisRead('/api/topom/model', (_r, t) => t.model);
  getCodisRead('/topom/stats', (req, t) => stats(t, req));
  getCodisRead('/topom/slots', (_r, t) => t.computedSlots());
  const metrics = buildMetrics(host);
  app.get('/metrics', async (_req, reply) => {
    void reply.header('content-type', metrics.contentType);
    return metrics.metrics();
  });
  // ---- token: reads ----
  getAuthed('/api/topom/xping/:token', () => 'OK');
  getAuthed('/api/topom/stats/:token', (req, t) => stats(t, req));
  getAuthed('/api/topom/stats', (req, t) => stats(t, req));
  getAuthed('/api/topom/overview/:token', (req, t) => overview(t, req));
  getAuthed('/api/topom/slots/:token', (_r, t) => t.computedSlots());
}

/** The dashboard itself: reload, shutdown, log level. */
function registerDashboardRoutes(host: DashboardHost, r: Routes): void {
  const { app, put, auth, logCall, codis } = r;
  put('/api/topom/reload/:token', async (_r, t) => t.reload());
  app.put('/api/topom/shutdown/:token', async (req: Req) => {
    auth(req);
    logCall(req);
    host.requestShutdown();
    return codis(req) ? 'OK' : { ok: true };
  });
  put('/api/topom/loglevel/:token/:level', async (req) => {
    const level = (req.params.level ?? '').toLowerCase();
    if (!['trace', 'debug', 'info', 'warn', 'error', 'fatal'].includes(level))
      throw badRequest(`unknown log level "${req.params.level}" (debug, info, warn, error)`);
    host.log.level = level;
    return { level };
  });
}

/** A path parameter that the route pattern guarantees. */
const param = (req: Req, name: string): string => req.params[name] ?? '';

function registerGroupRoutes({ put, getCodisRead }: Routes): void {
  put('/api/topom/group/create/:token/:gid', (req, t) => t.createGroup(parseGroupId(req.params.gid)));
  put('/api/topom/group/remove/:token/:gid', (req, t) => t.removeGroup(parseGroupId(req.params.gid)));
  put('/api/topom/group/add/:token/:gid/:addr', (req, t) => t.addServer(parseGroupId(req.params.gid), param(req, 'addr')));
  put('/api/topom/group/add/:token/:gid/:addr/:datacenter', (req, t) =>
    t.addServer(parseGroupId(req.params.gid), param(req, 'addr'), req.params.datacenter),
  );
  put('/api/topom/group/del/:token/:gid/:addr', (req, t) => t.delServer(parseGroupId(req.params.gid), param(req, 'addr')));
  put('/api/topom/group/resync/:token/:gid', (req, t) => t.resync(parseGroupId(req.params.gid)));
  put('/api/topom/group/resync-all/:token', (_req, t) => t.resync());
  put('/api/topom/group/promote/:token/:gid/:addr', (req, t) => t.ha.promote(parseGroupId(req.params.gid), param(req, 'addr')));
  put('/api/topom/group/action/create/:token/:addr', (req, t) => t.ha.syncAction(param(req, 'addr')));
  put('/api/topom/group/action/remove/:token/:addr', (req, t) => t.ha.syncRemoveAction(param(req, 'addr')));
  getCodisRead('/api/topom/group/info/:addr', (req, t) => t.serverInfo(param(req, 'addr')));
  put('/api/topom/group/replica-groups/:token/:gid/:addr/:value', (req, t) =>
    t.ha.setReplicaGroup(parseGroupId(req.params.gid), param(req, 'addr'), parseBool01(req.params.value, 'value')),
  );
  put('/api/topom/group/replica-groups-all/:token/:value', (req, t) =>
    t.ha.setReplicaGroup(null, null, parseBool01(req.params.value, 'value')),
  );
}

function registerSentinelRoutes({ put, getAuthed, getCodisRead }: Routes): void {
  put('/api/topom/sentinels/add/:token/:addr', (req, t) => t.ha.addSentinel(param(req, 'addr')));
  put('/api/topom/sentinels/del/:token/:addr', (req, t) => t.ha.delSentinel(param(req, 'addr'), false));
  put('/api/topom/sentinels/del/:token/:addr/:force', (req, t) =>
    t.ha.delSentinel(param(req, 'addr'), parseBool01(req.params.force, 'force')),
  );
  put('/api/topom/sentinels/resync-all/:token', (_req, t) => t.ha.resyncAll());
  getCodisRead('/api/topom/sentinels/info/:addr', (req, t) => t.ha.info(param(req, 'addr')));
  getCodisRead('/api/topom/sentinels/info/:addr/monitored', (req, t) => t.ha.monitored(param(req, 'addr')));
  getAuthed('/api/topom/sentinels/stats/:token', (_r, t) => t.ha.stats());
}

function registerProxyRoutes({ put }: Routes): void {
  put('/api/topom/proxy/create/:token/:addr', (req, t) => t.onlineProxy(param(req, 'addr'), 'create'));
  put('/api/topom/proxy/online/:token/:addr', (req, t) => t.onlineProxy(param(req, 'addr'), 'online'));
  put('/api/topom/proxy/reinit/:token/:proxy', (req, t) => t.reinitProxy(param(req, 'proxy')));
  put('/api/topom/proxy/reinit-all/:token', (_req, t) => t.reinitProxy(null));
  put('/api/topom/proxy/remove/:token/:proxy', (req, t) => t.removeProxy(param(req, 'proxy'), false));
  put('/api/topom/proxy/remove/:token/:proxy/:force', (req, t) =>
    t.removeProxy(param(req, 'proxy'), parseBool01(req.params.force, 'force')),
  );
}

function registerSlotRoutes(r: Routes): void {
  const { put } = r;
  put('/api/topom/slots/assign/:token', (req, t) => t.assignSlots(req.body));
  put('/api/topom/slots/assign/:token/offline', (req, t) => t.assignOffline(req.body));
  put('/api/topom/slots/assign-range/:token/:beg/:end/:gid', (req, t) => {
    const gid = req.params.gid === '0' ? 0 : parseGroupId(req.params.gid);
    return t.assignRange(parseSlotId(req.params.beg), parseSlotId(req.params.end), gid);
  });
  put('/api/topom/slots/init-even/:token', (req, t) => t.initEven(parseBool01(req.query.force, 'force')));
  put('/api/topom/slots/init-even/:token/:force', (req, t) => t.initEven(parseBool01(req.params.force, 'force')));
  registerMigrationRoutes(put, r.getAuthed, r.getCodisRead);
}

/** The API's Fastify app with every route registered (not listening), and its route table. */
export function buildDashboardApi(host: DashboardHost): { app: FastifyInstance; table: RouteEntry[] } {
  const app = newApp(host);
  const table = trackRoutes(app);
  const routes = newRoutes(host, app);
  registerOpenReads(host, routes);
  registerConsoleRoutes(app, host, routes.auth);
  registerDashboardRoutes(host, routes);
  registerGroupRoutes(routes);
  registerSentinelRoutes(routes);
  registerProxyRoutes(routes);
  registerSlotRoutes(routes);
  return { app, table };
}

export async function startDashboardApi(host: DashboardHost, addr: string): Promise<{ app: FastifyInstance; port: number }> {
  const { app } = buildDashboardApi(host);
  const listen = parseAddr(addr, { allowEmptyHost: true, allowPortZero: true });
  await app.listen(listen);
  const a = app.server.address();
  return { app, port: typeof a === 'object' && a ? a.port : listen.port };
}
