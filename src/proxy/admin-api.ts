// The proxy's admin HTTP API (Codis-compatible paths): health, overview, model, stats, slot table
// (read and replace), start, stats reset, shutdown, and Prometheus /metrics. Mutating calls need the
// proxy's xauth in the path, as Codis's dashboard sends it.
import type { TlsOptions } from 'node:tls';
import Fastify, { type FastifyInstance } from 'fastify';
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

/** `https`: serve over TLS with these options (admin_tls). */
export async function startAdminApi(ctl: ProxyControl, addr: string, https?: TlsOptions): Promise<{ app: FastifyInstance; port: number }> {
  const app = (https
    ? Fastify({ logger: false, bodyLimit: 16 * 1024 * 1024, https })
    : Fastify({ logger: false, bodyLimit: 16 * 1024 * 1024 })) as unknown as FastifyInstance;
  const rate = new RateMeter();
  const stats = async (): Promise<Record<string, unknown>> => ({
    ...statsJson(await ctl.snapshot(), ctl.online(), rate, ctl.config().backend_primary_only !== false),
    // Tells the dashboard to push this proxy the live façade proxies (proxy-side cluster-layout.ts).
    cluster_facade: ctl.config().clusterFacade === true,
    draining: ctl.draining?.() ?? false,
  });
  const auth = (xauth: string): void => {
    if (xauth !== ctl.xauth)
      throw Object.assign(new Error('invalid xauth: use the proxy xauth derived from product_name, product_auth and the proxy token'), {
        statusCode: 403,
      });
  };
  app.setErrorHandler((err: Error & { statusCode?: number }, _req, reply) => {
    const code = err.statusCode && err.statusCode >= 400 ? err.statusCode : 500;
    void reply.code(code).send({ error: err.message });
  });
  app.get('/', async (_req, reply) => reply.redirect('/proxy'));
  app.get('/health', async () => ({ status: 'ok', online: ctl.online(), draining: ctl.draining?.() ?? false, version: VERSION }));
  app.put<{ Params: { xauth: string; on: string } }>('/api/proxy/drain/:xauth/:on', async (req) => {
    auth(req.params.xauth);
    if (!ctl.setDraining) throw Object.assign(new Error('this proxy cannot drain'), { statusCode: 501 });
    await ctl.setDraining(req.params.on !== '0');
    return 'OK';
  });
  app.get('/proxy', async () => ({
    version: VERSION,
    compile: '',
    config: ctl.config(),
    model: ctl.model(),
    stats: await stats(),
    slots: ctl.slots(),
  }));
  app.get('/proxy/model', async () => ctl.model());
  app.get('/api/proxy/model', async () => ctl.model());
  app.get('/proxy/stats', async () => stats());
  app.get('/proxy/slots', async () => ctl.slots());
  app.get('/metrics', async (_req, reply) => {
    void reply.header('content-type', 'text/plain; version=0.0.4; charset=utf-8');
    // Loaded on the first scrape: prom-client (and its process collectors: event-loop delay monitor,
    // GC observer) costs ~10 MB of RSS in a proxy that is never scraped.
    const { renderMetrics } = await import('./metrics.js');
    return renderMetrics(await ctl.snapshot(), ctl.product);
  });
  app.get<{ Params: { xauth: string } }>('/api/proxy/xping/:xauth', async (req) => {
    auth(req.params.xauth);
    return 'OK';
  });
  app.get<{ Params: { xauth: string } }>('/api/proxy/stats/:xauth', async (req) => {
    auth(req.params.xauth);
    return stats();
  });
  app.get<{ Params: { xauth: string } }>('/api/proxy/slots/:xauth', async (req) => {
    auth(req.params.xauth);
    return ctl.slots();
  });
  app.put<{ Params: { xauth: string } }>('/api/proxy/fillslots/:xauth', async (req) => {
    auth(req.params.xauth);
    let slots: Slot[];
    try {
      slots = parseSlots(req.body);
    } catch (e) {
      throw Object.assign(new Error(`bad slot table: ${(e as Error).message}`), { statusCode: 400 });
    }
    await ctl.fillSlots(slots);
    return 'OK';
  });
  app.put<{ Params: { xauth: string } }>('/api/proxy/sentinels/:xauth', async (req) => {
    auth(req.params.xauth);
    const body = req.body as { servers?: unknown } | undefined;
    const servers = body?.servers ?? [];
    if (!Array.isArray(servers) || !servers.every((a) => typeof a === 'string' && isValidAddr(a))) {
      throw Object.assign(new Error('body must be {"servers": ["host:port", ...]}'), { statusCode: 400 });
    }
    if (!ctl.setSentinels) throw Object.assign(new Error('this proxy does not follow sentinels'), { statusCode: 501 });
    await ctl.setSentinels(servers as string[]);
    return 'OK';
  });
  app.put<{ Params: { xauth: string } }>('/api/proxy/cluster-nodes/:xauth', async (req) => {
    auth(req.params.xauth);
    const addrs = (req.body as { addrs?: unknown } | undefined)?.addrs;
    if (!Array.isArray(addrs) || !addrs.every((a) => typeof a === 'string' && isValidAddr(a))) {
      throw Object.assign(new Error('body must be {"addrs": ["host:port", ...]}'), { statusCode: 400 });
    }
    if (!ctl.setClusterNodes) throw Object.assign(new Error('this proxy has no cluster façade'), { statusCode: 501 });
    await ctl.setClusterNodes(addrs as string[]);
    return 'OK';
  });
  app.get('/proxy/cluster-nodes', async () => ({ addrs: ctl.clusterNodes?.() ?? null }));
  app.get<{ Params: { xauth: string } }>('/api/proxy/sentinels/:xauth', async (req) => {
    auth(req.params.xauth);
    return ctl.sentinels ? ctl.sentinels() : null;
  });
  app.get('/proxy/sentinels', async () => (ctl.sentinels ? ctl.sentinels() : null));
  app.put<{ Params: { xauth: string } }>('/api/proxy/start/:xauth', async (req) => {
    auth(req.params.xauth);
    await ctl.start();
    return 'OK';
  });
  app.put<{ Params: { xauth: string } }>('/api/proxy/stats/reset/:xauth', async (req) => {
    auth(req.params.xauth);
    await ctl.resetStats();
    return 'OK';
  });
  app.put<{ Params: { xauth: string } }>('/api/proxy/shutdown/:xauth', async (req) => {
    auth(req.params.xauth);
    setImmediate(() => {
      void ctl.shutdown();
    });
    return 'OK';
  });
  const { host, port } = parseAddr(addr, { allowEmptyHost: true, allowPortZero: true });
  await app.listen({ host, port });
  const a = app.server.address();
  return { app, port: typeof a === 'object' && a ? a.port : port };
}
