// Every route of the dashboard API and of the proxy admin API, taken from their own route tables (a
// route added later is probed without anyone listing it), probed on a real dashboard and a real proxy
// process: without a token (401), with a wrong token (403) and with the right one (not refused),
// except the routes on the explicit public allow-lists, which answer without a token. No answer,
// refused or not, contains a password, the admin token or the proxy's xauth. Refusals are logged and
// rate-limited per client address (429, the right token too, other addresses unaffected). Each probe
// comes from its own loopback source address so the rate limit does not mask the per-route checks.
// Admin listeners default to loopback. Expected duration: about 10 s.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { startRedisServer, type RedisServer } from '../../src/util/redis-server.js';
import { startDashboardProcess, startProxyProcess } from '../../src/util/shardis-process.js';
import type { Spawned } from '../../src/util/processes.js';
import { waitFor } from '../../src/util/processes.js';
import { buildDashboardApi, PUBLIC_DASHBOARD_ROUTES } from '../../src/dashboard/api.js';
import { buildAdminApi, PUBLIC_PROXY_ROUTES, type ProxyControl } from '../../src/proxy/admin-api.js';
import { DASHBOARD_OPTIONS } from '../../src/dashboard/config.js';
import { PROXY_OPTIONS } from '../../src/proxy/config.js';
import { proxyXAuth, type ProxyModel } from '../../src/models/proxy.js';
import { makeLogger } from '../../src/util/log.js';
import type { RouteEntry } from '../../src/util/route-table.js';
import { dashboardConfig } from '../helpers/dashboard.js';

const PRODUCT = 'lockdown';
const PRODUCT_AUTH = 'pa-Secret-1';
const SESSION_AUTH = 'sess-Secret-2';
const ACL_PASSWORD = 'acl-Secret-3';
const COORD_PASSWORD = 'coord-Secret-4';
const ADMIN_TOKEN = `adm-${randomBytes(12).toString('hex')}`;

const dir = mkdtempSync(join(tmpdir(), 'shardis-lockdown-'));
let redis: RedisServer | null = null;
let dash: { proc: Spawned; adminPort: number } | null = null;
let proxy: { proc: Spawned; port: number; adminPort: number } | null = null;
let dashAddr = '';
let proxyAdmin = '';
let xauth = '';

/** A value for each route parameter (all harmless: unknown addresses refuse at once, ids that exist or fail cleanly). */
const FILL: Record<string, string> = {
  gid: '1',
  addr: '127.0.0.1:1',
  datacenter: 'dc1',
  value: '0',
  force: '0',
  confirm: '0',
  proxy: 'no-such-proxy',
  beg: '0',
  end: '0',
  sid: '0',
  src: '1',
  dst: '1',
  num: '1',
  us: '0',
  percent: '100',
  level: 'info',
  file: 'index.html',
  on: '0',
};

/** `token`: the value of the :token / :xauth parameter. */
function fill(url: string, token: string): string {
  return url.replace(/:([a-z]+)/g, (_, name: string) => {
    if (name === 'token' || name === 'xauth') return token;
    const v = FILL[name];
    if (v === undefined) throw new Error(`route ${url}: add a test value for :${name} to FILL`);
    return encodeURIComponent(v);
  });
}

let nextSource = 0;
/** A fresh loopback source address (127.4.x.y) per probe. */
const freshSource = (): string => {
  const n = nextSource++;
  return `127.4.${Math.floor(n / 250)}.${(n % 250) + 1}`;
};

interface Probe {
  status: number;
  body: string;
}

