// Failover benchmark: how long writes through the proxies stop when a group master is killed with
// kill -9, and how many acknowledged writes are lost (against the replication lag at the kill).
// Starts a local cluster (2 groups × master + 1 replica, 3 redis-sentinel configured by the dashboard,
// a dashboard and 2 proxy processes), runs a write workload through both proxies, and `--runs` times
// (alternating groups): kills the master, measures the seconds from the kill to the first successful
// write through each proxy, restarts the old master (sentinel makes it a replica), and checks every
// acknowledged key of the killed group through a proxy.
//
//   npm run bench:failover                          # 5 runs, down-after 1000 ms, writes bench/reports/failover-<date>.md
//   npm run bench:failover -- --runs 3 --down-after 2000 --no-report
//
// Everything runs on 127.0.0.1; every process is stopped at the end.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import {
  firstWriteOk,
  infoReplication,
  masterOf,
  restartServer,
  serverAt,
  startHaCluster,
  waitReplicaUp,
  Workload,
} from '../test/helpers/ha-cluster.js';
import { VERSION } from '../src/version.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

interface Run {
  run: number;
  gid: number;
  killed: string;
  promoted: string;
  windowsMs: number[];
  lagBytes: number;
  acked: number;
  lost: number;
  errors: number;
}

async function main(): Promise<void> {
  const o = new Command('failover-bench')
    .option('--runs <n>', 'kill -9 runs', (v) => Number(v), 5)
    .option('--down-after <ms>', 'sentinel down-after-milliseconds', (v) => Number(v), 1000)
    .option('--no-report', 'print only, no report file')
    .parse()
    .opts<{ runs: number; downAfter: number; report: boolean }>();
  const h = await startHaCluster({ groups: 2, replicas: 1, proxies: 2, downAfterMs: o.downAfter });
  const runs: Run[] = [];
  try {
    for (let i = 1; i <= o.runs; i++) {
      const gid = ((i - 1) % 2) + 1;
      const tags = [h.tagOf(gid, 10), h.tagOf(gid, 11), h.tagOf(gid, 12)];
      const master = await masterOf(h, gid);
      await waitReplicaUp(master, 60000);
      const replica = (await import('../test/helpers/ha-cluster.js')).dashboardGroups;
      const groups = await replica(h);
      const rep = groups.find((g) => g.id === gid)!.servers[1]!.server;
      const wl = new Workload(h.proxyClients, tags, { maxOps: 500000 });
      await sleep(1000);
      // Replication lag right before the kill: master offset - replica offset.
      const [mi, ri] = await Promise.all([infoReplication(master), infoReplication(rep)]);
      const t0 = Date.now();
      await serverAt(h, master).kill9();
      const lagBytes = Math.max(0, Number(mi.master_repl_offset ?? 0) - Number(ri.slave_repl_offset ?? ri.master_repl_offset ?? 0));
      const windowsMs = await Promise.all(h.proxyClients.map((c, k) => firstWriteOk(c, `probe{${tags[0]}}:${k}`, t0, 60000, 10)));
      await sleep(300);
      await wl.stop();
      // Every acknowledged write of the killed group, key by key.
      let lost = 0;
      const entries = [...wl.acked];
      for (let j = 0; j < entries.length; j += 500) {
        const part = entries.slice(j, j + 500);
        const vals = await h.proxyClients[0]!.mget(...part.map(([k]) => k));
        part.forEach(([, v], n) => {
          if (vals[n] !== v) lost++;
        });
      }
      const promoted = await masterOf(h, gid).catch(() => '?');
      runs.push({ run: i, gid, killed: master, promoted, windowsMs, lagBytes, acked: entries.length, lost, errors: wl.errors });
      process.stdout.write(
        `run ${i}: group ${gid} ${master} killed → ${promoted}; first write after ${windowsMs.map((w) => (w / 1000).toFixed(2)).join(' / ')} s; lag at kill ${lagBytes} B; ${lost} of ${entries.length} acked writes lost\n`,
      );
      await restartServer(h, master);
    }
  } finally {
    await h.stop();
  }
  const firsts = runs.map((r) => Math.min(...r.windowsMs));
  const lasts = runs.map((r) => Math.max(...r.windowsMs));
  const summary = `median failover window (kill -9 → first successful write through a proxy) over ${runs.length} runs: ${(median(firsts) / 1000).toFixed(2)} s (both proxies: ${(median(lasts) / 1000).toFixed(2)} s), sentinel down-after ${o.downAfter} ms; acknowledged writes lost: ${runs.reduce((a, r) => a + r.lost, 0)} of ${runs.reduce((a, r) => a + r.acked, 0)}`;
  process.stdout.write(summary + '\n');
  if (!o.report) return;
  const date = new Date().toISOString().slice(0, 10);
  const lines = [
    `# Failover benchmark — ${date}`,
    '',
    `Shardis ${VERSION}, Node ${process.version}, stock redis-server / redis-sentinel 7.0 on 127.0.0.1 (shared 2-core machine).`,
    `Cluster: 2 groups × (master + 1 replica), 3 sentinels (quorum 2, down-after-milliseconds ${o.downAfter}, failover-timeout 10 s), a dashboard, 2 proxies.`,
    'Workload: SET of unique keys through both proxies, back to back (one connection per proxy). Each run kills the master of one group with SIGKILL',
    'and measures the time until a SET to that group succeeds again through each proxy (probing every 10 ms), then checks every acknowledged key of',
    'the group through a proxy. Replication lag = master_repl_offset of the master − slave_repl_offset of the replica, read just before the kill.',
    '',
    `Command: \`npm run bench:failover -- --runs ${o.runs} --down-after ${o.downAfter}\``,
    '',
    `**${summary}**`,
    '',
    '| run | group | killed | promoted | first write, proxy 1 / 2 (s) | lag at kill (bytes) | acked writes | lost | errors during failover |',
    '|---|---|---|---|---|---|---|---|---|',
    ...runs.map(
      (r) =>
        `| ${r.run} | ${r.gid} | ${r.killed} | ${r.promoted} | ${r.windowsMs.map((w) => (w / 1000).toFixed(2)).join(' / ')} | ${r.lagBytes} | ${r.acked} | ${r.lost} | ${r.errors} |`,
    ),
    '',
    "Reading: the window is down-after (the sentinels agree the master is down) plus the election and promotion (~1 s), plus the proxies'",
    'reaction to +switch-master (majority SENTINEL MASTERS + ROLE, a few ms). Writes acknowledged by the old master but not yet replicated',
    '(the lag at the kill) are lost with asynchronous replication; with a lag of 0 bytes nothing is lost.',
    '',
  ];
  const dir = join(ROOT, 'bench', 'reports');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `failover-${date}.md`);
  writeFileSync(file, lines.join('\n'));
  process.stdout.write(`report: ${file}\n`);
}

main().then(
  () => process.exit(0),
  (e: Error) => {
    process.stderr.write(`failover-bench: ${e.stack ?? e.message}\n`);
    process.exit(1);
  },
);
