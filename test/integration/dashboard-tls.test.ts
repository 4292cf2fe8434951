// TLS in the control plane, with real processes and a throwaway CA made with openssl: a dashboard
// serving HTTPS (API and console) and reaching the redis-servers and a redis-sentinel only on their
// tls-port (client certificates required by all of them: a plain connection to those ports fails),
// replication over TLS, a proxy with an HTTPS admin API (the dashboard calls it with proxy_admin_tls)
// that registers with the HTTPS dashboard, reaches the servers with TLS and follows a sentinel
// failover over TLS (the +switch-master subscription and the majority check both on the sentinel's
// tls-port); found through the coordinator, a proxy with dashboard_https and
// `shardis fe` forwarding to the HTTPS dashboard and serving HTTPS itself. Expected duration: ~20 s.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import http from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { makeTestPki, type TestPki } from '../../src/util/tls-certs.js';
import { rawCommand, startRedisServer, type RedisServer } from '../../src/util/redis-server.js';
import { startRedisSentinel, type RedisSentinel } from '../../src/util/redis-sentinel.js';
import { startDashboardProcess, startProxyProcess, startShardisProcess } from '../../src/util/shardis-process.js';
import { freePort } from '../../src/util/free-port.js';
import { waitFor, type Spawned } from '../../src/util/processes.js';
import { defaultAdminToken } from '../../src/models/auth.js';

const PRODUCT = 'tlsdash';
const TOKEN = defaultAdminToken(PRODUCT, '');
const dir = mkdtempSync(join(tmpdir(), 'shardis-dash-tls-'));
let pki: TestPki;
const servers: RedisServer[] = [];
let sentinel: RedisSentinel | null = null;
let sentinelTls = 0;
let dash: { proc: Spawned; adminPort: number } | null = null;
let proxy: { proc: Spawned; port: number; adminPort: number } | null = null;
const tlsAddr = (s: RedisServer): string => `127.0.0.1:${s.tlsPort!}`;

