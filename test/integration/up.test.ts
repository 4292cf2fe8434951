// `shardis up` end to end: the one-command local cluster starts, is usable through both proxies and
// managed by its dashboard, and Ctrl-C stops everything it started (servers, sentinels, dashboard,
// proxies). Expected duration: about 15 s.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import { Redis } from 'ioredis';
import { startShardisProcess } from '../../src/util/shardis-process.js';
import { httpJson } from '../../src/util/http-json.js';
import type { ClusterInfo } from '../../src/cli/local-cluster.js';
import { eventually, withDeadline } from '../helpers/poll.js';

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};
const listening = (addr: string): Promise<boolean> =>
  new Promise((resolve) => {
    const [host, port] = [addr.slice(0, addr.lastIndexOf(':')), Number(addr.slice(addr.lastIndexOf(':') + 1))];
    const s = net.connect(port, host, () => {
      s.destroy();
      resolve(true);
    });
    s.on('error', () => resolve(false));
    s.setTimeout(2000, () => {
      s.destroy();
      resolve(false);
    });
  });
const portOf = (addr: string): number => Number(addr.slice(addr.lastIndexOf(':') + 1));

test('shardis up: start, use through both proxies, stop with nothing left running', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'shardis-up-'));
  const up = startShardisProcess('up', ['--dir', dir, '--base-port', '0'], join(dir, 'up.log'));
  const clients: Redis[] = [];
  const client = (port: number): Redis => {
    const c = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 1, commandTimeout: 10000 });
    c.on('error', () => {});
    clients.push(c);
    return c;
  };
  try {
    await up.waitLine(/^Press Ctrl-C/, 90000);
    const info = JSON.parse(readFileSync(join(dir, 'cluster.json'), 'utf8')) as ClusterInfo;
    assert.equal(info.proxies.length, 2);
    assert.equal(info.groups.length, 2);
    assert.ok(info.groups.every((g) => g.replicas.length === 1));
    assert.ok(
      up.lines.some((l) => l.includes(info.proxies[0]!.addr.split(':')[1]!)),
      'the proxy address is printed',
    );

    const [c0, c1] = info.proxies.map((p) => client(portOf(p.addr)));
    const keys = Array.from({ length: 50 }, (_, i) => `up:${i}`);
    assert.equal(await c0!.mset(...keys.flatMap((k) => [k, k])), 'OK');
    assert.deepEqual(await c1!.mget(...keys), keys);
    assert.equal(await c1!.dbsize(), 50);
    // Replication runs: each replica has its master's keys.
    for (const g of info.groups) {
      const m = client(portOf(g.master));
      const r = client(portOf(g.replicas[0]!));
      const n = await m.dbsize();
      assert.ok(n > 0);
      await eventually(`replica of group ${g.id} caught up`, async () => (await r.dbsize()) === n, 10000, 100);
    }
    // The dashboard knows the topology and both proxies.
    const stats = await httpJson('GET', info.dashboard.addr, `/api/topom/stats/${info.dashboard.admin_token}`, { timeoutMs: 5000 });
    assert.equal(stats.status, 200);
    for (const p of info.proxies) assert.ok(stats.text.includes(p.admin), `dashboard lists proxy ${p.admin}`);
    // The web console's URL comes first, with the token; it serves the page and the product's data.
    const consoleLine = /^Web console: (http:\/\/127\.0\.0\.1:(\d+)\/)\?token=([0-9a-f]+)#shardis-demo$/.exec(
      up.lines.find((l) => l.trim() !== '') ?? '',
    );
    assert.ok(consoleLine, `first line: ${up.lines[0]}`);
    assert.equal(consoleLine[3], info.dashboard.admin_token);
    const feAddr = `127.0.0.1:${consoleLine[2]}`;
    assert.match((await httpJson('GET', feAddr, '/', { timeoutMs: 5000 })).text, /Shardis console/);
    assert.deepEqual((await httpJson('GET', feAddr, '/list', { timeoutMs: 5000 })).json, ['shardis-demo']);
    for (const c of clients.splice(0)) c.disconnect();

    up.proc.child.kill('SIGINT');
    assert.equal(await withDeadline('shardis up to exit after Ctrl-C', up.proc.exited, 60000), 0);
    const addrs = [
      feAddr,
      ...info.proxies.map((p) => p.addr),
      ...info.proxies.map((p) => p.admin),
      info.dashboard.addr,
      ...info.groups.flatMap((g) => [g.master, ...g.replicas]),
      ...info.sentinels,
    ];
    assert.ok(info.sentinels.length > 0, 'the cluster has sentinels');
    for (const a of addrs) assert.equal(await listening(a), false, `${a} still listening`);
    for (const pid of [...info.proxies.map((p) => p.pid), info.dashboard.pid]) assert.equal(alive(pid), false, `pid ${pid} still alive`);
    assert.ok(existsSync(join(dir, 'cluster.json')));
  } finally {
    for (const c of clients) c.disconnect();
    if (up.proc.child.exitCode === null && up.proc.child.signalCode === null) {
      // A failure half-way: Ctrl-C it (it stops what it started), and kill it if that does not work.
      up.proc.child.kill('SIGINT');
      await withDeadline('shardis up to exit', up.proc.exited, 30000).catch(() => up.proc.kill9());
    }
  }
});
