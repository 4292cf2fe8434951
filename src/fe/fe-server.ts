// `shardis fe`: the multi-product web console (Codis's codis-fe). Serves the built page (src/ui ->
// dist/ui) at `/`, lists the products at `GET /list` (sorted names only, as codis-fe: the dashboards'
// addresses are not given to callers without a token), and reverse-proxies every other request carrying
// `?forward=<product>` to that product's dashboard (streaming, so the console's server-sent events
// pass through). Products come from the coordinator (`/codis3/<product>/topom`, re-read at most every
// 5 s) or from a `--dashboard-list` JSON file `[{name, dashboard}]`. A product whose dashboard is gone
// stays listed (last known address) so the page can say "dashboard down" instead of losing it.
import http from 'node:http';
import https from 'node:https';
import { readFileSync } from 'node:fs';
import { openStore, type Store } from '../coordinator/index.js';
import { parseAddr, type HostPort } from '../util/address.js';
import { CONSOLE_NOT_BUILT, consoleAsset } from '../util/console-assets.js';
import type { Logger } from '../util/log.js';

export interface FeOptions {
  listen: string;
  /** Coordinator spec (`filesystem:DIR`, `etcd:H:P`, `zookeeper:H:P`). */
  coordinator?: string;
  /** JSON file `[{name, dashboard}]`. */
  dashboardListFile?: string;
  log?: Logger;
  /** The dashboards serve HTTPS (admin_tls): forward over TLS, trusting `ca` (default: the system CAs). */
  dashboardTls?: { ca?: Buffer };
  /** Serve the console itself over HTTPS with this PEM certificate and key. */
  tls?: { certFile: string; keyFile: string };
}

export interface FeServer {
  port: number;
  url: string;
  close(): Promise<void>;
}

interface Product {
  name: string;
  dashboard: string | null;
}

const RELOAD_MS = 5000;

function readDashboardList(file: string): Product[] {
  const v: unknown = JSON.parse(readFileSync(file, 'utf8'));
  if (!Array.isArray(v)) throw new Error(`${file}: expected a JSON array of {"name", "dashboard"}`);
  return v.map((e, i) => {
    const o = (e ?? {}) as Record<string, unknown>;
    if (typeof o.name !== 'string' || typeof o.dashboard !== 'string')
      throw new Error(`${file}: entry ${i} needs "name" and "dashboard" strings`);
    return { name: o.name, dashboard: o.dashboard };
  });
}

async function readCoordinator(store: Store, known: Map<string, string | null>): Promise<Product[]> {
  const out: Product[] = [];
  for (const path of await store.list('/codis3')) {
    const name = path.slice(path.lastIndexOf('/') + 1);
    let dashboard: string | null = null;
    const raw = await store.read(`/codis3/${name}/topom`).catch(() => null);
    if (raw) {
      try {
        const a = (JSON.parse(raw.toString()) as { admin_addr?: unknown }).admin_addr;
        dashboard = typeof a === 'string' && a ? a : null;
      } catch {
        dashboard = null;
      }
    }
    out.push({ name, dashboard: dashboard ?? known.get(name) ?? null });
  }
  return out;
}