/** A call to the HTTPS dashboard API, trusting only the test CA. */
function api(method: 'GET' | 'PUT', path: string): Promise<{ status: number; json: any }> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      {
        host: '127.0.0.1',
        port: dash!.adminPort,
        method,
        path,
        ca: readFileSync(pki.caCert),
        servername: 'localhost',
        headers: { authorization: `Bearer ${TOKEN}` },
        timeout: 20000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString();
          let json: unknown = text;
          try {
            json = JSON.parse(text);
          } catch {
            /* text */
          }
          resolve({ status: res.statusCode ?? 0, json });
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timed out`)));
    req.on('error', reject);
    req.end();
  });
}
/** GET on the proxy's HTTPS admin API with the admin token. */
function proxyGet(path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = https.get(
      {
        host: '127.0.0.1',
        port: proxy!.adminPort,
        path,
        ca: readFileSync(pki.caCert),
        servername: 'localhost',
        headers: { authorization: `Bearer ${TOKEN}` },
        timeout: 3000,
      },
      (res) => {
        let t = '';
        res.on('data', (d: Buffer) => (t += d.toString()));
        res.on('end', () => resolve(t));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
  });
}
async function put(path: string): Promise<any> {
  const r = await api('PUT', path.replace('{t}', TOKEN));
  assert.equal(r.status, 200, `${path}: ${JSON.stringify(r.json)}`);
  return r.json;
}

before(async () => {
  pki = makeTestPki(join(dir, 'pki'));
  // The processes trust the throwaway CA for HTTPS between them (Node reads it at start).
  process.env.NODE_EXTRA_CA_CERTS = pki.caCert;
  const tlsConf = { cert: pki.serverCert, key: pki.serverKey, ca: pki.caCert, authClients: 'yes' as const };
  const master = await startRedisServer({ tls: tlsConf, dir: join(dir, 'm') });
  servers.push(master);
  // The replica replicates over TLS from the master's tls-port (and announces its own tls-port).
  servers.push(
    await startRedisServer({
      tls: tlsConf,
      dir: join(dir, 'r'),
      config: ['tls-replication yes', `replicaof 127.0.0.1 ${master.tlsPort!}`],
    }),
  );
  sentinelTls = await freePort('127.0.0.1');
  sentinel = await startRedisSentinel({
    dir: join(dir, 's'),
    config: [
      `tls-port ${sentinelTls}`,
      `tls-cert-file ${pki.serverCert}`,
      `tls-key-file ${pki.serverKey}`,
      `tls-ca-cert-file ${pki.caCert}`,
      'tls-auth-clients yes',
      'tls-replication yes',
    ],
  });
  dash = await startDashboardProcess(
    [
      '--coordinator',
      `filesystem:${join(dir, 'coord')}`,
      '--product-name',
      PRODUCT,
      '--admin-addr',
      '127.0.0.1:0',
      '--admin-tls',
      'true',
      '--tls-cert-file',
      pki.serverCert,
      '--tls-key-file',
      pki.serverKey,
      '--backend-tls',
      'true',
      '--backend-tls-ca-cert-file',
      pki.caCert,
      '--backend-tls-cert-file',
      pki.clientCert,
      '--backend-tls-key-file',
      pki.clientKey,
      '--proxy-admin-tls',
      'true',
      '--sentinel-quorum',
      '1',
      '--sentinel-down-after',
      '2s',
    ],
    join(dir, 'dashboard.log'),
  );
});

after(async () => {
  delete process.env.NODE_EXTRA_CA_CERTS;
  await proxy?.proc.stop();
  await dash?.proc.stop();
  await sentinel?.stop();
  await Promise.all(servers.map((s) => s.stop()));
  rmSync(dir, { recursive: true, force: true });
});

test('the dashboard API and console answer over HTTPS only', async () => {
  assert.equal((await api('GET', '/health')).json.status, 'active');
  const page = await api('GET', '/console/');
  assert.ok(page.status === 200 || page.status === 404, `console page over HTTPS: ${page.status}`);
  // Plain HTTP to the HTTPS port gets no API answer.
  const plain = await new Promise<number | string>((resolve) => {
    const r = http.get({ host: '127.0.0.1', port: dash!.adminPort, path: '/health', timeout: 5000 }, (res) => resolve(res.statusCode ?? 0));
    r.on('error', (e) => resolve(e.message));
    r.on('timeout', () => r.destroy(new Error('timeout')));
  });
  assert.notEqual(plain, 200);
});

test('groups of TLS-only addresses: the dashboard probes and polls the servers with TLS', async () => {
  const [m, r] = servers as [RedisServer, RedisServer];
  await put('/api/topom/group/create/{t}/1');
  assert.equal((await put(`/api/topom/group/add/{t}/1/${tlsAddr(m)}`)).role, 'master');
  assert.equal((await put(`/api/topom/group/add/{t}/1/${tlsAddr(r)}`)).role, 'replica');
  await put('/api/topom/slots/init-even/{t}');
  await waitFor(
    'server stats over TLS',
    async () => {
      const s = (await api('GET', '/topom/stats')).json;
      const st = s.group.stats;
      return st[tlsAddr(m)]?.stats?.role === 'master' && st[tlsAddr(r)]?.stats?.master_link_status === 'up' && !st[tlsAddr(m)].error;
    },
    20000,
    200,
  );
});

test('a sentinel on its tls-port: the dashboard configures it and reads what it monitors over TLS', async () => {
  await put(`/api/topom/sentinels/add/{t}/127.0.0.1:${sentinelTls}`);
  const mon = await api('GET', `/api/topom/sentinels/info/127.0.0.1:${sentinelTls}/monitored`);
  assert.equal(mon.status, 200, JSON.stringify(mon.json));
  assert.equal(mon.json[0]?.name, `${PRODUCT}-1`);
  assert.equal(mon.json[0]?.addr, tlsAddr(servers[0]!));
});

test('a proxy registered with the HTTPS dashboard serves over backend TLS and follows a sentinel failover over TLS', async () => {
  const [m, r] = servers as [RedisServer, RedisServer];
  // The proxy trusts the throwaway CA for the dashboard's HTTPS (NODE_EXTRA_CA_CERTS, set in before()).
  {
    proxy = await startProxyProcess(
      [
        '--product-name',
        PRODUCT,
        '--dashboard-addr',
        `https://localhost:${dash!.adminPort}`,
        '--proxy-addr',
        '127.0.0.1:0',
        '--admin-addr',
        '127.0.0.1:0',
        '--backend-tls',
        'true',
        '--backend-tls-ca-cert-file',
        pki.caCert,
        '--backend-tls-cert-file',
        pki.clientCert,
        '--backend-tls-key-file',
        pki.clientKey,
        // Its admin API on HTTPS too: the dashboard calls it with proxy_admin_tls.
        '--admin-tls',
        'true',
        '--tls-cert-file',
        pki.serverCert,
        '--tls-key-file',
        pki.serverKey,
      ],
      join(dir, 'proxy.log'),
    );
  }
  const c = new Redis({ port: proxy.port, lazyConnect: true, maxRetriesPerRequest: 0 });
  try {
    await waitFor(
      'the proxy to be registered and serving',
      async () => {
        await c.connect().catch(() => undefined);
        return (await c.set('tls:k', 'v').catch(() => null)) === 'OK';
      },
      30000,
      200,
    );
    assert.equal(await c.get('tls:k'), 'v');
    // The sentinel knows the replica (found over TLS); fail over to it.
    await waitFor(
      'the sentinel to see the replica',
      async () => (await rawCommand('127.0.0.1', sentinel!.port, `SENTINEL REPLICAS ${PRODUCT}-1`)).includes(String(r.tlsPort)),
      30000,
      200,
    );
    assert.match(await rawCommand('127.0.0.1', sentinel!.port, `SENTINEL FAILOVER ${PRODUCT}-1`), /OK/);
    await waitFor(
      'the proxy to route to the promoted replica (sentinel events over TLS)',
      async () => {
        const s = await proxyGet('/proxy/slots').catch(() => '[]');
        const slots = JSON.parse(s) as Array<{ backend_addr?: string }>;
        return slots.length === 1024 && slots.every((x) => x.backend_addr === tlsAddr(r));
      },
      40000,
      250,
    );
    // The proxy itself followed the sentinel (its own switch, not only the dashboard's new table).
    const ha = await proxyGet('/proxy/sentinels');
    const st = JSON.parse(ha) as { servers: string[]; switches: number };
    assert.deepEqual(st.servers, [`127.0.0.1:${sentinelTls}`]);
    assert.ok(st.switches >= 1, `the proxy switched on the sentinel's word: ${ha.slice(0, 300)}`);
    await waitFor(
      'writes to succeed on the new master',
      async () => (await c.set('tls:after', '1').catch(() => null)) === 'OK',
      20000,
      200,
    );
    assert.match(await rawCommand('127.0.0.1', r.port, 'ROLE'), /master/);
    assert.match(await rawCommand('127.0.0.1', r.port, 'GET tls:after'), /^\$1\r\n1/);
    void m;
  } finally {
    c.disconnect();
  }
});

