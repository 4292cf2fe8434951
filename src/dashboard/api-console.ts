// HTTP routes of the web console on the dashboard: the built page itself (`/console/`), its live data
// as server-sent events (stats + 15 min of ops/s and p99 samples + event history + per-slot rates),
// the same as one JSON snapshot, and `/api/topom/console/info`. A sampler (every 2 s; proxy latency
// histograms every 5 s) feeds a ConsoleRecorder while this dashboard is active. Documented in
// src/dashboard/README.md ("Web console").
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { ServerResponse } from 'node:http';
import { tokensEqual } from '../models/auth.js';
import { proxyXAuth } from '../models/proxy.js';
import { proxyAdminUrl } from './proxy-client.js';
import type { ConsoleInfo, ConsoleLive } from '../models/console.js';
import { VERSION } from '../version.js';
import { httpJson } from '../util/http-json.js';
import { CONSOLE_NOT_BUILT, consoleAsset } from '../util/console-assets.js';
import { ConsoleRecorder, parseLatencyHistogram } from './console-recorder.js';
import type { DashboardHost } from './dashboard-host.js';
import type { Topom } from './topom.js';

const SAMPLE_MS = 2000;
const LATENCY_MS = 5000;

type Req = FastifyRequest<{ Params: Record<string, string>; Querystring: Record<string, string> }>;

/** Whether the request carries the admin token (path `:token` or `Authorization: Bearer`). */
function hasToken(req: Req, adminToken: string): boolean {
  const inPath = req.params.token;
  const bearer = /^Bearer\s+(\S+)\s*$/i.exec(req.headers.authorization ?? '')?.[1];
  return Boolean((inPath && tokensEqual(inPath, adminToken)) || (bearer && tokensEqual(bearer, adminToken)));
}