export async function startFeServer(o: FeOptions): Promise<FeServer> {
  if (!o.coordinator === !o.dashboardListFile)
    throw new Error('shardis fe needs exactly one of --coordinator SPEC or --dashboard-list FILE');
  if (o.dashboardListFile) readDashboardList(o.dashboardListFile); // fail at start on a bad file
  const store = o.coordinator ? await openStore(o.coordinator) : null;
  const known = new Map<string, string | null>();
  let products: Product[] = [];
  let loadedAt = 0;
  let loading: Promise<void> | null = null;
  const reload = async (): Promise<void> => {
    if (Date.now() - loadedAt < RELOAD_MS) return;
    loading ??= (async () => {
      try {
        products = store ? await readCoordinator(store, known) : readDashboardList(o.dashboardListFile!);
        products.sort((a, b) => a.name.localeCompare(b.name));
        for (const p of products) if (p.dashboard) known.set(p.name, p.dashboard);
        loadedAt = Date.now();
      } catch (e) {
        o.log?.warn({ err: (e as Error).message }, 'fe: cannot read the product list');
      } finally {
        loading = null;
      }
    })();
    await loading;
  };

  const json = (res: http.ServerResponse, status: number, body: unknown): void => {
    res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-cache' });
    res.end(JSON.stringify(body));
  };

  const forward = (req: http.IncomingMessage, res: http.ServerResponse, url: URL, p: Product): void => {
    if (!p.dashboard) {
      json(res, 503, { error: `product ${p.name} has no active dashboard (no /codis3/${p.name}/topom in the coordinator)` });
      return;
    }
    url.searchParams.delete('forward');
    let hp: HostPort;
    try {
      hp = parseAddr(p.dashboard);
    } catch (e) {
      json(res, 502, { error: `product ${p.name}: bad dashboard address: ${(e as Error).message}` });
      return;
    }
    const headers = { ...req.headers, host: p.dashboard };
    const target = { host: hp.host, port: hp.port, method: req.method, path: url.pathname + url.search, headers, timeout: 15000 };
    const onReply = (r: http.IncomingMessage): void => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    };
    const up = o.dashboardTls
      ? https.request({ ...target, ...(o.dashboardTls.ca ? { ca: o.dashboardTls.ca } : {}) }, onReply)
      : http.request(target, onReply);
    up.on('timeout', () => up.destroy(new Error('timed out')));
    up.on('error', (e) => {
      if (!res.headersSent) json(res, 502, { error: `dashboard ${p.dashboard} of product ${p.name} is unreachable: ${e.message}` });
      else res.destroy();
    });
    req.pipe(up);
    res.on('close', () => up.destroy());
  };

  const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://fe');
    void (async () => {
      const fwd = url.searchParams.get('forward');
      if (fwd !== null) {
        await reload();
        const p = products.find((x) => x.name === fwd);
        if (!p) {
          json(res, 403, { error: `unknown product "${fwd}"` });
          return;
        }
        forward(req, res, url, p);
        return;
      }
      if (req.method === 'GET' && url.pathname === '/list') {
        await reload();
        json(
          res,
          200,
          products.map((p) => p.name),
        );
        return;
      }
      if (req.method === 'GET' || req.method === 'HEAD') {
        const name = url.pathname === '/' ? '' : url.pathname.slice(1);
        const a = consoleAsset(name);
        if (a) {
          const gz = /\bgzip\b/.test(String(req.headers['accept-encoding'] ?? ''));
          res.writeHead(200, { 'content-type': a.type, 'cache-control': 'no-cache', ...(gz ? { 'content-encoding': 'gzip' } : {}) });
          res.end(req.method === 'HEAD' ? undefined : gz ? a.gzip : a.body);
          return;
        }
        if (name === '') {
          res.writeHead(404, { 'content-type': 'text/plain' });
          res.end(CONSOLE_NOT_BUILT);
          return;
        }
      }
      json(res, 404, { error: `no such path: ${url.pathname} (API calls need ?forward=<product>)` });
    })().catch((e: Error) => {
      if (!res.headersSent) json(res, 500, { error: e.message });
      else res.destroy();
    });
  };
  const server = o.tls
    ? https.createServer({ cert: readFileSync(o.tls.certFile), key: readFileSync(o.tls.keyFile), minVersion: 'TLSv1.2' }, handler)
    : http.createServer(handler);
  const listen = parseAddr(o.listen, { allowEmptyHost: true, allowPortZero: true });
  const host = listen.host;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listen.port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const a = server.address();
  const port = typeof a === 'object' && a ? a.port : listen.port;
  const shown = host === '0.0.0.0' || host === '::' ? '127.0.0.1' : host.includes(':') ? `[${host}]` : host;
  return {
    port,
    url: `${o.tls ? 'https' : 'http'}://${shown}:${port}/`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await store?.close();
    },
  };
}
