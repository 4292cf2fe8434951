// BullMQ, unchanged, through two proxy processes of a local HA cluster (2 groups x master + 2
// replicas, 3 redis-sentinel, a dashboard) while the queue's slot migrates to the other group and then
// that group's master is killed with kill -9 (issue 12). 1 500 jobs (the 10 000-job run is
// `npm run bench:bullmq`). Each job is checked one by one: completed exactly once with its own return
// value, none failed, none left waiting or active. BullMQ is at-least-once: a job whose completion was
// lost in the failover runs again after its stall check; that is allowed (and logged), a lost job is
// not. Expected duration: ~30-40 s (cluster start included).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { startHaCluster, type HaCluster } from '../helpers/ha-cluster.js';
import { runBullMqHa } from '../helpers/bullmq-ha.js';

let h: HaCluster;
const log = (msg: string): void => {
  process.stderr.write(`# ${msg}\n`);
};

before(async () => {
  h = await startHaCluster({ downAfterMs: 1000 });
});
after(async () => {
  await h?.stop();
});

test('BullMQ: 1 500 jobs each completed once while the queue slot migrates and its new master is killed', async () => {
  const r = await runBullMqHa(h, { jobs: 1500, concurrency: 10, log, deadlineMs: 120000 });
  log(
    `${r.jobs} jobs in ${r.ms.total} ms; migration ${r.ms.migration} ms at ${r.completedAt.migration} completed; kill at ${r.completedAt.kill} completed, settled after ${r.ms.killToSettled} ms; ${r.reprocessed.length} jobs ran twice (at-least-once after the failover): ${r.reprocessed.slice(0, 20).join(',')}; producer retries ${r.producerRetries}`,
  );
  assert.ok(
    r.completedAt.migration < r.jobs && r.completedAt.kill < r.jobs,
    'the migration and the kill happened while jobs were being processed',
  );
  assert.deepEqual(r.lost.slice(0, 20), [], `${r.lost.length} jobs not completed exactly once with their own result`);
  assert.deepEqual(r.neverRun, [], 'no job completed without running');
  assert.equal(r.failed, 0);
  assert.deepEqual(
    { waiting: r.counts.waiting, active: r.counts.active, delayed: r.counts.delayed, completed: r.counts.completed },
    { waiting: 0, active: 0, delayed: 0, completed: r.jobs },
  );
});