/** `auth`: the API's token check (throws 401/403/429, logs and rate-limits refusals). */
export function registerConsoleRoutes(app: FastifyInstance, host: DashboardHost, auth: (req: Req) => void): ConsoleRecorder {
  const { config } = host;
  const recorder = new ConsoleRecorder();
  let seen: Topom | null = null;
  let latencyBusy = false;
  let lastLatency = 0;

  const tick = (): void => {
    const t = host.current();
    if (!t) {
      seen = null;
      return;
    }
    const now = Date.now();
    if (t !== seen) {
      recorder.resetBaseline();
      recorder.add('dashboard', `dashboard ${t.model.admin_addr} active for product ${config.productName}`, now);
      seen = t;
    }
    recorder.observe(t.stats(), now);
    if (!latencyBusy && now - lastLatency >= LATENCY_MS) {
      latencyBusy = true;
      lastLatency = now;
      void sampleLatency(t).finally(() => {
        latencyBusy = false;
      });
    }
  };
  const sampleLatency = async (t: Topom): Promise<void> => {
    const per = new Map<string, number[]>();
    let bounds: number[] = [];
    await Promise.all(
      t.proxyList().map(async (p) => {
        try {
          const headers = { authorization: `Bearer ${proxyXAuth(config.productName, config.productAuth, p.token)}` };
          const r = await httpJson('GET', proxyAdminUrl(p.admin_addr), '/metrics', { timeoutMs: 1500, headers });
          const h = r.status === 200 && typeof r.json === 'string' ? parseLatencyHistogram(r.json) : null;
          if (h) {
            per.set(p.token, h.counts);
            bounds = h.boundsUs;
          }
        } catch {
          /* unreachable proxy: its samples are skipped */
        }
      }),
    );
    recorder.observeLatency(per, bounds);
  };
  const timer = setInterval(() => {
    try {
      tick();
    } catch (e) {
      host.log.warn({ err: (e as Error).message }, 'console sampler failed');
    }
  }, SAMPLE_MS);
  timer.unref();

  // Promotions asked through the API are told apart from sentinel failovers in the event history.
  const PROMOTE = '/api/topom/group/promote/:token/:gid/:addr';
  app.addHook('preHandler', async (req: Req) => {
    if (req.method === 'PUT' && req.routeOptions.url === PROMOTE && host.current() && hasToken(req, config.adminToken)) {
      recorder.notePromotion(Number(req.params.gid), req.params.addr ?? '', Date.now());
    }
  });
  app.addHook('onSend', async (req: Req, reply, payload) => {
    if (req.method === 'PUT' && req.routeOptions.url === PROMOTE && reply.statusCode >= 400 && hasToken(req, config.adminToken)) {
      let why = `HTTP ${reply.statusCode}`;
      try {
        const e = (JSON.parse(String(payload)) as { error?: unknown }).error;
        if (typeof e === 'string') why = e;
      } catch {
        /* not JSON */
      }
      recorder.promotionFailed(Number(req.params.gid), req.params.addr ?? '', why, Date.now());
    }
    return payload;
  });

  const streams = new Set<ServerResponse>();
  // preClose: open event streams would otherwise keep the server from closing.
  app.addHook('preClose', async () => {
    clearInterval(timer);
    for (const s of streams) s.end();
    streams.clear();
  });

  // With console_read_only a caller without a token gets the read-only view; a wrong token is refused.
  const allowed = (req: Req): boolean => {
    const given = Boolean(req.params.token && req.params.token !== '_') || Boolean(req.headers.authorization);
    if (!given && config.consoleReadOnly) return false;
    auth(req); // no token (console_read_only is off) or a wrong one: 401/403, logged
    return true;
  };
  const message = (authed: boolean, sinceT: number, sinceEvent: number, full: boolean): ConsoleLive => {
    const t = host.current();
    const base = { product: config.productName, t: Date.now(), authed, full };
    if (!t) return { ...base, standby: host.standbyReason(), samples: [], events: [], slot_ops: null };
    return {
      ...base,
      dashboard: { addr: t.model.admin_addr, coordinator: config.coordinator, version: VERSION },
      stats: t.stats(),
      samples: recorder.samplesAfter(sinceT),
      events: recorder.eventsAfter(sinceEvent),
      slot_ops: recorder.slotOps(),
    };
  };

  // ---- the page ------------------------------------------------------------------------------------
  const serve = (name: string, req: Req, reply: FastifyReply): FastifyReply => {
    const a = consoleAsset(name);
    if (!a)
      return reply
        .code(404)
        .type('text/plain')
        .send(name === '' ? CONSOLE_NOT_BUILT : `no such console file: ${name}`);
    void reply.header('cache-control', 'no-cache').type(a.type);
    if (/\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''))) return reply.header('content-encoding', 'gzip').send(a.gzip);
    return reply.send(a.body);
  };
  app.get('/console', async (_req, reply) => reply.redirect('/console/'));
  app.get('/console/', async (req: Req, reply) => serve('', req, reply));
  app.get('/console/:file', async (req: Req, reply) => serve(req.params.file ?? '', req, reply));

  // ---- data ----------------------------------------------------------------------------------------
  app.get('/api/topom/console/info', async (): Promise<ConsoleInfo> => ({
    product: config.productName,
    version: VERSION,
    read_only: config.consoleReadOnly,
    active: host.current() !== null,
  }));
  app.get('/api/topom/console/snapshot/:token', async (req: Req) => {
    const authed = allowed(req);
    return message(authed, Number(req.query.since_t) || 0, Number(req.query.since_event) || 0, !req.query.since_t);
  });
  app.get('/api/topom/console/live/:token', async (req: Req, reply) => {
    const authed = allowed(req);
    const every = Math.min(60, Math.max(1, Math.round(Number(req.query.interval) || 3))) * 1000;
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
    });
    // HEAD: the headers only (a HEAD stream would never send anything and never end).
    if (req.method === 'HEAD') {
      res.end();
      return;
    }
    streams.add(res);
    let lastT = 0;
    let lastEvent = 0;
    let first = true;
    const send = (): void => {
      const m = message(authed, lastT, lastEvent, first);
      first = false;
      const s = m.samples[m.samples.length - 1];
      if (s) lastT = s.t;
      const e = m.events[m.events.length - 1];
      if (e) lastEvent = e.id;
      res.write(`data: ${JSON.stringify(m)}\n\n`);
    };
    send();
    const iv = setInterval(send, every);
    const stop = (): void => {
      clearInterval(iv);
      streams.delete(res);
    };
    req.raw.on('close', stop);
    res.on('close', stop);
  });
  return recorder;
}
