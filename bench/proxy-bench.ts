// Proxy benchmark: redis-benchmark against direct Redis, Twemproxy (nutcracker) and Shardis, in the
// same run, interleaved (A B C, A B C, ...), reporting medians and ratios (DESIGN.md §3). Absolute
// numbers on a shared 2-core machine mean little; the ratios are the point.
//
//   npm run bench                      # full run, writes bench/reports/proxy-<date>.md
//   npm run bench -- --quick           # smoke run (small N, 1 round), no report file
//   npm run bench -- --help            # all options
//   npm run bench:twemproxy            # Shardis in Twemproxy mode (shardis nutcracker) beside nutcracker,
//                                      # same nutcracker.yml; writes bench/reports/twemproxy-<date>.md
//
// Everything runs on 127.0.0.1. Every child process is stopped at the end, on error and on Ctrl-C.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { startRedisServer, type RedisServer } from '../src/util/redis-server.js';
import { spawnTracked, type Spawned } from '../src/util/processes.js';
import { freePort } from '../src/util/free-port.js';
import { evenSlots } from '../src/models/layout.js';
import { startProxyProcess, startShardisProcess } from '../src/util/shardis-process.js';
import { VERSION } from '../src/version.js';
import { benchNutcrackerYml, processTree, redisBenchmarkArgs } from './bench-util.js';
import { startNutcracker } from '../src/util/nutcracker-server.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const HOST = '127.0.0.1';
const ALL_TESTS = ['set', 'get', 'mset', 'mget'] as const;
const ALL_TARGETS = ['redis', 'nutcracker', 'shardis'] as const;
type TestName = (typeof ALL_TESTS)[number];
type TargetName = (typeof ALL_TARGETS)[number];
const MULTI_KEYS = 10;
const VALUE = 'xxx'; // redis-benchmark's default 3-byte SET value
/** The key redis-benchmark's SET/GET tests use with -r: "key:" + 12-digit number. */
const keyName = (i: number): string => `key:${String(i).padStart(12, '0')}`;

// ---------------------------------------------------------------------------------------------
// Options

interface Opts {
  rounds: number;
  requests: number;
  clients: number;
  workers: number;
  pin: boolean;
  quick: boolean;
  tests: TestName[];
  targets: TargetName[];
  pipelines: number[];
  keyspace: number;
  timeout: number;
  warmup: boolean;
  out?: string;
  report: boolean;
  keep: boolean;
  /** Shardis runs as `shardis nutcracker` from the same nutcracker.yml as nutcracker. */
  twemproxy: boolean;
}

function parseList<T extends string>(what: string, v: string, allowed: readonly T[]): T[] {
  const items = v
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter(Boolean);
  for (const it of items) if (!allowed.includes(it as T)) throw new Error(`--${what}: unknown "${it}" (allowed: ${allowed.join(',')})`);
  if (items.length === 0) throw new Error(`--${what}: empty list`);
  return allowed.filter((a) => items.includes(a)); // canonical order
}

