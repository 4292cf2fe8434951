// CPU cost per operation of each proxy, measured in a way a loaded machine hardly disturbs: for a
// fixed number of redis-benchmark requests, the proxy process tree's user and system CPU time from
// /proc/PID/stat (before/after), and (with --strace) its syscalls per operation from `strace -c -f`.
// Optionally also an older Shardis build (--baseline DIR: a built checkout) in the same run, and the
// RSS cost of idle client connections (--idle N). Wall-clock ops/s and p99 are printed too, but on
// a shared machine only the CPU and syscall counts are worth comparing.
//
//   npm run bench:cpu                                   # GET/SET/MGET/MSET at P1 and P16, nutcracker vs shardis
//   npm run bench:cpu -- --strace --baseline /tmp/main  # + syscalls/op, + a baseline Shardis build
//   npm run bench:cpu -- --idle 10000 --tests get       # + RSS per idle client connection
//   npm run bench:cpu -- --help
//
// Everything runs on 127.0.0.1; every child process is stopped at the end, on error and on Ctrl-C.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { Command } from 'commander';
import { startRedisServer, type RedisServer } from '../src/util/redis-server.js';
import { spawnTracked, waitFor, type Spawned } from '../src/util/processes.js';
import { freePort } from '../src/util/free-port.js';
import { evenSlots } from '../src/models/layout.js';
import { SHARDIS_BIN, SHARDIS_NODE_FLAGS } from '../src/util/shardis-process.js';
import { benchNutcrackerYml, processTree, redisBenchmarkArgs } from './bench-util.js';
import { startNutcracker } from '../src/util/nutcracker-server.js';

const HOST = '127.0.0.1';
const TESTS = ['get', 'set', 'mget', 'mset'] as const;
type TestName = (typeof TESTS)[number];
const CLK_TCK = 100; // Linux USER_HZ: /proc/PID/stat times are in 1/100 s

interface Opts {
  requests: number;
  clients: number;
  tests: TestName[];
  pipelines: number[];
  keyspace: number;
  strace: boolean;
  straceRequests: number;
  baseline?: string;
  workers: number;
  baseWorkers: number;
  idle: number;
  rounds: number;
  out?: string;
  semiSpace: number;
}

function parseOpts(argv: string[]): Opts {
  const int = (v: string): number => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 0) throw new Error(`not a non-negative integer: ${v}`);
    return n;
  };
  const cmd = new Command('proxy-cpu')
    .description('CPU µs/op (user, sys) and syscalls/op of nutcracker vs shardis for a fixed number of requests')
    .option('--requests <n>', 'requests per run at pipeline 1 (x4 at pipeline > 1; MGET/MSET half)', int, 100000)
    .option('--clients <n>', 'redis-benchmark connections', int, 50)
    .option('--tests <list>', `tests (${TESTS.join(',')})`, TESTS.join(','))
    .option('--pipelines <list>', 'pipeline depths', '1,16')
    .option('--keyspace <n>', 'random key range (-r)', int, 100000)
    .option('--rounds <n>', 'rounds (targets interleaved in each; the table shows medians)', int, 1)
    .option('--strace', 'also count syscalls per op with strace -c -f (separate, smaller run)')
    .option('--strace-requests <n>', 'requests for the strace run', int, 20000)
    .option('--baseline <dir>', 'also measure the Shardis build in DIR (a checkout with dist/ built), as "shardis-base"')
    .option('--workers <n>', 'Shardis --workers', int, 1)
    .option(
      '--baseline-workers <n>',
      '--workers of the baseline build (default: --workers); with --baseline set to this checkout, compares worker counts',
    )
    .option('--idle <n>', 'then open N idle client connections to each proxy and report RSS per connection', int, 0)
    .option(
      '--semi-space <mb>',
      'run the "shardis" target (not the baseline) with --max-semi-space-size=MB instead of the shardis command\'s own (0: keep it); with --baseline set to this checkout, isolates the flag',
      int,
      0,
    )
    .option('--out <file>', 'also write the markdown table to this file');
  cmd.parse(argv, { from: 'user' });
  const o = cmd.opts<Record<string, unknown>>();
  const tests = String(o.tests)
    .split(',')
    .map((s) => s.trim()) as TestName[];
  for (const t of tests) if (!TESTS.includes(t)) throw new Error(`unknown test ${t}`);
  return {
    requests: o.requests as number,
    clients: o.clients as number,
    tests,
    pipelines: String(o.pipelines)
      .split(',')
      .map((s) => int(s.trim())),
    keyspace: o.keyspace as number,
    strace: Boolean(o.strace),
    straceRequests: o.straceRequests as number,
    baseline: o.baseline as string | undefined,
    workers: o.workers as number,
    baseWorkers: typeof o.baselineWorkers === 'string' ? int(o.baselineWorkers) : (o.workers as number),
    idle: o.idle as number,
    rounds: Math.max(1, o.rounds as number),
    out: o.out as string | undefined,
    semiSpace: o.semiSpace as number,
  };
}

