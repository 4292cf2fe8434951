// The cluster façade over several proxies (issue 12): a dashboard and 3 proxy processes with
// cluster_facade on. Every proxy answers CLUSTER SLOTS/SHARDS/NODES/INFO with the same view — the 16384
// slots split over all live proxies — so an ioredis Cluster client spreads its commands over the
// proxies (each one's ops grow). After one proxy is killed (kill -9) the dashboard's stats poll notices,
// the others stop listing it, and the client (after its slots refresh) keeps writing, with every
// acknowledged write readable.
// A draining proxy is left out while it drains; redis-py's RedisCluster and node-redis createCluster
// discover the same nodes.
// Expected duration: ~5 s (up to ~30 s on a loaded machine).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { Cluster, Redis } from 'ioredis';
import { createCluster } from 'redis';
import { proxyXAuth } from '../../src/models/proxy.js';
import { productBearer } from '../helpers/admin-auth.js';
import { startLocalCluster, type LocalCluster } from '../../src/cli/local-cluster.js';
import { httpJson } from '../../src/util/http-json.js';
import { waitFor } from '../../src/util/processes.js';
import { clusterKeySlot } from '../../src/proxy/apps/cluster-facade.js';

let c: LocalCluster | null = null;
const dir = mkdtempSync(join(tmpdir(), 'shardis-facade-peers-'));
let failed = false;

before(async () => {
  c = await startLocalCluster({
    groups: 2,
    replicas: 0,
    proxies: 3,
    dir,
    basePort: 0,
    host: '127.0.0.1',
    product: 'facade-peers',
    dashboardArgs: ['--stats-period', '300ms', '--stats-timeout', '1s', '--group-min-replicas-to-write', '0'],
    proxyArgs: ['--cluster-facade', 'true'],
  });
});

after(async () => {
  await c?.stop();
  if (!failed) rmSync(dir, { recursive: true, force: true });
  else console.error(`cluster-facade-peers: logs kept in ${dir}`);
});

const cluster = (): LocalCluster => {
  if (!c) throw new Error('cluster did not start');
  return c;
};

type SlotsReply = Array<[number, number, [string, number, string, unknown[]]]>;

/** One CLUSTER subcommand's reply from one proxy. */
async function clusterCmd(addr: string, sub: string): Promise<unknown> {
  const [host, port] = addr.split(':');
  const r = new Redis({ host, port: Number(port), lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 2000, commandTimeout: 3000 });
  try {
    await r.connect();
    return await r.call('CLUSTER', sub);
  } finally {
    r.disconnect();
  }
}

/** CLUSTER SLOTS of one proxy, as "from-to host:port" lines. */
async function slotsOf(addr: string): Promise<string[]> {
  const reply = (await clusterCmd(addr, 'SLOTS')) as SlotsReply;
  return reply.map(([from, to, [h, p]]) => `${from}-${to} ${h}:${p}`);
}

async function drain(p: { admin: string }, on: boolean): Promise<void> {
  const model = (await httpJson('GET', p.admin, '/api/proxy/model', { timeoutMs: 3000 })).json as { token: string };
  const xauth = proxyXAuth('facade-peers', '', model.token);
  const r = await httpJson('PUT', p.admin, `/api/proxy/drain/${xauth}/${on ? 1 : 0}`, { timeoutMs: 3000 });
  assert.equal(r.status, 200, `drain ${on}`);
}

const PY = '/usr/bin/python3';
/** redis-py's RedisCluster through one proxy: the masters it discovers, after a SET/GET of a few keys. */
function pyClusterNodes(addr: string): Promise<string[]> {
  const script = [
    'import sys',
    'from redis.cluster import RedisCluster',
    'rc = RedisCluster(host=sys.argv[1], port=int(sys.argv[2]))',
    'for i in range(50):',
    "    rc.set(f'py:{i}', str(i))",
    "    assert rc.get(f'py:{i}') == str(i).encode()",
    "print(' '.join(sorted(f'{n.host}:{n.port}' for n in rc.get_primaries())))",
  ].join('\n');
  const [host, port] = addr.split(':');
  return new Promise((resolve, reject) => {
    execFile(PY, ['-c', script, host ?? '', port ?? ''], { encoding: 'utf8', timeout: 30000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`redis-py: ${err.message} ${stderr}`));
      else resolve(stdout.trim().split(' '));
    });
  });
}

async function opsOf(admin: string): Promise<number> {
  const r = await httpJson('GET', admin, '/proxy/stats', { timeoutMs: 3000, headers: productBearer('facade-peers') });
  assert.equal(r.status, 200, `stats of ${admin}`);
  return (r.json as { ops: { total: number } }).ops.total;
}

/** Waits until every proxy in `askOn` answers CLUSTER SLOTS naming exactly `want`; returns the (identical) view. */
async function waitForView(askOn: string[], want: string[]): Promise<string[]> {
  let last: string[][] = [];
  await waitFor(
    `CLUSTER SLOTS on ${askOn.join(', ')} to name exactly ${want.join(', ')}`,
    async () => {
      last = await Promise.all(askOn.map((a) => slotsOf(a).catch(() => [])));
      return last.every((v) => JSON.stringify(v.map((l) => l.split(' ')[1]).sort()) === JSON.stringify([...want].sort()));
    },
    20000,
    200,
  );
  for (const v of last) assert.deepEqual(v, last[0], 'every proxy gives the same view');
  return last[0] ?? [];
}

