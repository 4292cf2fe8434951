// TLS cost benchmark: the same redis-benchmark load through one Shardis proxy with TLS off, with TLS
// on the client side only (clients -> proxy), and on both sides (clients -> proxy -> redis-servers'
// tls-port), interleaved round by round, medians reported with ratios to "off". Certificates come from
// a throwaway CA (src/util/tls-certs.ts).
//
//   npm run bench:tls                  # 3 rounds, writes bench/reports/tls-<date>.md
//   npm run bench:tls -- --quick       # 1 round, small N, prints only
//
// Everything runs on 127.0.0.1 and every process is stopped at the end, also on error.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeTestPki } from '../src/util/tls-certs.js';
import { startRedisServer, type RedisServer } from '../src/util/redis-server.js';
import { startProxyProcess } from '../src/util/shardis-process.js';
import { freePort } from '../src/util/free-port.js';
import { evenSlots } from '../src/models/layout.js';
import type { Spawned } from '../src/util/processes.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const quick = process.argv.includes('--quick');
const ROUNDS = quick ? 1 : 3;
const N = quick ? 20000 : 100000;
const CLIENTS = 50;
const TESTS = ['set', 'get'] as const;
const PIPELINES = [1, 16];
type Mode = 'off' | 'client' | 'both';
const MODES: Mode[] = ['off', 'client', 'both'];

interface Row {
  mode: Mode;
  test: string;
  pipeline: number;
  rps: number[];
  p99: number[];
}

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

function bench(port: number, tlsArgs: string[], test: string, pipeline: number): { rps: number; p99: number } {
  const args = [
    ...tlsArgs,
    '-h',
    '127.0.0.1',
    '-p',
    String(port),
    '-n',
    String(pipeline > 1 ? N * 4 : N),
    '-c',
    String(CLIENTS),
    '-P',
    String(pipeline),
    '-t',
    test,
    '-r',
    '100000',
    '--csv',
  ];
  const r = spawnSync('redis-benchmark', args, { encoding: 'utf8', timeout: 300000 });
  const line = r.stdout.split('\n').find((l) => l.startsWith(`"${test.toUpperCase()}"`));
  if (!line) throw new Error(`redis-benchmark ${args.join(' ')} printed no result: ${r.stderr.slice(-300)}`);
  const f = line.split(',').map((x) => Number(x.replace(/"/g, '')));
  return { rps: f[1] as number, p99: f[6] as number };
}

async function main(): Promise<void> {
  const busy = execFileSync('sh', ['-c', "ps -eo comm | grep -cE '^(redis-benchmark|nutcracker)$' || true"]).toString().trim();
  if (busy !== '0') console.warn(`warning: ${busy} redis-benchmark/nutcracker processes already running: figures will be skewed`);
  const tmp = mkdtempSync(join(os.tmpdir(), 'shardis-tls-bench-'));
  const stops: Array<() => Promise<void>> = [];
  try {
    const pki = makeTestPki(join(tmp, 'pki'));
    const servers: RedisServer[] = [];
    for (let i = 0; i < 2; i++) {
      const s = await startRedisServer({ tls: { cert: pki.serverCert, key: pki.serverKey, ca: pki.caCert } });
      servers.push(s);
      stops.push(() => s.stop());
    }
    const plainSlots = join(tmp, 'plain.json');
    const tlsSlots = join(tmp, 'tls.json');
    writeFileSync(plainSlots, JSON.stringify(evenSlots(servers.map((s, i) => ({ id: i + 1, addr: s.addr })))));
    writeFileSync(tlsSlots, JSON.stringify(evenSlots(servers.map((s, i) => ({ id: i + 1, addr: `127.0.0.1:${s.tlsPort!}` })))));
    const start = async (slots: string, backendTls: boolean, name: string): Promise<{ proc: Spawned; port: number; tlsPort: number }> => {
      const tlsPort = await freePort('127.0.0.1');
      const p = await startProxyProcess(
        [
          '--fillslots',
          slots,
          '--proxy-addr',
          '127.0.0.1:0',
          '--admin-addr',
          '127.0.0.1:0',
          '--proxy-tls-addr',
          `127.0.0.1:${tlsPort}`,
          '--tls-cert-file',
          pki.serverCert,
          '--tls-key-file',
          pki.serverKey,
          ...(backendTls ? ['--backend-tls', 'true', '--backend-tls-ca-cert-file', pki.caCert] : []),
        ],
        join(tmp, `${name}.log`),
      );
      stops.push(() => p.proc.stop());
      return { ...p, tlsPort };
    };
    const plainBackends = await start(plainSlots, false, 'proxy-plain-backends');
    const tlsBackends = await start(tlsSlots, true, 'proxy-tls-backends');
    const clientTls = ['--tls', '--cacert', pki.caCert];
    const target: Record<Mode, { port: number; tls: string[] }> = {
      off: { port: plainBackends.port, tls: [] },
      client: { port: plainBackends.tlsPort, tls: clientTls },
      both: { port: tlsBackends.tlsPort, tls: clientTls },
    };
    const rows = new Map<string, Row>();
    for (const m of MODES) bench(target[m].port, target[m].tls, 'set', 1); // warm-up
    for (let round = 0; round < ROUNDS; round++) {
      for (const test of TESTS)
        for (const pipeline of PIPELINES)
          for (const mode of MODES) {
            const r = bench(target[mode].port, target[mode].tls, test, pipeline);
            const key = `${mode}/${test}/${pipeline}`;
            const row = rows.get(key) ?? { mode, test, pipeline, rps: [], p99: [] };
            row.rps.push(r.rps);
            row.p99.push(r.p99);
            rows.set(key, row);
          }
    }
    const lines = [
      '| test | pipeline | TLS | ops/s (median) | ratio to off | p99 ms | p99 ratio to off |',
      '|---|---|---|---|---|---|---|',
    ];
    for (const test of TESTS)
      for (const pipeline of PIPELINES) {
        const off = rows.get(`off/${test}/${pipeline}`) as Row;
        for (const mode of MODES) {
          const r = rows.get(`${mode}/${test}/${pipeline}`) as Row;
          lines.push(
            `| ${test.toUpperCase()} | ${pipeline} | ${mode} | ${median(r.rps).toFixed(0)} | ${(median(r.rps) / median(off.rps)).toFixed(2)} | ${median(r.p99).toFixed(2)} | ${(median(r.p99) / median(off.p99)).toFixed(2)} |`,
          );
        }
      }
    const load = os
      .loadavg()
      .map((x) => x.toFixed(2))
      .join(' ');
    const text = [
      `# TLS cost through one Shardis proxy (${new Date().toISOString().slice(0, 10)})`,
      '',
      `redis-benchmark, ${CLIENTS} clients, ${N} requests (x4 at pipeline 16), ${ROUNDS} interleaved rounds, medians; 2 redis-servers (even slots).`,
      '"client": TLS from redis-benchmark to the proxy only; "both": also from the proxy to the redis-servers\' tls-port. EC P-256 certificates, TLS 1.3.',
      `Machine: ${os.cpus().length} CPUs, load average at the end ${load}.`,
      '',
      ...lines,
      '',
    ].join('\n');
    console.log(text);
    if (!quick) {
      mkdirSync(join(ROOT, 'bench/reports'), { recursive: true });
      const out = join(ROOT, `bench/reports/tls-${new Date().toISOString().slice(0, 10)}.md`);
      writeFileSync(out, text);
      console.log(`report: ${out}`);
    }
  } finally {
    for (const s of stops.reverse()) await s().catch(() => {});
    rmSync(tmp, { recursive: true, force: true });
  }
}

await main();
