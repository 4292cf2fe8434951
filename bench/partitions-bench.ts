// Partition and host-loss scenarios of issue 16 (test/helpers/netns/scenarios.ts) on the 3-host
// layout in network namespaces, once per coordinator (etcd cluster, ZooKeeper ensemble), tabulated in
// bench/reports/partitions-<date>.md: fault x coordinator -> unavailability window, acknowledged
// writes lost, and the facts each scenario established. Needs root (network namespaces).
//
//   npm run bench:partitions                                  # every scenario on etcd and ZooKeeper
//   npm run bench:partitions -- --coordinators etcd            # one coordinator
//   npm run bench:partitions -- --scenarios kill-master,isolate-master
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  isolateDashboardHost,
  isolateMasterHost,
  isolateProxyHost,
  isolateReplicaHost,
  killMasterHost,
  loseCoordinatorQuorum,
  type ScenarioOptions,
  type ScenarioResult,
} from '../test/helpers/netns/scenarios.js';
import type { CoordinatorKind } from '../test/helpers/netns/layout.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

const SCENARIOS: Record<string, { run: (o: ScenarioOptions) => Promise<ScenarioResult>; dashboardArgs?: string[]; label?: string }> = {
  'kill-master': { run: killMasterHost },
  'isolate-master': { run: isolateMasterHost },
  'isolate-master-no-min-replicas': {
    run: isolateMasterHost,
    dashboardArgs: ['--group-min-replicas-to-write', '0'],
    label: ' (min-replicas-to-write 0)',
  },
  'isolate-dashboard': { run: isolateDashboardHost },
  'lose-quorum': { run: loseCoordinatorQuorum },
  'isolate-proxy': { run: isolateProxyHost },
  'isolate-replica': { run: isolateReplicaHost },
};

function arg(name: string, def: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? (process.argv[i + 1] ?? def) : def;
}

async function main(): Promise<void> {
  const coordinators = arg('coordinators', 'etcd,zookeeper').split(',') as CoordinatorKind[];
  const names = arg('scenarios', Object.keys(SCENARIOS).join(',')).split(',');
  for (const n of names) if (!SCENARIOS[n]) throw new Error(`unknown scenario ${n} (have ${Object.keys(SCENARIOS).join(', ')})`);
  const rows: Array<{ name: string; coordinator: CoordinatorKind; r?: ScenarioResult; error?: string; ms: number }> = [];
  for (const name of names) {
    const s = SCENARIOS[name]!;
    for (const coordinator of coordinators) {
      const t0 = Date.now();
      process.stdout.write(`== ${name} on ${coordinator}\n`);
      try {
        const r = await s.run({
          coordinator,
          dashboardArgs: s.dashboardArgs,
          log: (m) => process.stdout.write(`   ${((Date.now() - t0) / 1000).toFixed(1)} s: ${m}\n`),
        });
        if (s.label) r.fault += s.label;
        rows.push({ name, coordinator, r, ms: Date.now() - t0 });
        process.stdout.write(`   unavailable ${r.unavailableMs} ms, acked ${r.acked}, lost ${r.lost.length}, ${JSON.stringify(r.facts)}\n`);
        for (const n of r.notes) process.stdout.write(`   note: ${n}\n`);
      } catch (e) {
        rows.push({ name, coordinator, error: (e as Error).message, ms: Date.now() - t0 });
        process.stdout.write(`   FAILED: ${(e as Error).message}\n`);
      }
    }
  }
  const date = new Date().toISOString().slice(0, 10);
  const fmt = (v: number | string | boolean): string => (typeof v === 'number' ? String(Math.round(v)) : String(v));
  const lines = [
    `# Partitions and host loss — ${date}`,
    '',
    'Command: `npm run bench:partitions` (bench/partitions-bench.ts; scenarios in test/helpers/netns/scenarios.ts).',
    'Layout: 3 hosts (network namespaces) + a clients namespace; a 3-member etcd cluster or ZooKeeper ensemble, one per host;',
    '3 groups, each a master on one host and replicas on the two others; a sentinel and a proxy per host; the active dashboard on h1,',
    'a standby on h2 (lock_ttl 3 s, sentinel down-after 2 s, group_min_replicas_max_lag 3 s, group_min_replicas_to_write at its',
    'default, 1, unless the row says otherwise; the isolate-replica row runs one replica per group). The clients write unique keys (SET, one',
    'at a time, 4 workers) and every acknowledged write is read back through a proxy at the end.',
    '',
    '**Taken on a shared, loaded 2-core machine (other builds and tests running): the timings are indicative only.**',
    '',
    '| fault | coordinator | unavailable (s) | acked writes | acked writes lost | facts | run (s) |',
    '|---|---|---|---|---|---|---|',
    ...rows.map(({ name, coordinator, r, error, ms }) =>
      r
        ? `| ${r.fault} | ${coordinator} | ${(r.unavailableMs / 1000).toFixed(1)} | ${r.acked} | ${r.lost.length} | ${Object.entries(
            r.facts,
          )
            .map(([k, v]) => `${k}=${fmt(v)}`)
            .join(', ')} | ${(ms / 1000).toFixed(0)} |`
        : `| ${name} | ${coordinator} | — | — | — | FAILED: ${String(error).replace(/\|/g, '/').slice(0, 300)} | ${(ms / 1000).toFixed(0)} |`,
    ),
    '',
    '"unavailable" is the longest stretch without an acknowledged write of the affected keys (the failed-over group, or all keys for',
    'quorum loss) between the fault and the end of the run, as the clients saw it. Facts are times in ms after the fault unless named.',
    '',
    ...rows.flatMap(({ coordinator, r }) => (r ? r.notes.map((n) => `- ${r.fault} (${coordinator}): ${n}`) : [])),
    '',
  ];
  const dir = join(ROOT, 'bench', 'reports');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `partitions-${date}.md`);
  writeFileSync(file, lines.join('\n'));
  process.stdout.write(`report: ${file}\n`);
}

await main();
