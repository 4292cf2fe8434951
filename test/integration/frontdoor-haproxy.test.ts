// The HAProxy and nginx front doors with real daemons in front of 3 real Shardis proxies (one redis
// group, a dashboard), a write workload running throughout:
//  - HAProxy: kill -9 a proxy (health check marks it down, no acknowledged write lost), bring a new
//    proxy online (the `shardis frontdoor sync` agent adds it through the Runtime API, no reload, it
//    gets connections),
//    `shardis admin proxy offline` drains one (zero client errors), then a rolling restart replaces
//    every live proxy (zero client errors);
//  - nginx (stream): traffic flows, a dead proxy is skipped.
// Expected duration: ~25-40 s.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { startLocalCluster, type LocalCluster } from '../../src/cli/local-cluster.js';
import { startProxyProcess, startShardisProcess } from '../../src/util/shardis-process.js';
import { freePort } from '../../src/util/free-port.js';
import { waitFor, type Spawned } from '../../src/util/processes.js';
import { httpJson } from '../../src/util/http-json.js';
import { staticDirectory } from '../../src/client/proxy-directory.js';
import { haproxyServerName } from '../../src/frontdoor/haproxy-config.js';
import { runtimeCommand, serverSessions, showServers } from '../../src/frontdoor/haproxy-runtime.js';
import { renderNginxConfig, defaultNginxOptions } from '../../src/frontdoor/nginx-config.js';
import { runShardis, startHaproxy, startNginx, WriteWorkload } from '../helpers/frontdoor.js';
import { productBearer } from '../helpers/admin-auth.js';

const dir = mkdtempSync(join(tmpdir(), 'sdfd-haproxy-'));
let cluster: LocalCluster | null = null;
const extra: Spawned[] = [];
after(async () => {
  await Promise.all(extra.map((p) => p.stop(2000)));
  await cluster?.stop();
});

const BACKEND = 'shardis_proxies';
const port = (addr: string): number => Number(addr.slice(addr.lastIndexOf(':') + 1));