/** One HTTP call from `source`; for HEAD and event streams only the status and the first chunk are read. */
function probe(addr: string, method: string, path: string, o: { bearer?: string; source?: string } = {}): Promise<Probe> {
  const [host, port] = [addr.slice(0, addr.lastIndexOf(':')), Number(addr.slice(addr.lastIndexOf(':') + 1))];
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host,
        port,
        method,
        path,
        agent: false,
        localAddress: o.source ?? freshSource(),
        headers: o.bearer ? { authorization: `Bearer ${o.bearer}` } : {},
      },
      (res) => {
        const status = res.statusCode ?? 0;
        const stream = method === 'HEAD' || String(res.headers['content-type'] ?? '').includes('event-stream');
        const chunks: Buffer[] = [];
        const done = (): void => {
          clearTimeout(timer);
          req.destroy();
          resolve({ status, body: Buffer.concat(chunks).toString('utf8') });
        };
        if (method === 'HEAD') return done();
        res.on('data', (c: Buffer) => {
          chunks.push(c);
          if (stream) done();
        });
        res.on('end', done);
        res.on('error', done);
      },
    );
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error(`${method} ${path}: no answer within 20 s`));
    }, 20000);
    req.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    req.end();
  });
}

const SECRETS = (): string[] => [PRODUCT_AUTH, SESSION_AUTH, ACL_PASSWORD, COORD_PASSWORD, ADMIN_TOKEN, xauth];
function assertNoSecret(what: string, body: string): void {
  for (const s of SECRETS()) assert.ok(!body.includes(s), `${what} returned a secret (${s.slice(0, 6)}…): ${body.slice(0, 300)}`);
}

/** The dashboard's route table, from the same code the process runs. */
async function dashboardRoutes(): Promise<RouteEntry[]> {
  const { app, table } = buildDashboardApi({
    config: dashboardConfig({ product_name: PRODUCT }),
    log: makeLogger('route-table', 'silent'),
    current: () => null,
    standbyReason: () => 'route table only',
    requestShutdown: () => {},
  });
  await app.ready();
  await app.close();
  return [...table];
}

async function proxyRoutes(): Promise<RouteEntry[]> {
  const unused = (): never => {
    throw new Error('route table only');
  };
  const ctl: ProxyControl = {
    product: PRODUCT,
    xauth: '',
    model: unused,
    config: unused,
    online: () => false,
    slots: unused,
    fillSlots: unused,
    start: unused,
    snapshot: unused,
    resetStats: unused,
    shutdown: unused,
  };
  return [...buildAdminApi(ctl).table];
}

const key = (r: RouteEntry): string => `${r.method} ${r.url}`;
/** HEAD routes are Fastify's automatic twins of GET routes: public when their GET is. */
const isPublic = (list: ReadonlyMap<string, string>, r: RouteEntry): boolean =>
  list.has(key(r)) || (r.method === 'HEAD' && list.has(`GET ${r.url}`));

/**
 * Probes every route: public ones answer without a token; the others refuse no token (401) and a
 * wrong token (403) and accept the right one. `skipRight`: routes whose right-token call ends the process.
 */
async function probeAll(
  addr: string,
  routes: RouteEntry[],
  publicList: ReadonlyMap<string, string>,
  right: { path: string; bearer: string },
  skipRight: (r: RouteEntry) => boolean,
): Promise<void> {
  const failures: string[] = [];
  for (const r of routes) {
    const name = key(r);
    const tokenParam = /:(token|xauth)\b/.test(r.url);
    if (isPublic(publicList, r)) {
      const p = await probe(addr, r.method, fill(r.url, '_'));
      if ([401, 403, 429].includes(p.status)) failures.push(`${name} is on the public list but refused without a token (${p.status})`);
      assertNoSecret(`${name} (public)`, p.body);
      continue;
    }
    const none = await probe(addr, r.method, fill(r.url, '_'));
    if (none.status !== 401) failures.push(`${name} without a token: ${none.status}, expected 401 (${none.body.slice(0, 120)})`);
    assertNoSecret(`${name} without a token`, none.body);
    const wrong = tokenParam
      ? await probe(addr, r.method, fill(r.url, 'wrong-token-0123456789abcdef'))
      : await probe(addr, r.method, fill(r.url, '_'), { bearer: 'wrong-token-0123456789abcdef' });
    if (wrong.status !== 403) failures.push(`${name} with a wrong token: ${wrong.status}, expected 403`);
    assertNoSecret(`${name} with a wrong token`, wrong.body);
    if (skipRight(r)) continue;
    const ok = tokenParam
      ? await probe(addr, r.method, fill(r.url, right.path))
      : await probe(addr, r.method, fill(r.url, '_'), { bearer: right.bearer });
    if ([401, 403, 429].includes(ok.status)) failures.push(`${name} with the right token: refused (${ok.status} ${ok.body.slice(0, 120)})`);
    assertNoSecret(`${name} with the right token`, ok.body);
  }
  assert.deepEqual(failures, [], failures.join('\n'));
}