const posInt =
  (name: string) =>
  (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer`);
    return n;
  };

function parseOpts(argv: string[]): Opts {
  const cmd = new Command('proxy-bench')
    .description('redis-benchmark: direct redis vs nutcracker (Twemproxy) vs Shardis, interleaved, medians + ratios')
    .option('--rounds <n>', 'rounds (each round runs every test on every target once)', posInt('rounds'))
    .option('--requests <n>', 'requests per SET/GET run at pipeline 1; MSET/MGET half, pipeline 16 four times as many', posInt('requests'))
    .option('--clients <n>', 'redis-benchmark parallel connections', posInt('clients'), 50)
    .option('--workers <n>', 'Shardis proxy worker processes', posInt('workers'), 1)
    .option('--no-pin', 'do not pin with taskset (default: client on CPU 0; redis, nutcracker and shardis on CPU 1)')
    .option('--quick', 'smoke run: small N, 1 round, no report file unless --out')
    .option('--tests <list>', `tests to run (${ALL_TESTS.join(',')})`, ALL_TESTS.join(','))
    .option('--targets <list>', `targets (${ALL_TARGETS.join(',')})`, ALL_TARGETS.join(','))
    .option('--pipelines <list>', 'pipeline depths', '1,16')
    .option('--keyspace <n>', 'random key range (-r); all keys are pre-written to both servers', posInt('keyspace'), 100000)
    .option('--timeout <sec>', 'kill a redis-benchmark run that takes longer than this', posInt('timeout'), 60)
    .option('--no-warmup', 'skip the short unrecorded warm-up run per target, test and pipeline depth')
    .option('--out <file>', 'markdown report path (default bench/reports/proxy-<date>.md)')
    .option('--no-report', 'do not write the markdown report')
    .option('--keep', 'keep the temporary directory (logs, configs)')
    .option(
      '--twemproxy',
      'run Shardis in Twemproxy mode (shardis nutcracker) from the same nutcracker.yml as nutcracker (another listen port); report twemproxy-<date>.md',
    );
  cmd.parse(argv, { from: 'user' });
  const o = cmd.opts<Record<string, unknown>>();
  const quick = Boolean(o.quick);
  const pipelines = String(o.pipelines)
    .split(',')
    .map((s) => posInt('pipelines')(s.trim()));
  return {
    rounds: (o.rounds as number | undefined) ?? (quick ? 1 : 3),
    requests: (o.requests as number | undefined) ?? (quick ? 20000 : 200000),
    clients: o.clients as number,
    workers: o.workers as number,
    pin: o.pin as boolean,
    quick,
    tests: parseList('tests', String(o.tests), ALL_TESTS),
    targets: parseList('targets', String(o.targets), ALL_TARGETS),
    pipelines,
    keyspace: o.keyspace as number,
    timeout: o.timeout as number,
    warmup: o.warmup as boolean,
    out: o.out as string | undefined,
    report: (o.report as boolean) && (!quick || o.out !== undefined),
    keep: Boolean(o.keep),
    twemproxy: Boolean(o.twemproxy),
  };
}

/** Requests for one run: SET/GET at P1 get `base`; multi-key commands carry 10 keys each (half); P>1 x4. */
function requestsFor(o: Opts, test: TestName, pipeline: number): number {
  let n = o.requests;
  if (test === 'mset' || test === 'mget') n = Math.max(1000, Math.round(n / 2));
  if (pipeline > 1) n *= 4;
  return n;
}

// ---------------------------------------------------------------------------------------------
// Processes, pinning, RSS

function have(cmd: string, args: string[]): boolean {
  try {
    execFileSync(cmd, args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** stdout + stderr of a short command (some tools print their version on stderr), or 'unknown'. */
function tryOutput(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 10000 });
  return `${r.stdout ?? ''}${r.stderr ?? ''}`.trim() || 'unknown';
}

const nutcrackerVersion = (): string => /nutcracker-(\S+)/.exec(tryOutput('nutcracker', ['-V']))?.[1] ?? 'unknown';

/** Pins every thread of the process and its descendants to one CPU. */
function pinTree(pid: number, cpu: number): void {
  for (const p of processTree(pid)) execFileSync('taskset', ['-a', '-p', '-c', String(cpu), String(p)], { stdio: 'ignore' });
}

function rssBytes(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+)\s+kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

class RssSampler {
  readonly idle = new Map<string, number>();
  readonly max = new Map<string, number>();
  private timer?: NodeJS.Timeout;
  constructor(private readonly procs: Map<string, number>) {}
  private sample(): void {
    for (const [name, pid] of this.procs) {
      const total = processTree(pid).reduce((s, p) => s + rssBytes(p), 0);
      if (!this.idle.has(name)) this.idle.set(name, total);
      if (total > (this.max.get(name) ?? 0)) this.max.set(name, total);
    }
  }
  start(): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), 200);
  }
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.sample();
  }
}

// ---------------------------------------------------------------------------------------------
// RESP helpers (setup and sanity checks only; the benchmark itself is redis-benchmark)

function resp(args: string[]): string {
  return `*${args.length}\r\n` + args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('');
}

/** Sends `payload` and reads until `expected` bytes arrived (or timeout); returns what arrived. */
function exchange(port: number, payload: string, expectedLen: number, timeoutMs = 10000): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, HOST);
    const chunks: Buffer[] = [];
    let len = 0;
    const done = (err?: Error): void => {
      clearTimeout(t);
      s.destroy();
      if (err) reject(err);
      else resolve(Buffer.concat(chunks).toString());
    };
    const t = setTimeout(
      () =>
        done(new Error(`no complete reply within ${timeoutMs} ms (got ${JSON.stringify(Buffer.concat(chunks).toString().slice(0, 200))})`)),
      timeoutMs,
    );
    s.on('connect', () => s.write(payload));
    s.on('data', (d: Buffer) => {
      chunks.push(d);
      len += d.length;
      if (len >= expectedLen) done();
    });
    s.on('error', (e) => done(e));
  });
}

/** Writes key:000000000000 .. key:<keyspace-1> = "xxx" to a server, so GET/MGET always hit. */
async function populate(port: number, keyspace: number): Promise<void> {
  const batch = 1000;
  let payload = '';
  let cmds = 0;
  for (let i = 0; i < keyspace; i += batch) {
    const args = ['MSET'];
    for (let k = i; k < Math.min(keyspace, i + batch); k++) args.push(keyName(k), VALUE);
    payload += resp(args);
    cmds++;
  }
  const reply = await exchange(port, payload, cmds * 5, 60000);
  if (reply !== '+OK\r\n'.repeat(cmds))
    throw new Error(`populate on port ${port}: unexpected reply ${JSON.stringify(reply.slice(0, 200))}`);
}

/** Checks SET/GET/MSET/MGET through a target return exactly what direct Redis would. */
async function sanityCheck(port: number, keyspace: number): Promise<string[]> {
  const problems: string[] = [];
  const keys = Array.from({ length: MULTI_KEYS }, (_, i) => keyName(Math.floor((i * keyspace) / MULTI_KEYS) + 7));
  const expectMget = `*${MULTI_KEYS}\r\n` + `$${VALUE.length}\r\n${VALUE}\r\n`.repeat(MULTI_KEYS);
  const checks: Array<[string, string[], string]> = [
    ['SET', ['SET', keys[0]!, VALUE], '+OK\r\n'],
    ['GET', ['GET', keys[0]!], `$${VALUE.length}\r\n${VALUE}\r\n`],
    ['MSET', ['MSET', ...keys.flatMap((k) => [k, VALUE])], '+OK\r\n'],
    ['MGET', ['MGET', ...keys], expectMget],
  ];
  for (const [name, args, expected] of checks) {
    try {
      const got = await exchange(port, resp(args), expected.length, 5000);
      if (got !== expected)
        problems.push(`${name}: expected ${JSON.stringify(expected.slice(0, 60))}, got ${JSON.stringify(got.slice(0, 120))}`);
    } catch (e) {
      problems.push(`${name}: ${(e as Error).message}`);
    }
  }
  return problems;
}

// ---------------------------------------------------------------------------------------------
// redis-benchmark runs

interface RunResult {
  ok: boolean;
  rps: number;
  p50: number;
  p99: number;
  seconds: number;
  error?: string;
  stderr: string[];
}

function benchArgs(o: Opts, port: number, test: TestName, pipeline: number, n: number): string[] {
  return redisBenchmarkArgs({ host: HOST, clients: o.clients, keyspace: o.keyspace }, port, test, pipeline, n);
}

/** The redis-benchmark run in progress (killed first on Ctrl-C), and whether we were interrupted. */
let currentBench: Spawned | undefined;
let interrupted = false;

const CSV_HEADER = '"test","rps","avg_latency_ms","min_latency_ms","p50_latency_ms","p95_latency_ms","p99_latency_ms","max_latency_ms"';

async function runBenchmark(o: Opts, pinned: boolean, port: number, test: TestName, pipeline: number, n: number): Promise<RunResult> {
  const args = benchArgs(o, port, test, pipeline, n);
  const [cmd, argv] = pinned ? ['taskset', ['-c', '0', 'redis-benchmark', ...args]] : ['redis-benchmark', args];
  const started = Date.now();
  const proc: Spawned = spawnTracked(cmd, argv as string[], { stdio: ['ignore', 'pipe', 'pipe'] });
  currentBench = proc;
  let stdout = '';
  let stderr = '';
  proc.child.stdout!.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  proc.child.stderr!.on('data', (d: Buffer) => {
    stderr = (stderr + d.toString()).slice(-20000);
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    void proc.kill9();
  }, o.timeout * 1000);
  const code = await proc.exited;
  clearTimeout(timer);
  currentBench = undefined;
  if (interrupted)
    await new Promise<never>(() => {
      /* exiting: never report this run */
    });
  const seconds = (Date.now() - started) / 1000;
  // redis-benchmark 7 prints progress with \r on stderr; keep only distinct real lines.
  const errLines = [
    ...new Set(
      stderr
        .split(/[\r\n]+/)
        .map((l) => l.trim())
        .filter((l) => l && !l.includes('rps=')),
    ),
  ];
  const outLines = stdout
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter(Boolean);
  const dataLine = outLines.find((l) => l.startsWith('"') && l !== CSV_HEADER);
  const otherOut = outLines.filter((l) => !l.startsWith('"'));
  const fail = (error: string): RunResult => ({ ok: false, rps: 0, p50: 0, p99: 0, seconds, error, stderr: [...otherOut, ...errLines] });
  if (timedOut) return fail(`timed out after ${o.timeout} s (killed)`);
  if (code !== 0) return fail(`redis-benchmark exited with ${code}: ${[...otherOut, ...errLines].slice(-3).join(' | ') || 'no output'}`);
  if (!dataLine) return fail(`no CSV result line in output: ${[...otherOut, ...errLines].slice(-3).join(' | ')}`);
  const cols = dataLine.split('","').map((c) => c.replace(/^"|"$/g, ''));
  const num = (i: number): number => Number(cols[i]);
  const r: RunResult = { ok: true, rps: num(1), p50: num(4), p99: num(6), seconds, stderr: [...otherOut, ...errLines] };
  if (![r.rps, r.p50, r.p99].every(Number.isFinite)) return fail(`unparsable CSV line: ${dataLine}`);
  return r;
}

// ---------------------------------------------------------------------------------------------
// Statistics and output

const median = (xs: number[]): number => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const fmtOps = (n: number): string => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '-');
const fmtMs = (n: number): string => (Number.isFinite(n) ? n.toFixed(3) : '-');
const fmtRatio = (n: number): string => (Number.isFinite(n) ? n.toFixed(2) : '-');
const fmtMiB = (b: number | undefined): string => (b ? `${(b / 1024 / 1024).toFixed(1)} MiB` : '-');

interface Row {
  test: string;
  pipeline: number;
  target: TargetName;
  ops: number;
  p50: number;
  p99: number;
  vsNut: number;
  vsRedis: number;
  ok: number;
  total: number;
}

function renderText(headers: string[], rows: string[][], rightAlign: boolean[]): string {
  const w = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (rightAlign[i] ? c.padStart(w[i]!) : c.padEnd(w[i]!))).join('  ');
  return [line(headers), w.map((n) => '-'.repeat(n)).join('  '), ...rows.map(line)].join('\n');
}

function renderMarkdown(headers: string[], rows: string[][], rightAlign: boolean[]): string {
  return [
    `| ${headers.join(' | ')} |`,
    `|${rightAlign.map((r) => (r ? '---:' : ':---')).join('|')}|`,
    ...rows.map((r) => `| ${r.join(' | ')} |`),
  ].join('\n');
}

// ---------------------------------------------------------------------------------------------
// Main

interface Target {
  name: TargetName;
  port: number;
  pid?: number;
  note: string;
}

async function main(): Promise<void> {
  const o = parseOpts(process.argv.slice(2));
  const cleanups: Array<() => Promise<void>> = [];
  let cleaning: Promise<void> | undefined;
  const cleanup = (): Promise<void> => {
    cleaning ??= (async () => {
      for (const c of cleanups.reverse()) {
        try {
          await c();
        } catch {
          /* best effort */
        }
      }
    })();
    return cleaning;
  };
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      console.error(`\n${sig}: stopping everything the benchmark started`);
      interrupted = true;
      void (currentBench?.kill9() ?? Promise.resolve()).then(cleanup).finally(() => process.exit(130));
    });
  }

  const notes: string[] = [];
  const ncpu = os.availableParallelism?.() ?? os.cpus().length;
  let pinned = o.pin;
  let pinning = 'client (redis-benchmark) on CPU 0; redis-servers, nutcracker and shardis on CPU 1';
  if (o.pin && !have('taskset', ['-V'])) {
    pinned = false;
    pinning = 'none: taskset not found, running unpinned';
  } else if (o.pin && ncpu < 2) {
    pinned = false;
    pinning = `none: only ${ncpu} CPU, running unpinned`;
  } else if (!o.pin) pinning = 'none (--no-pin)';
  if (o.targets.includes('nutcracker') && !have('nutcracker', ['-V']))
    throw new Error('nutcracker not found (Debian package "nutcracker")');
  if (!have('redis-benchmark', ['--version'])) throw new Error('redis-benchmark not found (Debian package "redis-tools")');
  console.log(`pinning: ${pinning}`);
  // The orchestrator (this script) mostly sleeps; keep it on the client core.
  if (pinned) execFileSync('taskset', ['-a', '-p', '-c', '0', String(process.pid)], { stdio: 'ignore' });

  const tmp = mkdtempSync(join(os.tmpdir(), 'shardis-bench-'));
  if (!o.keep) cleanups.push(async () => rmSync(tmp, { recursive: true, force: true }));
  try {
    // 1. Two redis groups (one master each, no persistence).
    const servers: RedisServer[] = [];
    for (let i = 1; i <= 2; i++) {
      const s = await startRedisServer({ host: HOST, dir: join(tmp, `redis-${i}`) });
      servers.push(s);
      cleanups.push(() => s.stop());
      if (pinned) pinTree(s.proc.pid, 1);
    }
    console.log(`redis-servers: ${servers.map((s) => s.addr).join(', ')}`);
    const targets: Target[] = [];
    if (o.targets.includes('redis'))
      targets.push({ name: 'redis', port: servers[0]!.port, note: `direct to group 1 master ${servers[0]!.addr} only` });

    // 2. Twemproxy. (--twemproxy: Shardis gets the same file with its own listen port.)
    const nutcrackerYml = (port: number): string =>
      benchNutcrackerYml(
        'shardis_bench',
        HOST,
        port,
        servers.map((x) => x.addr),
      );
    if (o.targets.includes('nutcracker')) {
      const port = await freePort(HOST);
      const nut = await startNutcracker({ config: nutcrackerYml(port), listenPorts: [port], dir: tmp });
      cleanups.push(() => nut.stop());
      const proc = nut.proc;
      if (pinned) pinTree(proc.pid, 1);
      targets.push({
        name: 'nutcracker',
        port,
        pid: proc.pid,
        note: `nutcracker ${nutcrackerVersion()}, fnv1a_64 + ketama, server_connections: 1`,
      });
      console.log(`nutcracker: ${HOST}:${port} (pid ${proc.pid})`);
    }

    // 3. Shardis.
    if (o.targets.includes('shardis') && o.twemproxy) {
      const port = await freePort(HOST);
      const conf = join(tmp, 'shardis-nutcracker.yml');
      writeFileSync(conf, nutcrackerYml(port));
      try {
        const p = startShardisProcess('nutcracker', ['-c', conf, '-s', '0', '-a', HOST], join(tmp, 'shardis.log'));
        cleanups.push(() => p.proc.stop());
        await p.waitLine(/shardis nutcracker ready/);
        if (pinned) pinTree(p.proc.pid, 1);
        targets.push({
          name: 'shardis',
          port,
          pid: p.proc.pid,
          note: `shardis ${VERSION} in Twemproxy mode (shardis nutcracker), the same nutcracker.yml as nutcracker, one process`,
        });
        console.log(`shardis (twemproxy mode): ${HOST}:${port} (pid ${p.proc.pid})`);
      } catch (e) {
        const msg = `shardis did not start, left out: ${(e as Error).message}`;
        console.error(msg);
        notes.push(msg);
      }
    } else if (o.targets.includes('shardis')) {
      const slotsFile = join(tmp, 'slots.json');
      writeFileSync(slotsFile, JSON.stringify(evenSlots(servers.map((s, i) => ({ id: i + 1, addr: s.addr })))));
      const port = await freePort(HOST);
      try {
        const p = await startProxyProcess(
          ['--fillslots', slotsFile, '--proxy-addr', `${HOST}:${port}`, '--admin-addr', `${HOST}:0`, '--workers', String(o.workers)],
          join(tmp, 'shardis.log'),
        );
        cleanups.push(() => p.proc.stop());
        if (pinned) pinTree(p.proc.pid, 1);
        targets.push({
          name: 'shardis',
          port: p.port,
          pid: p.proc.pid,
          note: `shardis ${VERSION}, workers=${o.workers}, 2 groups x 512 slots`,
        });
        console.log(`shardis: ${HOST}:${p.port} (pid ${p.proc.pid}, workers=${o.workers}, admin ${HOST}:${p.adminPort})`);
      } catch (e) {
        const msg = `shardis did not start, left out: ${(e as Error).message}`;
        console.error(msg);
        notes.push(msg);
      }
    }
    if (targets.length === 0) throw new Error('no targets to benchmark');

    // Pre-populate every key on both servers, so GET/MGET hit whichever server a proxy routes to.
    for (const s of servers) await populate(s.port, o.keyspace);
    console.log(`populated ${o.keyspace} keys (key:000000000000 ..) on both servers`);
    for (const t of targets) {
      const problems = await sanityCheck(t.port, o.keyspace);
      for (const p of problems) {
        const msg = `sanity check through ${t.name}: ${p}`;
        console.error(msg);
        notes.push(msg);
      }
    }

    const proxyPids = new Map<string, number>(targets.filter((t) => t.pid !== undefined).map((t) => [t.name, t.pid!]));
    const sampler = new RssSampler(proxyPids);
    sampler.start();
    cleanups.push(async () => sampler.stop());

    // Warm-up (unrecorded): JIT, connection setup, CONFIG probing. Every pipeline depth measured: a
    // JIT-compiled proxy warmed at pipeline 16 only compiled the paths that pipeline 1 takes alone
    // (one request per read, one reply per write) during the first measured pipeline-1 run.
    if (o.warmup) {
      for (const test of o.tests)
        for (const pipeline of o.pipelines)
          for (const t of targets) {
            const r = await runBenchmark(o, pinned, t.port, test, pipeline, Math.min(20000, requestsFor(o, test, 1)));
            if (!r.ok) {
              const msg = `warm-up ${test} P${pipeline} through ${t.name} failed: ${r.error}`;
              console.error(msg);
              notes.push(msg);
            }
          }
    }

    // The measured runs: rounds outermost, then test x pipeline, targets interleaved A B C.
    const results = new Map<string, RunResult[]>();
    const stderrSeen = new Map<string, Set<string>>();
    const key = (test: string, p: number, t: string): string => `${test}|${p}|${t}`;
    const totalRuns = o.rounds * o.tests.length * o.pipelines.length * targets.length;
    let done = 0;
    const t0 = Date.now();
    const loadBefore = os.loadavg()[0]!;
    for (let round = 1; round <= o.rounds; round++) {
      for (const test of o.tests)
        for (const pipeline of o.pipelines) {
          const n = requestsFor(o, test, pipeline);
          for (const t of targets) {
            const r = await runBenchmark(o, pinned, t.port, test, pipeline, n);
            done++;
            const k = key(test, pipeline, t.name);
            (results.get(k) ?? results.set(k, []).get(k)!).push(r);
            for (const l of r.stderr) (stderrSeen.get(t.name) ?? stderrSeen.set(t.name, new Set()).get(t.name)!).add(l);
            const status = r.ok
              ? `${fmtOps(r.rps).padStart(10)} ops/s  p50 ${fmtMs(r.p50)}  p99 ${fmtMs(r.p99)} ms  (${r.seconds.toFixed(1)} s)`
              : `FAILED: ${r.error}`;
            console.log(
              `[${String(done).padStart(3)}/${totalRuns}] round ${round} ${test.toUpperCase().padEnd(4)} P${String(pipeline).padEnd(2)} n=${n} ${t.name.padEnd(10)} ${status}`,
            );
            if (!r.ok) notes.push(`round ${round} ${test} P${pipeline} through ${t.name}: ${r.error}`);
          }
        }
    }
    sampler.stop();
    const elapsed = (Date.now() - t0) / 1000;
    const loadAfter = os.loadavg()[0]!;
    for (const t of targets)
      if (t.pid !== undefined && !existsSync(`/proc/${t.pid}`)) notes.push(`${t.name} (pid ${t.pid}) was no longer running at the end`);
    for (const [name, lines] of stderrSeen) {
      for (const l of lines) {
        const benign = l.includes('Could not fetch server CONFIG')
          ? ' (benign: redis-benchmark probes CONFIG GET at start; proxies do not serve CONFIG)'
          : '';
        notes.push(`redis-benchmark output through ${name}: ${l}${benign}`);
      }
    }

    // 4. The table.
    const rows: Row[] = [];
    for (const test of o.tests)
      for (const pipeline of o.pipelines) {
        const med = new Map<TargetName, number>();
        for (const t of targets)
          med.set(t.name, median((results.get(key(test, pipeline, t.name)) ?? []).filter((r) => r.ok).map((r) => r.rps)));
        for (const t of targets) {
          const rs = results.get(key(test, pipeline, t.name)) ?? [];
          const ok = rs.filter((r) => r.ok);
          const ops = med.get(t.name)!;
          rows.push({
            test: test === 'mset' || test === 'mget' ? `${test.toUpperCase()} (${MULTI_KEYS} keys)` : test.toUpperCase(),
            pipeline,
            target: t.name,
            ops,
            p50: median(ok.map((r) => r.p50)),
            p99: median(ok.map((r) => r.p99)),
            vsNut: ops / (med.get('nutcracker') ?? NaN),
            vsRedis: ops / (med.get('redis') ?? NaN),
            ok: ok.length,
            total: rs.length,
          });
        }
      }
    const headers = ['test', 'P', 'target', 'ops/s (median)', 'p50 ms', 'p99 ms', 'vs nutcracker', 'vs redis', 'runs ok'];
    const right = [false, true, false, true, true, true, true, true, true];
    const cells = rows.map((r) => [
      r.test,
      String(r.pipeline),
      r.target,
      fmtOps(r.ops),
      fmtMs(r.p50),
      fmtMs(r.p99),
      fmtRatio(r.vsNut),
      fmtRatio(r.vsRedis),
      `${r.ok}/${r.total}`,
    ]);
    const rssHeaders = ['proxy', 'RSS idle', 'RSS max during runs'];
    const rssCells = [...proxyPids.keys()].map((n) => [n, fmtMiB(sampler.idle.get(n)), fmtMiB(sampler.max.get(n))]);

    const redisVersion = tryOutput('redis-server', ['--version']).replace(/^.*v=(\S+).*$/s, '$1');
    const gitRev = tryOutput('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD']);
    const gitDirty = tryOutput('git', ['-C', ROOT, 'status', '--porcelain', '--untracked-files=no']) ? ' (with uncommitted changes)' : '';
    const argsShown = process.argv.slice(2);
    const reproduce = `npm run bench${argsShown.length ? ' -- ' + argsShown.join(' ') : ''}`;
    const machine = [
      `- CPU: ${ncpu} x ${os.cpus()[0]?.model ?? 'unknown'} (nproc ${ncpu}); kernel ${os.release()}; ${(os.totalmem() / 1024 ** 3).toFixed(1)} GiB RAM`,
      `- node ${process.version}; redis-server ${redisVersion}; ${tryOutput('redis-benchmark', ['--version'])}; nutcracker ${nutcrackerVersion()}; shardis ${VERSION} @ ${gitRev}${gitDirty}`,
      `- pinning: ${pinning}`,
      `- 1-minute load average before / after the measured runs: ${loadBefore.toFixed(2)} / ${loadAfter.toFixed(2)} (other work on the machine skews results)`,
      `- ${o.rounds} round(s), interleaved per test (${targets.map((t) => t.name).join(', ')} in turn); ${o.clients} clients; keyspace -r ${o.keyspace}, 3-byte values; MSET/MGET carry ${MULTI_KEYS} random keys each`,
      `- requests per run: SET/GET ${requestsFor(o, 'set', 1)} at P1, ${requestsFor(o, 'set', 16)} at P>1; MSET/MGET ${requestsFor(o, 'mset', 1)} at P1, ${requestsFor(o, 'mset', 16)} at P>1; wall time of the measured runs ${elapsed.toFixed(0)} s`,
      ...targets.map((t) => `- ${t.name}: ${t.note}`),
    ];
    const text = renderText(headers, cells, right);
    console.log('\n' + text + '\n');
    console.log(renderText(rssHeaders, rssCells, [false, true, true]) + '\n');
    console.log(machine.join('\n'));
    if (notes.length) console.log('\nnotes:\n' + notes.map((n) => `- ${n}`).join('\n'));

    if (o.report) {
      const date = new Date().toISOString().slice(0, 10);
      const file = o.out ?? join(ROOT, 'bench', 'reports', `${o.twemproxy ? 'twemproxy' : 'proxy'}-${date}.md`);
      mkdirSync(join(file, '..'), { recursive: true });
      const md = [
        o.twemproxy ? `# Twemproxy-mode benchmark ${date}` : `# Proxy benchmark ${date}`,
        '',
        `Reproduce: \`${reproduce}\``,
        '',
        'redis-benchmark against direct Redis, Twemproxy (nutcracker) and Shardis over the same two redis-servers.',
        'Medians over the rounds; ratios are of median ops/s. "redis" is one master directly, so its MSET/MGET',
        'hit a single server with no splitting: an upper bound, not a like-for-like comparison.',
        '',
        '## Machine',
        '',
        ...machine,
        '',
        '## Results',
        '',
        renderMarkdown(headers, cells, right),
        '',
        '## Proxy memory (VmRSS of the process tree, sampled every 200 ms)',
        '',
        renderMarkdown(rssHeaders, rssCells, [false, true, true]),
        '',
        ...(notes.length ? ['## Notes', '', ...notes.map((n) => `- ${n}`), ''] : []),
      ].join('\n');
      writeFileSync(file, md);
      console.log(`\nreport: ${relative(process.cwd(), file) || file}`);
    }
    if (o.keep) console.log(`kept ${tmp}`);
  } finally {
    await cleanup();
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    console.error(`proxy-bench: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  },
);