test('ioredis Cluster spreads over every live façade proxy and survives losing one', { timeout: 90_000 }, async () => {
  try {
    await scenario();
  } catch (e) {
    failed = true;
    throw e;
  }
});

async function scenario(): Promise<void> {
  const proxies = cluster().info.proxies;
  assert.equal(proxies.length, 3);
  const addrs = proxies.map((p) => p.addr);

  // Every proxy lists all three, with the same contiguous ranges covering 0..16383.
  const view = await waitForView(addrs, addrs);
  const ranges = view.map((l) => l.split(' ')[0]);
  assert.deepEqual(ranges, ['0-5460', '5461-10921', '10922-16383']);
  const sorted = [...addrs].sort();
  assert.deepEqual(
    view.map((l) => l.split(' ')[1]),
    sorted,
    'nodes in address order',
  );

  // CLUSTER NODES: the same three nodes everywhere, `myself` on the proxy asked.
  for (const a of addrs) {
    const lines = String(await clusterCmd(a, 'NODES'))
      .trim()
      .split('\n');
    assert.equal(lines.length, 3);
    const mine = lines.filter((l) => l.includes('myself'));
    assert.equal(mine.length, 1);
    assert.ok(mine[0]?.includes(` ${a}@`), `myself is ${a}: ${mine[0]}`);
  }
  // redis-py's RedisCluster discovers all three.
  if (existsSync(PY)) assert.deepEqual(await pyClusterNodes(addrs[1] ?? ''), sorted);

  // A draining proxy is taken out of the view, and put back when it stops draining.
  const drained = proxies[0];
  assert.ok(drained);
  await drain(drained, true);
  await waitForView(
    addrs,
    addrs.filter((a) => a !== drained.addr),
  );
  await drain(drained, false);
  await waitForView(addrs, addrs);

  const before = await Promise.all(proxies.map((p) => opsOf(p.admin)));
  const cl = new Cluster([{ host: '127.0.0.1', port: Number(addrs[0]?.split(':')[1]) }], {
    slotsRefreshTimeout: 2000,
    slotsRefreshInterval: 1000,
    clusterRetryStrategy: (times) => (times > 50 ? null : 200),
    redisOptions: { connectTimeout: 2000, maxRetriesPerRequest: 3 },
  });
  cl.on('error', () => {
    /* reported through the commands */
  });
  try {
    await waitFor('ioredis Cluster ready', () => cl.status === 'ready', 15000, 50);
    const acked = new Map<string, string>();
    for (let i = 0; i < 300; i++) {
      await cl.set(`k:${i}`, `v${i}`);
      acked.set(`k:${i}`, `v${i}`);
    }
    for (const [k, v] of acked) assert.equal(await cl.get(k), v);
    // Keys whose cluster slot lands in each node's range went to that proxy.
    const afterOps = await Promise.all(proxies.map((p) => opsOf(p.admin)));
    for (let i = 0; i < proxies.length; i++) {
      const grew = (afterOps[i] ?? 0) - (before[i] ?? 0);
      assert.ok(grew >= 50, `proxy ${proxies[i]?.addr} served ${grew} ops (expected a share of the 600)`);
    }

    // kill -9 the proxy that owns the last range; the other two stop listing it.
    const victim = sorted[2] ?? '';
    const vi = addrs.indexOf(victim);
    const proc = cluster().procs[vi + 1];
    assert.ok(proc, 'victim process');
    await proc.kill9();
    const killedAt = Date.now();
    const survivors = addrs.filter((a) => a !== victim).sort();
    const view2 = await waitForView(survivors, survivors);
    // A measurement, not an assertion (stats_period 300ms here).
    console.log(`# cluster-facade-peers: the survivors dropped the killed proxy after ${Date.now() - killedAt} ms`);
    assert.deepEqual(
      view2.map((l) => l.split(' ')[0]),
      ['0-8191', '8192-16383'],
    );

    // The client keeps working: every key is written until acknowledged (bounded), then all read back.
    const victimKey = (): string => {
      for (let i = 0; ; i++) if (clusterKeySlot(Buffer.from(`after:${i}`)) >= 10922) return `after:${i}`;
    };
    const late = victimKey(); // a key whose old owner was the killed proxy
    const deadline = Date.now() + 30_000;
    for (const k of [late, ...Array.from({ length: 200 }, (_, i) => `after:${i}`)]) {
      for (;;) {
        try {
          await cl.set(k, `w-${k}`);
          acked.set(k, `w-${k}`);
          break;
        } catch (e) {
          if (Date.now() > deadline) throw new Error(`write of ${k} never acknowledged: ${(e as Error).message}`);
          await new Promise((r) => setTimeout(r, 200));
        }
      }
    }
    for (const [k, v] of acked) assert.equal(await cl.get(k), v, `acknowledged ${k} readable`);
    const nodes = cl.nodes('master').map((n) => `${n.options.host}:${n.options.port}`);
    assert.ok(!nodes.includes(victim), `client dropped ${victim} (has ${nodes.join(', ')})`);

    // A new node-redis cluster client, given the dead proxy first, finds the two live ones.
    const nr = createCluster({ rootNodes: [victim, ...survivors].map((a) => ({ url: `redis://${a}` })) });
    nr.on('error', () => {
      /* the dead root node */
    });
    await nr.connect();
    try {
      assert.deepEqual(nr.masters.map((m) => `${m.host}:${m.port}`).sort(), survivors);
      for (const [k, v] of [...acked].slice(0, 100)) assert.equal(await nr.get(k), v);
    } finally {
      await nr.disconnect();
    }
  } finally {
    cl.disconnect();
  }
}
