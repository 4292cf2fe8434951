// Heap bytes the proxy allocates per request, by allocation site: a proxy in this process over two
// redis-servers, redis-benchmark as the load, and V8's sampling heap profiler (through node:inspector)
// with objects already collected by GC included, so short-lived per-request garbage is counted. Unlike
// ops/s this hardly moves with other load on the machine. Allocation churn drives scavenges and, when
// objects live long enough to be promoted, old-generation growth (RSS).
//
//   npm run build && node dist/bench/proxy-alloc.js --test get --pipeline 1
//   node dist/bench/proxy-alloc.js --test mset --pipeline 16 --requests 100000 --top 20
//
// Everything runs on 127.0.0.1; the servers and the proxy are stopped at the end and on error.
import { Session } from 'node:inspector/promises';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { Command } from 'commander';
import { ProxyServer } from '../src/proxy/proxy.js';
import { defaultProxyConfig } from '../src/proxy/config.js';
import { evenSlots } from '../src/models/layout.js';
import { makeLogger } from '../src/util/log.js';
import { startRedisServer, type RedisServer } from '../src/util/redis-server.js';
import { spawnTracked } from '../src/util/processes.js';
import { redisBenchmarkArgs, type BenchTest } from './bench-util.js';

const HOST = '127.0.0.1';

interface ProfileNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: ProfileNode[];
}

async function runBench(args: string[]): Promise<void> {
  const p = spawnTracked('redis-benchmark', args, { stdio: ['ignore', 'ignore', 'ignore'] });
  const t = setTimeout(() => void p.kill9(), 300_000);
  const code = await p.exited;
  clearTimeout(t);
  if (code !== 0) throw new Error(`redis-benchmark exited with ${code}`);
}

async function main(): Promise<void> {
  const int = (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`not a positive integer: ${v}`);
    return n;
  };
  const o = new Command('proxy-alloc')
    .description('heap bytes allocated per request by the proxy, by allocation site')
    .option('--test <name>', 'get, set, mget or mset (10 keys)', 'get')
    .option('--pipeline <n>', 'pipeline depth', int, 1)
    .option('--requests <n>', 'requests measured (after a warm-up of half as many)', int, 100000)
    .option('--clients <n>', 'redis-benchmark connections', int, 50)
    .option('--top <n>', 'allocation sites listed', int, 12)
    .parse(process.argv)
    .opts<{ test: string; pipeline: number; requests: number; clients: number; top: number }>();
  if (!['get', 'set', 'mget', 'mset'].includes(o.test)) throw new Error(`unknown test ${o.test}`);
  const tmp = mkdtempSync(join(os.tmpdir(), 'sdsp-alloc-'));
  const servers: RedisServer[] = [];
  let proxy: ProxyServer | null = null;
  try {
    for (let i = 1; i <= 2; i++) servers.push(await startRedisServer({ host: HOST, dir: join(tmp, `redis-${i}`) }));
    proxy = new ProxyServer({ ...defaultProxyConfig(), proxyAddr: `${HOST}:0` }, 0, makeLogger('proxy', 'warn'));
    const port = await proxy.listen();
    proxy.fillSlots(evenSlots(servers.map((s, i) => ({ id: i + 1, addr: s.addr }))));
    const args = (n: number): string[] =>
      redisBenchmarkArgs({ host: HOST, clients: o.clients, keyspace: 100000 }, port, o.test as BenchTest, o.pipeline, n);
    await runBench(args(Math.ceil(o.requests / 2)));
    const s = new Session();
    s.connect();
    await s.post('HeapProfiler.startSampling', {
      samplingInterval: 1024,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: true,
    });
    await runBench(args(o.requests));
    const { profile } = (await s.post('HeapProfiler.stopSampling')) as unknown as { profile: { head: ProfileNode } };
    s.disconnect();
    const sites = new Map<string, number>();
    let total = 0;
    const walk = (n: ProfileNode, stack: string[]): void => {
      const cf = n.callFrame;
      const here = [...stack, `${cf.functionName || '(anonymous)'} ${cf.url.replace(/^.*\/(dist\/|node:)/, '$1')}:${cf.lineNumber + 1}`];
      if (n.selfSize > 0) {
        const k = here.slice(-3).reverse().join(' < ');
        sites.set(k, (sites.get(k) ?? 0) + n.selfSize);
        total += n.selfSize;
      }
      for (const c of n.children) walk(c, here);
    };
    walk(profile.head, []);
    console.log(
      `${o.test.toUpperCase()} P${o.pipeline}, ${o.requests} requests: ${(total / 1048576).toFixed(1)} MB sampled = ${Math.round(total / o.requests)} B per request`,
    );
    for (const [k, v] of [...sites].sort((a, b) => b[1] - a[1]).slice(0, o.top))
      console.log(`${String(Math.round(v / o.requests)).padStart(6)} B/req  ${k}`);
  } finally {
    await proxy?.shutdown();
    for (const s of servers) await s.stop();
    rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.stack : String(e));
  process.exitCode = 1;
});