before(async () => {
  redis = await startRedisServer({ password: PRODUCT_AUTH, dir: join(dir, 'redis') });
  dash = await startDashboardProcess(
    [
      '--coordinator',
      `filesystem:${join(dir, 'coordinator')}`,
      '--product-name',
      PRODUCT,
      '--product-auth',
      PRODUCT_AUTH,
      '--admin-token',
      ADMIN_TOKEN,
      '--coordinator-auth',
      `shardis:${COORD_PASSWORD}`,
      '--admin-addr',
      '127.0.0.1:0',
      '--log-level',
      'info',
    ],
    join(dir, 'dashboard.log'),
  );
  dashAddr = `127.0.0.1:${dash.adminPort}`;
  const put = async (path: string): Promise<void> => {
    const r = await probe(dashAddr, 'PUT', path.replace('{t}', ADMIN_TOKEN), { source: '127.0.0.1' });
    assert.equal(r.status, 200, `${path}: ${r.body}`);
  };
  await put('/api/topom/group/create/{t}/1');
  await put(`/api/topom/group/add/{t}/1/${redis.addr}`);
  await put('/api/topom/slots/init-even/{t}');
  const toml = join(dir, 'proxy.toml');
  writeFileSync(
    toml,
    [
      `product_name = "${PRODUCT}"`,
      `product_auth = "${PRODUCT_AUTH}"`,
      `session_auth = "${SESSION_AUTH}"`,
      `admin_token = "${ADMIN_TOKEN}"`,
      `acl_users = ["user app on >${ACL_PASSWORD} ~* &* +@all"]`,
      `coordinator_auth = "shardis:${COORD_PASSWORD}"`,
      `dashboard_addr = "${dashAddr}"`,
      'proxy_addr = "127.0.0.1:0"',
      'admin_addr = "127.0.0.1:0"',
      'log_level = "info"',
    ].join('\n') + '\n',
  );
  proxy = await startProxyProcess(['--config', toml], join(dir, 'proxy.log'));
  proxyAdmin = `127.0.0.1:${proxy.adminPort}`;
  const model = JSON.parse((await probe(proxyAdmin, 'GET', '/api/proxy/model')).body) as ProxyModel;
  xauth = proxyXAuth(PRODUCT, PRODUCT_AUTH, model.token);
  // Registered and given its table: the stats then hold server and proxy addresses.
  await waitFor(
    'the proxy to be online with its slot table',
    async () => JSON.parse((await probe(proxyAdmin, 'GET', '/health')).body).online === true,
    30000,
    100,
  );
});

after(async () => {
  await proxy?.proc.stop();
  await dash?.proc.stop();
  await redis?.stop();
});

