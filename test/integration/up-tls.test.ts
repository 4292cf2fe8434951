// `shardis up --tls` end to end: the local cluster on TLS with a throwaway CA (made with openssl):
// redis-cli --tls and ioredis `tls:` through the proxies' TLS listeners (no client certificate needed
// there), TLS-only redis-servers and sentinels (a plain connection gets nothing; with the client
// certificate they answer), replication over TLS, the dashboard and the web console on HTTPS
// reaching servers and sentinels with TLS, the proxies' admin APIs on HTTPS, and Ctrl-C stopping everything. Expected duration: ~20 s.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { startShardisProcess } from '../../src/util/shardis-process.js';
import type { ClusterInfo } from '../../src/cli/local-cluster.js';
import { eventually, withDeadline } from '../helpers/poll.js';

const hostOf = (a: string): string => a.slice(0, a.lastIndexOf(':'));
const portOf = (a: string): number => Number(a.slice(a.lastIndexOf(':') + 1));

/** Plain TCP PING: the reply text, or '' when the port does not answer in plain text. */
const plainPing = (addr: string): Promise<string> =>
  new Promise((resolve) => {
    let got = '';
    const s = net.connect(portOf(addr), hostOf(addr), () => s.write('PING\r\n'));
    s.on('data', (d: Buffer) => (got += d.toString('latin1')));
    s.on('error', () => resolve(got));
    s.on('close', () => resolve(got));
    s.setTimeout(2000, () => s.destroy());
  });

function httpsGet(url: string, ca: Buffer, token?: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { ca, timeout: 10000, headers: token ? { authorization: `Bearer ${token}` } : {} }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('timeout', () => req.destroy(new Error(`${url}: timed out`)));
    req.on('error', reject);
  });
}