test('HAProxy front door: kill -9, add, drain proxies under a write workload; nginx stream skips a dead proxy', async (t) => {
  cluster = await startLocalCluster({
    groups: 1,
    replicas: 0,
    proxies: 3,
    dir,
    basePort: 0,
    host: '127.0.0.1',
    product: 'sdfd',
    sentinels: 0,
  });
  const info = cluster.info;
  const dash = info.dashboard.addr;
  const [frontPort, rtPort, statsPort] = [await freePort(), await freePort(), await freePort()];
  const rt = `127.0.0.1:${rtPort}`;
  const cfg = join(dir, 'haproxy.cfg');

  // Generated from the live proxy list by the CLI.
  const gen = await runShardis([
    'admin',
    '--dashboard',
    dash,
    'frontdoor',
    'haproxy',
    '--bind',
    `127.0.0.1:${frontPort}`,
    '--runtime-api',
    rt,
    '--stats-bind',
    `127.0.0.1:${statsPort}`,
    '--check-inter',
    '500',
    '--out',
    cfg,
  ]);
  assert.equal(gen.code, 0, gen.stderr);
  const text = readFileSync(cfg, 'utf8');
  for (const p of info.proxies) assert.ok(text.includes(` ${p.addr} `), `config lists ${p.addr}`);
  assert.match(text, /balance leastconn/);
  const haproxy = await startHaproxy(cfg, rt, join(dir, 'haproxy.log'));
  extra.push(haproxy);
  const haproxyPid = haproxy.pid;
  await waitFor(
    'all 3 proxies up in HAProxy',
    async () => (await showServers(rt, BACKEND)).filter((s) => s.opState === 2).length === 3,
    15000,
    100,
  );
  const stats = await httpJson('GET', `127.0.0.1:${statsPort}`, '/;csv', { timeoutMs: 3000 });
  assert.equal(stats.status, 200, 'stats page answers');

  // The sync agent, as an operator runs it beside HAProxy.
  const agent = startShardisProcess(
    'frontdoor',
    [
      'sync',
      '--runtime-api',
      rt,
      '--dashboard-addr',
      dash,
      '--dashboard-token',
      info.dashboard.admin_token,
      '--sync-interval',
      '300ms',
      '--drain-wait',
      '3s',
      '--check-inter',
      '500ms',
    ],
    join(dir, 'frontdoor-sync.log'),
  );
  extra.push(agent.proc);
  await agent.waitLine(/^shardis frontdoor sync ready/, 30000);

  const redisPort = port(info.groups[0]!.master);
  // The proxies that are still serving after each step (proxy 1 is killed and proxy 2 drained below).
  const live: Array<{ admin: string; addr: string; proc: Spawned }> = [
    { admin: info.proxies[2]!.admin, addr: info.proxies[2]!.addr, proc: cluster.procs.find((p) => p.pid === info.proxies[2]!.pid)! },
  ];
  const startProxy = async (name: string): Promise<{ proc: Spawned; port: number; adminPort: number }> => {
    const p = await startProxyProcess(
      ['--dashboard', dash, '--product-name', 'sdfd', '--proxy-addr', '127.0.0.1:0', '--admin-addr', '127.0.0.1:0'],
      join(dir, `${name}.log`),
    );
    extra.push(p.proc);
    return p;
  };
  const w = new WriteWorkload('127.0.0.1', frontPort, 8, 'fd');
  try {
    w.phase = 'steady';
    await w.progress(300);

    await t.test('kill -9 of a proxy: the health check marks it down, new connections reach the others', async () => {
      w.phase = 'kill';
      const victim = info.proxies[0]!;
      const victimName = haproxyServerName({ token: await proxyToken(dash, victim.admin) });
      const killedAt = Date.now();
      await cluster!.procs.find((p) => p.pid === victim.pid)!.kill9();
      await waitFor(
        'HAProxy marks the killed proxy down',
        async () => (await showServers(rt, BACKEND)).find((s) => s.name === victimName)?.opState === 0,
        15000,
        50,
      );
      const downAfter = Date.now() - killedAt;
      assert.ok(downAfter < 10000, `down after ${downAfter} ms (inter 500 ms, fall 2)`);
      await w.progress(300);
      // New connections reach the others.
      for (let i = 0; i < 5; i++) {
        const c = new Redis({ port: frontPort, maxRetriesPerRequest: 0 });
        assert.equal(await c.ping(), 'PONG');
        c.disconnect();
      }
    });

    await t.test('a proxy brought online is added through the Runtime API and gets connections, no reload', async () => {
      w.phase = 'add';
      const p4 = await startProxy('proxy-4');
      live.push({ admin: `127.0.0.1:${p4.adminPort}`, addr: `127.0.0.1:${p4.port}`, proc: p4.proc });
      const name4 = haproxyServerName({ token: await proxyToken(dash, `127.0.0.1:${p4.adminPort}`) });
      await waitFor(
        'the agent adds proxy 4 and its check passes',
        async () => (await showServers(rt, BACKEND)).find((s) => s.name === name4)?.opState === 2,
        20000,
        100,
      );
      // leastconn sends new connections to the emptiest server: the new one.
      const fresh = Array.from({ length: 4 }, () => new Redis({ port: frontPort }));
      await Promise.all(fresh.map((c, i) => c.set(`fd:fresh:${i}`, 'x')));
      const ops = await httpJson('GET', `127.0.0.1:${p4.adminPort}`, '/proxy/stats', { timeoutMs: 3000, headers: productBearer('sdfd') });
      assert.ok((ops.json as { ops: { total: number } }).ops.total > 0, 'proxy 4 served requests');
      for (const c of fresh) c.disconnect();
      assert.ok((await runtimeCommand(rt, 'show info')).includes(`Pid: ${haproxyPid}`), 'same HAProxy process: no reload');
    });

    await t.test('admin proxy offline drains a proxy with zero client errors', async () => {
      w.phase = 'drain';
      const errorsBefore = w.errors.length;
      const victim = info.proxies[1]!;
      const s = await httpJson('GET', dash, '/topom/stats', { timeoutMs: 3000, headers: productBearer('sdfd') });
      const model = (s.json as { proxy: { models: Array<{ id: number; admin_addr: string; token: string }> } }).proxy.models.find(
        (m) => m.admin_addr === victim.admin,
      )!;
      const sessionsBefore = (await serverSessions(rt, BACKEND)).get(haproxyServerName(model)) ?? 0;
      assert.ok(sessionsBefore > 0, 'the drained proxy had client sessions');
      const off = await runShardis(
        ['admin', '--dashboard', dash, 'proxy', 'offline', String(model.id), '--frontdoor', rt, '--drain-wait', '1500'],
        60000,
      );
      assert.equal(off.code, 0, off.stderr);
      assert.ok(!(await showServers(rt, BACKEND)).some((x) => x.name === haproxyServerName(model)), 'server removed from HAProxy');
      await waitFor(
        'the drained proxy process exits',
        async () => cluster!.procs.find((p) => p.pid === victim.pid)!.child.exitCode !== null,
        15000,
        100,
      );
      await w.progress(300);
      assert.deepEqual(w.errors.slice(errorsBefore), [], 'no client saw an error while the proxy was drained');
    });

    await t.test('rolling restart of every live proxy under load (start a new one, then offline the old): zero client errors', async () => {
      w.phase = 'rolling';
      const errorsBefore = w.errors.length;
      const old = [...live];
      for (const [i, p] of old.entries()) {
        const next = await startProxy(`proxy-rolled-${i}`);
        const nextName = haproxyServerName({ token: await proxyToken(dash, `127.0.0.1:${next.adminPort}`) });
        await waitFor(
          `the agent adds the replacement of ${p.addr} and its check passes`,
          async () => (await showServers(rt, BACKEND)).find((s) => s.name === nextName)?.opState === 2,
          20000,
          100,
        );
        const id = await proxyId(dash, p.admin);
        const off = await runShardis(
          ['admin', '--dashboard', dash, 'proxy', 'offline', String(id), '--frontdoor', rt, '--drain-wait', '1500'],
          60000,
        );
        assert.equal(off.code, 0, off.stderr);
        await waitFor(`the old proxy ${p.addr} exits`, async () => p.proc.child.exitCode !== null, 15000, 100);
        live.splice(live.indexOf(p), 1);
        live.push({ admin: `127.0.0.1:${next.adminPort}`, addr: `127.0.0.1:${next.port}`, proc: next.proc });
        await w.progress(200);
      }
      // Up in HAProxy: exactly the replacements (the proxy killed above is still listed, down, until removed).
      const names = await Promise.all(live.map(async (p) => haproxyServerName({ token: await proxyToken(dash, p.admin) })));
      const up = (await showServers(rt, BACKEND)).filter((s) => s.opState === 2).map((s) => s.name);
      assert.deepEqual(up.sort(), names.sort(), 'the servers up in HAProxy are exactly the replacements');
      assert.deepEqual(w.errors.slice(errorsBefore), [], 'no client saw an error during the rolling restart');
    });
  } finally {
    await w.stop();
  }
  const lost = await w.lost(redisPort);
  assert.deepEqual(lost.slice(0, 10), [], `${lost.length} of ${w.acked.size} acknowledged writes lost`);
  assert.deepEqual(
    w.errors.filter((e) => e.phase !== 'kill'),
    [],
    'errors only possible for requests in flight on the killed proxy',
  );

  await t.test('nginx stream front door: traffic flows and a dead proxy is skipped', async () => {
    const alive = live[0]!;
    const dead = info.proxies[0]!.addr; // killed above
    const nport = await freePort();
    const ndir = mkdtempSync(join(tmpdir(), 'sdfd-nginx-'));
    const proxies = await staticDirectory([dead, alive.addr]).list();
    const conf = join(ndir, 'nginx.conf');
    writeFileSync(
      conf,
      renderNginxConfig(proxies, { ...defaultNginxOptions(), bind: `127.0.0.1:${nport}`, pidFile: join(ndir, 'nginx.pid') }),
    );
    const nginx = await startNginx(conf, ndir, nport);
    extra.push(nginx);
    for (let i = 0; i < 10; i++) {
      const c = new Redis({ port: nport, maxRetriesPerRequest: 0 });
      await c.set(`fd:nginx:${i}`, String(i));
      assert.equal(await c.get(`fd:nginx:${i}`), String(i));
      c.disconnect();
    }
    const st = await httpJson('GET', alive.admin, '/proxy/stats', { timeoutMs: 3000, headers: productBearer('sdfd') });
    assert.ok((st.json as { sessions: { total: number } }).sessions.total >= 10, 'the live proxy got the connections');
  });
});

async function proxyId(dash: string, admin: string): Promise<number> {
  const s = await httpJson('GET', dash, '/topom/stats', { timeoutMs: 3000, headers: productBearer('sdfd') });
  const m = (s.json as { proxy: { models: Array<{ id: number; admin_addr: string }> } }).proxy.models.find((x) => x.admin_addr === admin);
  if (!m) throw new Error(`the dashboard does not list the proxy ${admin}`);
  return m.id;
}

async function proxyToken(dash: string, admin: string): Promise<string> {
  let token = '';
  await waitFor(
    `dashboard lists ${admin}`,
    async () => {
      const s = await httpJson('GET', dash, '/topom/stats', { timeoutMs: 3000, headers: productBearer('sdfd') });
      token =
        (s.json as { proxy: { models: Array<{ admin_addr: string; token: string }> } }).proxy.models.find((m) => m.admin_addr === admin)
          ?.token ?? '';
      return token !== '';
    },
    15000,
    100,
  );
  return token;
}
