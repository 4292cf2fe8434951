// Migration benchmark (not a test): how fast slots move on stock Redis, and what clients feel.
//
//   npm run bench:migration                 # writes bench/reports/migration-<date>.md
//   npm run bench:migration -- --quick      # small sizes, no report file
//   npm run bench:migration -- --keys 200000 --big 1000000 --base-seconds 8
//
// 1. Small keys: N keys (100-byte values) on group 1; all 512 of its slots move to group 2 through the
//    dashboard's executor (in this process) → keys/s and MB/s (source used_memory freed).
// 2. Client throughput: a steady redis-benchmark load (SET/GET, random keys, -c 50) through a proxy;
//    the proxy's ops/s without migration, then during a migration with the default pacing and during
//    one at full speed → ratios.
// 3. Big key: a hash with --big elements. (a) one plain `MIGRATE` of it, timed: that is how long it
//    blocks the source; (b) the same key moved by the executor (chunked copy under the per-key lock),
//    with a PING every millisecond on the source: the longest the source stalled, and the copy rate.
// Everything is on 127.0.0.1, on 2 shared cores: the ratios matter more than the absolute numbers.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { startRedisServer, type RedisServer } from '../src/util/redis-server.js';
import { slotOf } from '../src/slots/hash.js';
import { eventually } from '../test/helpers/poll.js';
import { call, startDashboardProcess, tempDir, type DashboardProcess } from '../test/helpers/dashboard.js';
import { defaultAdminToken } from '../src/models/auth.js';
import { defaultDashboardConfig } from '../src/dashboard/config.js';
import type { MigrationProgress } from '../src/dashboard/slot-actions.js';
import { startTestProxy, type TestProxy } from '../test/helpers/dashboard-proxies.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const argv = process.argv.slice(2);
const quick = argv.includes('--quick');
const arg = (name: string, def: number): number => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? Number(argv[i + 1]) : def;
};
const N_KEYS = arg('keys', quick ? 30000 : 200000);
const BIG = arg('big', quick ? 100000 : 1000000);
const BASE_MS = arg('base-seconds', quick ? 4 : 8) * 1000;
const BUSY = arg('busy', defaultDashboardConfig().migrationBusyPercent);
const BATCH_KEYS = arg('batch-keys', defaultDashboardConfig().migrationBatchKeys);
const P = 'mig-bench';

const servers: RedisServer[] = [];
let dash: { addr: string; token: string; proc: DashboardProcess } | null = null;
let proxy: TestProxy | null = null;

async function cleanup(): Promise<void> {
  await proxy?.stop().catch(() => undefined);
  await dash?.proc.proc.stop().catch(() => undefined);
  for (const s of servers) await s.stop().catch(() => undefined);
}

const put = async (path: string): Promise<unknown> => {
  const r = await call('PUT', dash!.addr, path.replace('{t}', dash!.token));
  if (r.status !== 200) throw new Error(`${path}: ${JSON.stringify(r.body)}`);
  return r.body;
};
const progress = async (): Promise<MigrationProgress> =>
  (await call<{ progress: MigrationProgress }>('GET', dash!.addr, `/api/topom/slots/action/progress/${dash!.token}`)).body.progress;

async function waitDone(timeoutMs: number): Promise<MigrationProgress> {
  return eventually(
    'migration done',
    async () => {
      const p = await progress();
      return p.slots_pending + p.slots_in_progress === 0 && p.state === 'idle' ? p : null;
    },
    timeoutMs,
    100,
  );
}

async function usedMemory(s: RedisServer): Promise<number> {
  const c = new Redis({ port: s.port, host: '127.0.0.1' });
  const info = await c.info('memory');
  c.disconnect();
  return Number(/used_memory:(\d+)/.exec(info)![1]);
}

