// What the proxy benchmarks share: the redis-benchmark arguments for SET/GET/MSET/MGET (10 random
// keys, redis-benchmark's own 3-byte value), the nutcracker.yml they compare against, and a process's
// tree from /proc (node:cluster workers), for CPU, RSS and pinning figures.
import { readdirSync, readFileSync } from 'node:fs';

export type BenchTest = 'set' | 'get' | 'mset' | 'mget';
const MULTI_KEYS = 10;
const VALUE = 'xxx'; // redis-benchmark's default 3-byte SET value

/** redis-benchmark arguments (CSV output) for one test against host:port. */
export function redisBenchmarkArgs(
  o: { host: string; clients: number; keyspace: number },
  port: number,
  test: BenchTest,
  pipeline: number,
  n: number,
): string[] {
  const base = [
    '-h',
    o.host,
    '-p',
    String(port),
    '-c',
    String(o.clients),
    '-n',
    String(n),
    '-P',
    String(pipeline),
    '-r',
    String(o.keyspace),
    '--csv',
  ];
  switch (test) {
    case 'set':
      return [...base, '-t', 'set'];
    case 'get':
      return [...base, '-t', 'get'];
    case 'mset':
      return [...base, 'mset', ...Array.from({ length: MULTI_KEYS }, () => ['key:__rand_int__', VALUE]).flat()];
    case 'mget':
      return [...base, 'mget', ...Array.from({ length: MULTI_KEYS }, () => 'key:__rand_int__')];
  }
}

/** The pid and all its descendants (a few levels deep: node:cluster workers), from /proc. */
export function processTree(pid: number): number[] {
  const out: number[] = [];
  const walk = (p: number, depth: number): void => {
    out.push(p);
    if (depth > 4) return;
    let tasks: string[] = [];
    try {
      tasks = readdirSync(`/proc/${p}/task`);
    } catch {
      return;
    }
    for (const t of tasks) {
      let children = '';
      try {
        children = readFileSync(`/proc/${p}/task/${t}/children`, 'utf8');
      } catch {
        continue;
      }
      for (const c of children.trim().split(/\s+/).filter(Boolean)) walk(Number(c), depth + 1);
    }
  };
  walk(pid, 0);
  return out;
}

/** The benchmarks' Twemproxy pool: fnv1a_64 + ketama, one connection per server, over `servers` (host:port). */
export function benchNutcrackerYml(pool: string, host: string, port: number, servers: readonly string[]): string {
  return [
    `${pool}:`,
    `  listen: ${host}:${port}`,
    '  hash: fnv1a_64',
    '  distribution: ketama',
    '  redis: true',
    '  server_connections: 1',
    '  auto_eject_hosts: false',
    '  timeout: 10000',
    '  servers:',
    ...servers.map((addr, i) => `   - ${addr}:1 group${i + 1}`),
    '',
  ].join('\n');
}