test('shardis up --tls: the whole local cluster on TLS, reachable with redis-cli --tls and ioredis tls', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'shardis-up-tls-'));
  const up = startShardisProcess(
    'up',
    ['--tls', '--dir', dir, '--base-port', '0', '--groups', '2', '--replicas', '1', '--proxies', '1', '--sentinels', '1'],
    join(dir, 'up.log'),
  );
  const clients: Redis[] = [];
  try {
    await up.waitLine(/^Press Ctrl-C/, 120000);
    const info = JSON.parse(readFileSync(join(dir, 'cluster.json'), 'utf8')) as ClusterInfo;
    assert.ok(info.tls, 'cluster.json names the CA and client certificate');
    const tls = info.tls;
    const ca = readFileSync(tls.ca);
    const p = info.proxies[0]!;
    const tlsAddr = p.tls_addr ?? '';
    assert.ok(tlsAddr, 'the proxy has a TLS listener');
    // The printed redis-cli line works as printed.
    const printed = up.lines.find((l) => l.includes('redis-cli --tls') && l.includes(String(portOf(tlsAddr))));
    assert.ok(printed, `up prints a redis-cli --tls line for the proxy: ${up.lines.join('\n')}`);
    const argv = printed
      .slice(printed.indexOf('redis-cli') + 'redis-cli'.length)
      .trim()
      .split(/\s+/);
    for (let i = 0; i < 40; i++)
      assert.equal(
        execFileSync('redis-cli', [...argv, 'SET', `t:${i}`, `v${i}`], { timeout: 10000 })
          .toString()
          .trim(),
        'OK',
      );
    assert.equal(
      execFileSync('redis-cli', [...argv, 'GET', 't:7'], { timeout: 10000 })
        .toString()
        .trim(),
      'v7',
    );

    // ioredis with tls: (the CA only; client certificates are optional on the proxies).
    const c = new Redis({ host: hostOf(tlsAddr), port: portOf(tlsAddr), tls: { ca }, maxRetriesPerRequest: 1, commandTimeout: 10000 });
    c.on('error', () => {});
    clients.push(c);
    const pl = c.pipeline();
    for (let i = 0; i < 100; i++) pl.incr('{t}n');
    assert.deepEqual((await pl.exec())?.at(-1), [null, 100]);
    assert.deepEqual(await c.mget('t:1', 't:39', 'none'), ['v1', 'v39', null]);

    // Servers and sentinels are TLS-only: nothing in plain text; with the client certificate they answer.
    const certArgs = ['--tls', '--cacert', tls.ca, '--cert', tls.client_cert, '--key', tls.client_key];
    const tlsCli = (addr: string, ...args: string[]): string =>
      execFileSync('redis-cli', [...certArgs, '-h', hostOf(addr), '-p', String(portOf(addr)), ...args], { timeout: 10000 })
        .toString()
        .trim();
    for (const a of [...info.groups.flatMap((g) => [g.master, ...g.replicas]), ...info.sentinels])
      assert.doesNotMatch(await plainPing(a), /PONG/, `${a} answers plain text`);
    let total = 0;
    for (const g of info.groups) {
      const n = Number(tlsCli(g.master, 'DBSIZE'));
      assert.ok(n > 0, `group ${g.id} got keys`);
      total += n;
      await eventually(
        `replica of group ${g.id} caught up over TLS`,
        async () => Number(tlsCli(g.replicas[0]!, 'DBSIZE')) === n,
        15000,
        200,
      );
    }
    assert.equal(total, 41);
    assert.match(tlsCli(info.sentinels[0]!, 'SENTINEL', 'MASTERS'), /shardis-demo-1/);

    // The dashboard on HTTPS sees every server and the sentinel (its connections are TLS).
    await eventually(
      'dashboard stats over HTTPS with every server up',
      async () => {
        const r = await httpsGet(`https://${info.dashboard.addr}/api/topom/stats/_`, ca, info.dashboard.admin_token);
        if (r.status !== 200) return false;
        const s = JSON.parse(r.text) as {
          group: { stats: Record<string, { error?: string; stats?: { role?: string } }> };
          sentinels: { stats: Record<string, { error?: string }> };
        };
        const servers = info.groups.flatMap((g) => [g.master, ...g.replicas]);
        return (
          servers.every((a) => s.group.stats[a]?.stats?.role && !s.group.stats[a]?.error) && !s.sentinels.stats[info.sentinels[0]!]?.error
        );
      },
      20000,
      250,
    );
    // The proxies' admin APIs are HTTPS too (cluster.json names them https://), and the dashboard reaches
    // them over HTTPS: its stats of the proxy carry no error.
    assert.match(p.admin, /^https:\/\//);
    const adminStats = await httpsGet(`${p.admin}/proxy/stats`, ca, info.dashboard.admin_token);
    assert.equal(adminStats.status, 200, adminStats.text.slice(0, 200));
    assert.equal(await plainPing(p.admin.replace(/^https:\/\//, '')).then((t) => /HTTP\/1\.1 [0-9]/.test(t)), false);
    await eventually(
      'the dashboard to poll the proxy over HTTPS',
      async () => {
        const r = await httpsGet(`https://${info.dashboard.addr}/api/topom/stats/_`, ca, info.dashboard.admin_token);
        const st = JSON.parse(r.text) as { proxy: { stats: Record<string, { error?: string; stats?: unknown }> } };
        const all = Object.values(st.proxy.stats);
        return all.length === 1 && all.every((x) => x.stats !== undefined && !x.error);
      },
      20000,
      250,
    );
    // The web console: an https:// URL first, serving the page and the product list.
    const consoleLine = /^Web console: (https:\/\/[^/]+\/)\?token=([0-9a-f]+)#shardis-demo$/.exec(
      up.lines.find((l) => l.trim() !== '') ?? '',
    );
    assert.ok(consoleLine, `first line: ${up.lines[0]}`);
    assert.match((await httpsGet(consoleLine[1]!, ca)).text, /Shardis console/);
    const viaFe = await httpsGet(`${consoleLine[1]!}api/topom/console/snapshot/_?forward=shardis-demo`, ca, info.dashboard.admin_token);
    assert.equal(viaFe.status, 200, `the console reaches the HTTPS dashboard: ${viaFe.text.slice(0, 200)}`);
    for (const x of clients.splice(0)) x.disconnect();

    up.proc.child.kill('SIGINT');
    assert.equal(await withDeadline('shardis up --tls to exit after Ctrl-C', up.proc.exited, 60000), 0);
    for (const pid of [...info.proxies.map((x) => x.pid), info.dashboard.pid]) {
      let alive = true;
      try {
        process.kill(pid, 0);
      } catch {
        alive = false;
      }
      assert.equal(alive, false, `pid ${pid} still alive`);
    }
  } finally {
    for (const x of clients) x.disconnect();
    if (up.proc.child.exitCode === null && up.proc.child.signalCode === null) {
      up.proc.child.kill('SIGINT');
      await withDeadline('shardis up to exit', up.proc.exited, 30000).catch(() => up.proc.kill9());
    }
  }
});