describe('admin API lockdown', () => {
  test('admin listeners default to loopback', () => {
    const def = (specs: typeof PROXY_OPTIONS, k: string): string => String(specs.find((s) => s.key === k)?.default);
    assert.match(def(PROXY_OPTIONS, 'admin_addr'), /^127\.0\.0\.1:/);
    assert.match(def(DASHBOARD_OPTIONS, 'admin_addr'), /^127\.0\.0\.1:/);
  });

  test('every dashboard route: public ones answer, the others need the admin token', async () => {
    const routes = await dashboardRoutes();
    assert.ok(routes.length > 50, `the route table lists the dashboard's routes (${routes.length})`);
    for (const k of PUBLIC_DASHBOARD_ROUTES.keys())
      assert.ok(
        routes.some((r) => key(r) === k),
        `public list entry ${k} is a route`,
      );
    await probeAll(dashAddr, routes, PUBLIC_DASHBOARD_ROUTES, { path: ADMIN_TOKEN, bearer: ADMIN_TOKEN }, (r) =>
      r.url.startsWith('/api/topom/shutdown/'),
    );
  });

  test('every proxy admin route: public ones answer, the others need the xauth or the admin token', async () => {
    const routes = await proxyRoutes();
    assert.ok(routes.length > 15, `the route table lists the proxy's routes (${routes.length})`);
    for (const k of PUBLIC_PROXY_ROUTES.keys())
      assert.ok(
        routes.some((r) => key(r) === k),
        `public list entry ${k} is a route`,
      );
    await probeAll(proxyAdmin, routes, PUBLIC_PROXY_ROUTES, { path: xauth, bearer: xauth }, (r) =>
      r.url.startsWith('/api/proxy/shutdown/'),
    );
    // The product's admin token is accepted too (operators and Prometheus need one token for all).
    const m = await probe(proxyAdmin, 'GET', '/metrics', { bearer: ADMIN_TOKEN });
    assert.equal(m.status, 200);
    assert.match(m.body, /shardis_proxy_backend_connections/);
  });

  test('the overviews hide passwords: product_auth, session_auth, ACL passwords, the admin token', async () => {
    const p = await probe(proxyAdmin, 'GET', '/proxy', { bearer: xauth });
    assert.equal(p.status, 200);
    const config = (JSON.parse(p.body) as { config: Record<string, unknown> }).config;
    assert.equal(config.productAuth, '***');
    assert.equal(config.sessionAuth, '***');
    assert.equal(config.adminToken, '***');
    assert.equal(config.coordinatorAuth, '***');
    assert.deepEqual(config.aclUsers, ['user app on >*** ~* &* +@all']);
    const d = await probe(dashAddr, 'GET', '/topom', { bearer: ADMIN_TOKEN });
    assert.equal(d.status, 200);
    assert.equal((JSON.parse(d.body) as { config: Record<string, unknown> }).config.product_auth, '***');
  });

  test('failed tokens are logged and rate-limited per client address', async () => {
    for (const [addr, path, right, log] of [
      [dashAddr, '/api/topom/stats/', ADMIN_TOKEN, 'dashboard.log'],
      [proxyAdmin, '/api/proxy/stats/', xauth, 'proxy.log'],
    ] as const) {
      const source = '127.5.0.1';
      const seen: number[] = [];
      for (let i = 0; i < 30; i++) seen.push((await probe(addr, 'GET', `${path}wrong-${i}`, { source })).status);
      assert.equal(seen[0], 403);
      assert.ok(seen.includes(429), `${addr}: 30 wrong tokens in a row from one address are rate-limited: ${seen.join(',')}`);
      // While limited, even the right token is refused from that address (guessing cannot go on) ...
      assert.equal((await probe(addr, 'GET', `${path}${right}`, { source })).status, 429);
      // ... and other addresses are served.
      assert.equal((await probe(addr, 'GET', `${path}${right}`, { source: '127.5.0.2' })).status, 200);
      await waitFor(
        `${log} to record the refusals`,
        async () => {
          const text = readFileSync(join(dir, log), 'utf8');
          return (
            text.includes('admin token refused') &&
            text.includes('"ip":"127.5.0.1"') &&
            text.includes('too many failed admin-token attempts')
          );
        },
        5000,
        100,
      );
    }
  });

  test('shutdown with the right token (last: it stops the processes)', async () => {
    assert.equal((await probe(proxyAdmin, 'PUT', `/api/proxy/shutdown/${xauth}`)).status, 200);
    assert.equal(await withTimeout(proxy!.proc.exited, 20000), 0);
    assert.equal((await probe(dashAddr, 'PUT', `/api/topom/shutdown/${ADMIN_TOKEN}`)).status, 200);
    await withTimeout(dash!.proc.exited, 20000);
  });
});

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(t)),
    new Promise<T>((_, rej) => {
      t = setTimeout(() => rej(new Error(`not done within ${ms} ms`)), ms);
    }),
  ]);
}