/** Loads n keys (100-byte values) whose slot is in [lo, hi] straight into `s`. */
async function loadSmall(s: RedisServer, n: number, lo: number, hi: number, prefix: string): Promise<void> {
  const c = new Redis({ port: s.port, host: '127.0.0.1' });
  const v = 'v'.repeat(100);
  let made = 0;
  for (let i = 0; made < n;) {
    const args: string[] = [];
    for (; args.length < 2000 && made < n; i++) {
      const k = `${prefix}${i}`;
      const sl = slotOf(k);
      if (sl >= lo && sl <= hi) {
        args.push(k, v);
        made++;
      }
    }
    await c.mset(...args);
  }
  c.disconnect();
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** redis-benchmark in loop mode through the proxy (stopped by the caller with SIGTERM; bounded by a 10-minute timeout). */
function startLoad(port: number): ChildProcess {
  const c = spawn(
    'timeout',
    [
      '600',
      'redis-benchmark',
      '-h',
      '127.0.0.1',
      '-p',
      String(port),
      '-l',
      '-t',
      'set,get',
      '-n',
      '50000',
      '-r',
      '100000',
      '-c',
      '50',
      '-d',
      '100',
      '-q',
    ],
    { stdio: 'ignore', detached: false },
  );
  c.on('error', () => undefined);
  return c;
}

async function main(): Promise<void> {
  const lines: string[] = [];
  const log = (s: string): void => {
    console.log(s);
    lines.push(s);
  };
  servers.push(await startRedisServer(), await startRedisServer());
  const [g1, g2] = servers as [RedisServer, RedisServer];
  // The dashboard runs as its own process, as in production (its executor must not share the proxy's event loop).
  const dir = tempDir('shardis-migbench-');
  const d = await startDashboardProcess(
    [
      '--coordinator',
      `filesystem:${join(dir, 'coord')}`,
      '--product-name',
      P,
      '--admin-addr',
      '127.0.0.1:0',
      '--log-level',
      'warn',
      '--migration-batch-keys',
      String(BATCH_KEYS),
    ],
    join(dir, 'dashboard.log'),
  );
  await d.waitReady(60000);
  dash = { addr: d.addr, token: defaultAdminToken(P, ''), proc: d };
  for (const [gid, s] of [
    [1, g1],
    [2, g2],
  ] as const) {
    await put(`/api/topom/group/create/{t}/${gid}`);
    await put(`/api/topom/group/add/{t}/${gid}/${s.addr}`);
  }
  await put('/api/topom/slots/init-even/{t}');
  proxy = await startTestProxy(P);
  const r = await call('PUT', dash.addr, `/api/topom/proxy/online/${dash.token}/${proxy.adminAddr}`);
  if (r.status !== 200 && !/sentinel/.test(JSON.stringify(r.body))) throw new Error(JSON.stringify(r.body));

  log(
    `# Shardis migration benchmark\n\n${new Date().toISOString()}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'}), node ${process.version}, redis-server from Debian.`,
  );
  log(`Small keys: ${N_KEYS} × 100-byte values; big key: hash of ${BIG} fields.\n`);

  // ---- 1. small keys, no client load ----
  await loadSmall(g1, N_KEYS, 0, 511, 'small:');
  const mem0 = await usedMemory(g1);
  const t0 = Date.now();
  await put('/api/topom/slots/action/create-range/{t}/0/511/2');
  const p = await waitDone(600000);
  const secs = (Date.now() - t0) / 1000;
  const mem1 = await usedMemory(g1);
  const mb = (mem0 - mem1) / 1e6;
  log('## 1. Small keys, idle cluster (512 slots, group 1 → group 2)\n');
  const exs = p.executor_ms / 1000;
  log(
    `| keys moved | wall time | keys/s (wall) | executor time | **keys/s (executor)** | MB/s (executor; source memory freed) |\n|---|---|---|---|---|---|`,
  );
  log(
    `| ${p.keys_moved} | ${secs.toFixed(2)} s | ${Math.round(p.keys_moved / secs)} | ${exs.toFixed(2)} s | **${Math.round(p.keys_moved / exs)}** | ${(mb / exs).toFixed(1)} |\n`,
  );
  log(
    `Wall time = executor time (SCAN + MIGRATE of the keys) + the state machine: ${Math.ceil(512 / 256)} batches × (locked push, migrating push, final push) and 3 coordinator writes per slot (batched; the filesystem coordinator fsyncs every file), a fixed cost independent of the number of keys.\n`,
  );

  // ---- 2. client throughput without / with migration ----
  // A steady load (redis-benchmark in loop mode, SET and GET alternating) runs through the proxy for
  // the whole phase; the proxy's own ops counter gives ops/s over a window without migration and
  // over exactly the time each migration runs.
  await loadSmall(g2, N_KEYS, 0, 511, 'again:');
  await loadSmall(g2, N_KEYS, 512, 1023, 'third:');
  const load = startLoad(proxy.port);
  try {
    const ops = (): number => proxy!.proxy.snapshot().opsTotal;
    const window = async (fn: () => Promise<void>): Promise<{ rate: number; secs: number }> => {
      const o0 = ops(),
        t0 = performance.now();
      await fn();
      const secs = (performance.now() - t0) / 1000;
      return { rate: (ops() - o0) / secs, secs };
    };
    await sleep(3000); // warm-up (and the dashboard's stats polls see the traffic)
    // Normal = the mean of two windows without migration: before the paced run (every slot on group 2)
    // and after it (slots split over both groups) — the layouts the paced run goes between.
    const bases = [await window(() => sleep(BASE_MS))];
    const runs: Array<{ label: string; rate: number; secs: number; keys: number }> = [];
    const migrate = async (label: string, busy: number, beg: number, end: number, gid: number): Promise<void> => {
      await put(`/api/topom/slots/action/busy/{t}/${busy}`);
      let keys = 0;
      const w = await window(async () => {
        await put(`/api/topom/slots/action/create-range/{t}/${beg}/${end}/${gid}`);
        keys = (await waitDone(600000)).keys_moved;
      });
      runs.push({ label, ...w, keys });
      await sleep(2000);
      if (bases.length < 2) bases.push(await window(() => sleep(BASE_MS)));
    };
    await migrate(
      `paced (\`migration_busy_percent\` ${BUSY}${BUSY === defaultDashboardConfig().migrationBusyPercent ? ', the default' : ''}: the executor rests while clients are active)`,
      BUSY,
      0,
      511,
      1,
    );
    await migrate('full speed (`slots busy 100`)', 100, 512, 1023, 1);
    await put(`/api/topom/slots/action/busy/{t}/${defaultDashboardConfig().migrationBusyPercent}`);
    log('## 2. Client throughput during a migration\n');
    log(
      `Load: \`redis-benchmark -l -t set,get -n 50000 -r 100000 -c 50 -d 100\` through one proxy, the whole time; ops/s from the proxy's counter. Each migration moves 512 slots holding ${N_KEYS} preloaded keys plus the benchmark's keys. Normal is the mean of a window before the paced run (all slots on group 2) and one after it (slots split over both groups): the two layouts it goes between.\n`,
    );
    log('| | ops/s | of normal | migration time | keys moved | keys/s |\n|---|---|---|---|---|---|');
    const base = { rate: (bases[0]!.rate + bases[1]!.rate) / 2 };
    log(
      `| no migration (mean of two ${(BASE_MS / 1000).toFixed(0)} s windows: ${bases.map((b) => Math.round(b.rate)).join(', ')}) | ${Math.round(base.rate)} | 100% | | | |`,
    );
    for (const r of runs) {
      log(
        `| during migration, ${r.label} | ${Math.round(r.rate)} | **${((r.rate / base.rate) * 100).toFixed(0)}%** | ${r.secs.toFixed(2)} s | ${r.keys} | ${Math.round(r.keys / r.secs)} |`,
      );
    }
    log('');
  } finally {
    // SIGTERM: `timeout` passes it on to redis-benchmark (a SIGKILL would leave redis-benchmark running).
    const exited = new Promise((r) => load.once('exit', r));
    load.kill('SIGTERM');
    await exited;
  }
  await sleep(4000); // the dashboard's stats polls see the cluster idle again (the executor goes back to full speed)

  // ---- 3. big key ----
  const bigKey = (() => {
    for (let i = 0; ; i++) if (slotOf(`big:${i}`) === 600) return `big:${i}`;
  })();
  const c1 = new Redis({ port: g1.port, host: '127.0.0.1' }); // source: group 1 owns slot 600 now
  const fill = async (): Promise<void> => {
    for (let i = 0; i < BIG; i += 5000) {
      const a: string[] = [];
      for (let j = i; j < Math.min(BIG, i + 5000); j++) a.push(`field:${j}`, `value:${j}`);
      await c1.hset(bigKey, ...a);
    }
  };
  await fill();
  const big1 = await usedMemory(g1);
  let t = Date.now();
  await c1.call('MIGRATE', '127.0.0.1', String(g2.port), bigKey, '0', '120000', 'REPLACE');
  const migrateMs = Date.now() - t;
  const c2 = new Redis({ port: g2.port, host: '127.0.0.1' });
  if ((await c2.hlen(bigKey)) !== BIG) throw new Error('plain MIGRATE did not move the key');
  await c2.del(bigKey);
  c2.disconnect();
  await fill();
  // Chunked: move slot 600 to group 2 with the executor and watch the source's latency.
  const pinger = new Redis({ port: g1.port, host: '127.0.0.1' });
  let maxStall = 0,
    pings = 0,
    running = true;
  const ping = (async () => {
    while (running) {
      const s = process.hrtime.bigint();
      await pinger.ping();
      const ms = Number(process.hrtime.bigint() - s) / 1e6;
      if (ms > maxStall) maxStall = ms;
      pings++;
      await new Promise((res) => setTimeout(res, 1));
    }
  })();
  t = Date.now();
  await put('/api/topom/slots/action/create/{t}/600/2');
  await waitDone(600000);
  const chunkMs = Date.now() - t;
  running = false;
  await ping;
  pinger.disconnect();
  const big2 = await usedMemory(g1);
  c1.disconnect();
  log(`## 3. Big key (hash, ${BIG} fields, ~${((big1 - big2) / 1e6).toFixed(0)} MB in redis)\n`);
  log(`| method | total time | source blocked for (longest stall) | elements/s |\n|---|---|---|---|`);
  log(
    `| plain \`MIGRATE\` (one call) | ${migrateMs} ms | **${migrateMs} ms** (the whole call) | ${Math.round(BIG / (migrateMs / 1000))} |`,
  );
  log(
    `| Shardis chunked copy under the per-key lock | ${chunkMs} ms (incl. the slot's state machine) | **${maxStall.toFixed(1)} ms** (max of ${pings} PINGs, 1 ms apart) | ${Math.round(BIG / (chunkMs / 1000))} |\n`,
  );
  log(
    'Requests for the big key itself wait (bounded, TRYAGAIN after migration_lock_wait) while it is copied; all other keys of the slot and the source stay served.\n',
  );
  log(
    `Reproduce: \`npm run bench:migration${quick ? ' -- --quick' : ''}\` (options: --keys N, --big N, --base-seconds N, --busy P, --batch-keys N).`,
  );

  if (!quick) {
    const dir = join(ROOT, 'bench', 'reports');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `migration-${new Date().toISOString().slice(0, 10)}.md`);
    writeFileSync(file, lines.join('\n') + '\n');
    console.log(`\nreport written to ${file}`);
  }
}

main()
  .then(cleanup, async (e) => {
    console.error(e);
    await cleanup();
    process.exitCode = 1;
  })
  .finally(() => process.exit());