/** utime and stime (seconds) of the process tree, all threads included. */
function cpuOf(pid: number): { user: number; sys: number } {
  let user = 0,
    sys = 0;
  for (const p of processTree(pid)) {
    try {
      const s = readFileSync(`/proc/${p}/stat`, 'utf8');
      const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
      user += Number(f[11]) / CLK_TCK; // field 14 (utime), counted from field 3
      sys += Number(f[12]) / CLK_TCK;
    } catch {
      /* gone */
    }
  }
  return { user, sys };
}

function rssOf(pid: number): number {
  let total = 0;
  for (const p of processTree(pid)) {
    try {
      total += Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${p}/status`, 'utf8'))?.[1] ?? 0) * 1024;
    } catch {
      /* gone */
    }
  }
  return total;
}

function resp(args: string[]): string {
  return `*${args.length}\r\n` + args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('');
}

function exchange(port: number, payload: string, expectedLen: number, timeoutMs = 10000): Promise<string> {
  return new Promise((res, rej) => {
    const s = net.connect(port, HOST);
    let got = '';
    const t = setTimeout(() => {
      s.destroy();
      rej(new Error(`no reply from port ${port} within ${timeoutMs} ms`));
    }, timeoutMs);
    s.on('connect', () => s.write(payload));
    s.on('data', (d: Buffer) => {
      got += d.toString('latin1');
      if (got.length >= expectedLen) {
        clearTimeout(t);
        s.destroy();
        res(got);
      }
    });
    s.on('error', (e) => {
      clearTimeout(t);
      rej(e);
    });
  });
}

function benchArgs(o: Opts, port: number, test: TestName, pipeline: number, n: number): string[] {
  return redisBenchmarkArgs({ host: HOST, clients: o.clients, keyspace: o.keyspace }, port, test, pipeline, n);
}

interface Run {
  rps: number;
  p99: number;
}

async function runBench(args: string[], timeoutMs: number): Promise<Run> {
  const p = spawnTracked('redis-benchmark', args, { stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  p.child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const t = setTimeout(() => {
    void p.kill9();
  }, timeoutMs);
  const code = await p.exited;
  clearTimeout(t);
  if (code !== 0) throw new Error(`redis-benchmark ${args.join(' ')} exited with ${code}`);
  const line = out.split('\n').find((l) => l.startsWith('"') && !l.startsWith('"test"'));
  if (!line) throw new Error(`redis-benchmark printed no result: ${out.slice(0, 200)}`);
  const cols = line.split('","').map((c) => c.replace(/"/g, ''));
  return { rps: Number(cols[1]), p99: Number(cols[6]) };
}

/** Total syscalls of `pid`'s tree while `work` runs (strace -c -f attached to every process). */
async function countSyscalls(pid: number, work: () => Promise<void>): Promise<{ total: number; top: string }> {
  const file = join(os.tmpdir(), `sdsp-strace-${process.pid}-${pid}-${Date.now()}.txt`);
  const args = ['-c', '-f', '-o', file];
  for (const p of processTree(pid)) args.push('-p', String(p));
  const st = spawn('strace', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  st.stderr.on('data', (d: Buffer) => {
    err += d.toString();
  });
  // strace prints "Process N attached" once per thread; wait until it has attached to something.
  await waitFor('strace attached', () => err.includes('attached'), 10000, 20);
  try {
    await work();
  } finally {
    const exited = new Promise<void>((r) => st.once('exit', () => r()));
    st.kill('SIGINT');
    const t = setTimeout(() => st.kill('SIGKILL'), 10000);
    await exited;
    clearTimeout(t);
  }
  const text = readFileSync(file, 'utf8');
  rmSync(file, { force: true });
  const rows = text.split('\n').filter((l) => /^\s*[\d.]+\s+[\d.]+\s+\d+\s+\d+/.test(l));
  const parsed = rows.map((l) => {
    const f = l.trim().split(/\s+/);
    return { name: f[f.length - 1]!, calls: Number(f[3]) };
  });
  const listed = parsed.filter((r) => r.name !== 'total');
  const total = parsed.find((r) => r.name === 'total')?.calls ?? listed.reduce((s, r) => s + r.calls, 0);
  const top = listed
    .sort((a, b) => b.calls - a.calls)
    .slice(0, 5)
    .map((r) => `${r.name} ${r.calls}`)
    .join(', ');
  return { total, top };
}

/** Opens `n` client connections, each sending one PING and staying idle; returns RSS growth per connection. */
async function idleRss(pid: number, port: number, n: number): Promise<{ perConn: number; before: number; after: number }> {
  const sockets: net.Socket[] = [];
  const settle = async (): Promise<void> => {
    if (typeof global.gc === 'function') global.gc();
    await new Promise((r) => setTimeout(r, 1500));
  };
  await settle();
  const before = rssOf(pid);
  try {
    const ping = resp(['PING']);
    for (let i = 0; i < n; i += 500) {
      const batch: Array<Promise<void>> = [];
      for (let j = i; j < Math.min(n, i + 500); j++) {
        batch.push(
          new Promise<void>((res, rej) => {
            const s = net.connect(port, HOST);
            sockets.push(s);
            const t = setTimeout(() => rej(new Error('idle connection: no PONG within 20 s')), 20000);
            s.once('connect', () => s.write(ping));
            s.once('data', () => {
              clearTimeout(t);
              res();
            });
            s.once('error', (e) => {
              clearTimeout(t);
              rej(e);
            });
          }),
        );
      }
      await Promise.all(batch);
    }
    // RSS settles after the proxy's GC; take the lowest of a few samples, 1 s apart, at least 3.
    let after = Infinity;
    for (let k = 0; k < 3; k++) {
      await new Promise((r) => setTimeout(r, 1000));
      after = Math.min(after, rssOf(pid));
    }
    return { perConn: (after - before) / n, before, after };
  } finally {
    for (const s of sockets) s.destroy();
  }
}

interface Target {
  name: string;
  port: number;
  pid: number;
}

async function main(): Promise<void> {
  const o = parseOpts(process.argv.slice(2));
  const cleanups: Array<() => Promise<void>> = [];
  const cleanup = async (): Promise<void> => {
    for (const c of cleanups.reverse()) {
      try {
        await c();
      } catch {
        /* best effort */
      }
    }
    cleanups.length = 0;
  };
  process.once('SIGINT', () => {
    void cleanup().finally(() => process.exit(130));
  });
  const tmp = mkdtempSync(join(os.tmpdir(), 'sdsp-cpu-'));
  cleanups.push(async () => rmSync(tmp, { recursive: true, force: true }));
  try {
    const servers: RedisServer[] = [];
    for (let i = 1; i <= 2; i++) {
      const s = await startRedisServer({ host: HOST, dir: join(tmp, `redis-${i}`) });
      servers.push(s);
      cleanups.push(() => s.stop());
    }
    const targets: Target[] = [];
    // nutcracker
    {
      const port = await freePort(HOST);
      const nut = await startNutcracker({
        config: benchNutcrackerYml(
          'bench',
          HOST,
          port,
          servers.map((x) => x.addr),
        ),
        listenPorts: [port],
        dir: tmp,
      });
      cleanups.push(() => nut.stop());
      const proc = nut.proc;
      targets.push({ name: 'nutcracker', port, pid: proc.pid });
    }
    const slotsFile = join(tmp, 'slots.json');
    writeFileSync(slotsFile, JSON.stringify(evenSlots(servers.map((s, i) => ({ id: i + 1, addr: s.addr })))));
    const startShardis = async (name: string, bin: string): Promise<void> => {
      const port = await freePort(HOST);
      // The heap settings the shardis command runs with; --semi-space replaces its semi-space size.
      const flags = SHARDIS_NODE_FLAGS.map((f) =>
        o.semiSpace > 0 && name === 'shardis' && f.startsWith('--max-semi-space-size=') ? `--max-semi-space-size=${o.semiSpace}` : f,
      );
      const proc: Spawned = spawnTracked(
        process.execPath,
        [
          ...flags,
          bin,
          'proxy',
          '--fillslots',
          slotsFile,
          '--proxy-addr',
          `${HOST}:${port}`,
          '--admin-addr',
          `${HOST}:0`,
          '--workers',
          String(name === 'shardis' ? o.workers : o.baseWorkers),
        ],
        { logFile: join(tmp, `${name}.log`) },
      );
      cleanups.push(() => proc.stop());
      await waitFor(name, async () => (await exchange(port, resp(['PING']), 7, 1000)).includes('PONG'), 30000, 100);
      targets.push({ name, port, pid: proc.pid });
    };
    if (o.baseline) await startShardis('shardis-base', resolve(o.baseline, 'bin/shardis.js'));
    await startShardis('shardis', SHARDIS_BIN);
    // Every key exists on both servers, so GET/MGET hit wherever a proxy routes them.
    for (const s of servers) {
      let payload = '',
        cmds = 0;
      for (let i = 0; i < o.keyspace; i += 1000) {
        const args = ['MSET'];
        for (let k = i; k < Math.min(o.keyspace, i + 1000); k++) args.push(`key:${String(k).padStart(12, '0')}`, 'xxx');
        payload += resp(args);
        cmds++;
      }
      await exchange(s.port, payload, cmds * 5, 60000);
    }
    console.log(`targets: ${targets.map((t) => `${t.name} pid ${t.pid} port ${t.port}`).join('; ')}; load ${os.loadavg()[0]!.toFixed(1)}`);
    // Warm-up (JIT, connections): every test at every depth measured, as proxy-bench does. A warm-up at
    // pipeline 16 only left the paths pipeline 1 takes alone (one request per read, one reply per write)
    // to be compiled during the first measured round, whose CPU then counted V8's compiler threads.
    for (const test of o.tests)
      for (const p of o.pipelines) for (const t of targets) await runBench(benchArgs(o, t.port, test, p, 20000), 120000);

    // Peak RSS of each proxy (process tree) during the measured runs, sampled every 200 ms.
    const peakRss = new Map<string, number>();
    const sampleRss = (): void => {
      for (const t of targets) peakRss.set(t.name, Math.max(peakRss.get(t.name) ?? 0, rssOf(t.pid)));
    };
    const rssTimer = setInterval(sampleRss, 200);
    cleanups.push(async () => clearInterval(rssTimer));
    interface Cell {
      user: number[];
      sys: number[];
      rps: number[];
      p99: number[];
      sc?: number;
      top?: string;
    }
    const cells = new Map<string, Cell>();
    const key = (t: string, test: string, p: number): string => `${t}|${test}|${p}`;
    const median = (xs: number[]): number => {
      const s = [...xs].sort((a, b) => a - b);
      const m = s.length >> 1;
      return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
    };
    for (let round = 0; round < o.rounds; round++) {
      for (const test of o.tests)
        for (const p of o.pipelines) {
          let n = o.requests;
          if (test === 'mget' || test === 'mset') n = Math.round(n / 2);
          if (p > 1) n *= 4;
          for (const t of targets) {
            const c0 = cpuOf(t.pid);
            const r = await runBench(benchArgs(o, t.port, test, p, n), 300000);
            const c1 = cpuOf(t.pid);
            const cell = cells.get(key(t.name, test, p)) ?? { user: [], sys: [], rps: [], p99: [] };
            cells.set(key(t.name, test, p), cell);
            cell.user.push(((c1.user - c0.user) * 1e6) / n);
            cell.sys.push(((c1.sys - c0.sys) * 1e6) / n);
            cell.rps.push(r.rps);
            cell.p99.push(r.p99);
            console.log(
              `${test.toUpperCase()} P${p} ${t.name.padEnd(12)} user ${cell.user.at(-1)!.toFixed(2)} sys ${cell.sys.at(-1)!.toFixed(2)} µs/op  ${Math.round(r.rps)} ops/s p99 ${r.p99} ms`,
            );
          }
        }
    }
    if (o.strace) {
      for (const test of o.tests)
        for (const p of o.pipelines)
          for (const t of targets) {
            const n = p > 1 ? o.straceRequests * 4 : o.straceRequests;
            const sc = await countSyscalls(t.pid, async () => {
              await runBench(benchArgs(o, t.port, test, p, n), 300000);
            });
            const cell = cells.get(key(t.name, test, p));
            if (cell) {
              cell.sc = sc.total / n;
              cell.top = sc.top;
            }
            console.log(`strace ${test.toUpperCase()} P${p} ${t.name}: ${(sc.total / n).toFixed(2)} syscalls/op (${sc.top})`);
          }
    }
    /**
     * Total CPU per op minus nutcracker's in the same round, as mean ± standard error over the rounds:
     * single rounds move by ±10% with the batching each round's throughput allows, so a difference
     * smaller than about two standard errors is a tie, whatever the medians say.
     */
    const paired = (c: Cell, nut: Cell): string => {
      const d = c.user.map((u, i) => u + c.sys[i]! - nut.user[i]! - nut.sys[i]!);
      if (d.length < 2) return '-';
      const mean = d.reduce((a, b) => a + b, 0) / d.length;
      const se = Math.sqrt(d.reduce((a, b) => a + (b - mean) ** 2, 0) / (d.length - 1) / d.length);
      return `${mean >= 0 ? '+' : '−'}${Math.abs(mean).toFixed(2)} ± ${se.toFixed(2)}`;
    };
    const lines = [
      '| test | P | target | user µs/op | sys µs/op | total µs/op | total − nutcracker, paired by round (mean ± s.e.) | syscalls/op | ops/s | p99 ms | ops/s vs nutcracker | p99 vs nutcracker |',
      '|:---|---:|:---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ];
    for (const test of o.tests)
      for (const p of o.pipelines) {
        const nut = cells.get(key('nutcracker', test, p));
        for (const t of targets) {
          const c = cells.get(key(t.name, test, p));
          if (!c) continue;
          const u = median(c.user),
            s = median(c.sys),
            rps = median(c.rps),
            p99 = median(c.p99);
          const label = test === 'mget' || test === 'mset' ? `${test.toUpperCase()} (10 keys)` : test.toUpperCase();
          lines.push(
            `| ${label} | ${p} | ${t.name} | ${u.toFixed(2)} | ${s.toFixed(2)} | ${(u + s).toFixed(2)} | ${nut && nut !== c ? paired(c, nut) : '-'} | ${c.sc === undefined ? '-' : c.sc.toFixed(2)} | ${Math.round(rps)} | ${p99.toFixed(2)} | ${nut ? (rps / median(nut.rps)).toFixed(2) : '-'} | ${nut ? (p99 / median(nut.p99)).toFixed(2) : '-'} |`,
          );
        }
      }
    clearInterval(rssTimer);
    sampleRss();
    lines.push(
      '',
      '| proxy | peak RSS during the runs |',
      '|:---|---:|',
      ...targets.map((t) => `| ${t.name} | ${((peakRss.get(t.name) ?? 0) / 1048576).toFixed(1)} MiB |`),
    );
    if (o.idle > 0) {
      lines.push('', `| proxy | RSS before | RSS with ${o.idle} idle clients | per connection |`, '|:---|---:|---:|---:|');
      for (const t of targets) {
        const r = await idleRss(t.pid, t.port, o.idle);
        lines.push(
          `| ${t.name} | ${(r.before / 1048576).toFixed(1)} MiB | ${(r.after / 1048576).toFixed(1)} MiB | ${(r.perConn / 1024).toFixed(2)} KiB |`,
        );
      }
    }
    const table = lines.join('\n');
    console.log(
      `\n${table}\n\nload average at the end: ${os
        .loadavg()
        .map((l) => l.toFixed(1))
        .join(' ')}`,
    );
    if (o.out) writeFileSync(o.out, `${table}\n`);
  } finally {
    await cleanup();
  }
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.stack : String(e));
  process.exitCode = 1;
});
