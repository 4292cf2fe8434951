// BullMQ at scale through Shardis (issue 12): a queue with workers on two proxy processes of a local HA
// cluster (2 groups × master + 2 replicas, 3 redis-sentinel with a 1 s down-after, a dashboard),
// 10 000 jobs by default, while the queue's slot migrates to the other group and then that group's
// master is killed with kill -9. Every job is checked one by one (test/helpers/bullmq-ha.ts): completed
// exactly once with its own return value, none failed, none left waiting or active; jobs the processor
// ran more than once (BullMQ's at-least-once after a failover) are counted. Writes
// bench/reports/bullmq-<date>.md.
//
//   npm run bench:bullmq                     # 10 000 jobs, writes the report
//   npm run bench:bullmq -- --jobs 2000 --no-report
//
// Everything runs on 127.0.0.1; every process is stopped at the end. Exit code 1 if a job was lost.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { startHaCluster } from '../test/helpers/ha-cluster.js';
import { runBullMqHa } from '../test/helpers/bullmq-ha.js';
import { VERSION } from '../src/version.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

async function main(): Promise<number> {
  const o = new Command('bullmq-bench')
    .option('--jobs <n>', 'jobs', (v) => Number(v), 10000)
    .option('--concurrency <n>', 'concurrency of each worker (one worker per proxy)', (v) => Number(v), 10)
    .option('--no-report', 'print only, no report file')
    .parse()
    .opts<{ jobs: number; concurrency: number; report: boolean }>();
  const log = (m: string): void => {
    process.stdout.write(`${m}\n`);
  };
  const h = await startHaCluster({ downAfterMs: 1000 });
  let r;
  try {
    r = await runBullMqHa(h, { jobs: o.jobs, concurrency: o.concurrency, log, deadlineMs: 900000 });
  } finally {
    await h.stop();
  }
  const ok = r.lost.length === 0 && r.failed === 0 && r.neverRun.length === 0 && (r.counts.waiting ?? 0) + (r.counts.active ?? 0) === 0;
  const summary = `${r.jobs} jobs in ${(r.ms.total / 1000).toFixed(1)} s (${Math.round(r.jobs / (r.ms.total / 1000))} jobs/s): ${r.completed} completed exactly once with their own result, ${r.lost.length} lost, ${r.failed} failed; ${r.reprocessed.length} ran twice (BullMQ at-least-once after the kill)`;
  log(summary);
  if (!o.report) return ok ? 0 : 1;
  const date = new Date().toISOString().slice(0, 10);
  const lines = [
    `# BullMQ through Shardis with a migration and a failover — ${date}`,
    '',
    `Shardis ${VERSION}, Node ${process.version}, BullMQ 5, stock redis-server / redis-sentinel 7.0 on 127.0.0.1 (shared 2-core machine, other sessions running).`,
    'Cluster: 2 groups × (master + 2 replicas), 3 sentinels (quorum 2, down-after 1 s), a dashboard process, 2 proxy processes.',
    `Queue \`jobs\` with prefix \`{bq}\` (slot ${r.slot}); a producer on proxy 1 (addBulk of 100, explicit job ids), one worker per proxy with concurrency ${o.concurrency}`,
    '(lockDuration 4 s, stalledInterval 2 s). When a fifth of the jobs completed, the dashboard migrates the queue slot from group',
    `${r.fromGroup} to group ${r.toGroup}; after the producer finished, the master of group ${r.toGroup} is killed with SIGKILL while the workers run.`,
    'Gates keep the steps inside the run on any machine: jobs from N/5 on start only once the migration was requested, jobs from N/2 on',
    'only once the master was killed (so at the kill every worker slot holds an active job and the rest wait).',
    '',
    `Command: \`npm run bench:bullmq -- --jobs ${o.jobs} --concurrency ${o.concurrency}\``,
    '',
    `**${summary}.**`,
    '',
    '| | |',
    '|---|---|',
    `| jobs | ${r.jobs} |`,
    `| completed exactly once, own return value | ${r.completed} |`,
    `| lost (not completed once) | ${r.lost.length}${r.lost.length ? ` (${r.lost.slice(0, 10).join(', ')} ...)` : ''} |`,
    `| failed | ${r.failed} |`,
    `| completed without running | ${r.neverRun.length} |`,
    `| processor ran twice | ${r.reprocessed.length}${r.reprocessed.length ? ` (jobs ${r.reprocessed.slice(0, 10).join(', ')}${r.reprocessed.length > 10 ? ' ...' : ''})` : ''} |`,
    `| final counts | ${JSON.stringify(r.counts)} |`,
    `| total time | ${(r.ms.total / 1000).toFixed(1)} s |`,
    `| all jobs added after | ${(r.ms.add / 1000).toFixed(1)} s |`,
    `| slot migration | ${r.ms.migration} ms, started at ${r.completedAt.migration} completed |`,
    `| kill -9 of ${r.killed} | at ${r.completedAt.kill} completed; group settled on ${r.promoted.join(' then ')} after ${(r.ms.killToSettled / 1000).toFixed(1)} s |`,
    `| errors BullMQ workers reported | ${r.workerErrors} |`,
    `| producer batches retried | ${r.producerRetries} |`,
    '',
    'Reading: BullMQ is at-least-once. Jobs active when the master died could not record their completion (the',
    'proxy answers `ERR backend ... connection lost`, then `Missing lock` once the lock expired); their lock expired, the stall',
    'check put them back in the wait list and another worker ran them again — each still appears once in the completed set.',
    'Jobs are added before the kill, so no acknowledged add is exposed to asynchronous replication loss (a write acknowledged',
    'by a master and not yet replicated when it is killed is lost, as with Redis itself; see the failover report).',
    'During the migration, BullMQ scripts on the queue slot wait until the slot has moved (src/proxy/script-slots.ts).',
    '',
  ];
  const dir = join(ROOT, 'bench', 'reports');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `bullmq-${date}.md`);
  writeFileSync(file, lines.join('\n'));
  log(`report: ${file}`);
  return ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (e: Error) => {
    process.stderr.write(`bullmq-bench: ${e.stack ?? e.message}\n`);
    process.exit(1);
  },
);