test('found through the coordinator: a proxy with dashboard_https registers, shardis fe forwards over HTTPS and serves HTTPS, shardis admin --dashboard-https finds it', async () => {
  const coord = `filesystem:${join(dir, 'coord')}`;
  const p2 = await startProxyProcess(
    [
      '--product-name',
      PRODUCT,
      '--coordinator',
      coord,
      '--dashboard-https',
      'true',
      '--proxy-addr',
      '127.0.0.1:0',
      '--admin-addr',
      '127.0.0.1:0',
      '--admin-tls',
      'true',
      '--tls-cert-file',
      pki.serverCert,
      '--tls-key-file',
      pki.serverKey,
      '--backend-tls',
      'true',
      '--backend-tls-ca-cert-file',
      pki.caCert,
      '--backend-tls-cert-file',
      pki.clientCert,
      '--backend-tls-key-file',
      pki.clientKey,
    ],
    join(dir, 'proxy2.log'),
  );
  const fe = startShardisProcess(
    'fe',
    [
      '--coordinator',
      coord,
      '--listen',
      '127.0.0.1:0',
      '--dashboard-tls',
      '--dashboard-ca-file',
      pki.caCert,
      '--tls-cert-file',
      pki.serverCert,
      '--tls-key-file',
      pki.serverKey,
    ],
    join(dir, 'fe.log'),
  );
  try {
    await waitFor(
      'the second proxy to be registered through the coordinator',
      async () => {
        const r = await api('GET', '/topom/stats');
        return r.status === 200 && r.json.proxy.models.some((m: { admin_addr: string }) => m.admin_addr.endsWith(`:${p2.adminPort}`));
      },
      30000,
      200,
    );
    const url = (await fe.waitLine(/^shardis fe listening url=(\S+)/, 30000))[1]!;
    assert.match(url, /^https:\/\//);
    const info = await new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = https.get(`${url}api/topom/console/info?forward=${PRODUCT}`, { ca: readFileSync(pki.caCert), timeout: 10000 }, (res) => {
        let t = '';
        res.on('data', (d: Buffer) => (t += d.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: t }));
      });
      req.on('timeout', () => req.destroy(new Error('timed out')));
      req.on('error', reject);
    });
    assert.equal(info.status, 200, info.text);
    assert.equal((JSON.parse(info.text) as { product: string }).product, PRODUCT);
    // shardis admin finds the HTTPS dashboard through the coordinator with --dashboard-https.
    const { execFileSync } = await import('node:child_process');
    const { SHARDIS_BIN } = await import('../../src/util/shardis-process.js');
    const adminOut = execFileSync(
      process.execPath,
      [SHARDIS_BIN, 'admin', '--coordinator', coord, '--product', PRODUCT, '--dashboard-https', '--json', 'overview'],
      { encoding: 'utf8', timeout: 30000, env: { ...process.env, NODE_EXTRA_CA_CERTS: pki.caCert } },
    );
    assert.equal((JSON.parse(adminOut) as { model: { product_name: string } }).model.product_name, PRODUCT);
  } finally {
    await fe.proc.stop();
    await p2.proc.stop();
  }
});
