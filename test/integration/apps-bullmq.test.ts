// BullMQ, unchanged, through the proxy (issue 12): a queue whose keys share one hash tag (prefix
// `{bq}`) on a two-group cluster, producers on one proxy, two workers on the other; every job is
// processed exactly once (blocking pops, Lua scripts and MULTI all go through the proxy). The long
// version with a migration and a failover belongs in bench/. Expected duration: ~3 s.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Queue, Worker, type Job } from 'bullmq';
import { startTestCluster, type TestCluster } from '../helpers/proxy-cluster.js';
import { ProxyServer } from '../../src/proxy/proxy.js';
import { defaultProxyConfig } from '../../src/proxy/config.js';

let c: TestCluster;
let proxyB: ProxyServer;
let portB = 0;

before(async () => {
  c = await startTestCluster({ groups: 2 });
  proxyB = new ProxyServer({ ...defaultProxyConfig(), proxyAddr: '127.0.0.1:0', adminAddr: '127.0.0.1:0' });
  portB = await proxyB.listen();
  proxyB.fillSlots(c.slots);
});
after(async () => {
  await proxyB?.shutdown();
  await c?.stop();
});

test('BullMQ: 500 jobs added through one proxy are each processed exactly once by two workers on the other', async () => {
  const JOBS = 500;
  const conn = (port: number) => ({ host: '127.0.0.1', port, maxRetriesPerRequest: null });
  const queue = new Queue('jobs', { connection: conn(c.port), prefix: '{bq}' });
  const seen = new Map<string, number>();
  const workers: Worker[] = [];
  try {
    for (let w = 0; w < 2; w++) {
      workers.push(
        new Worker(
          'jobs',
          async (job: Job) => {
            seen.set(String(job.data.n), (seen.get(String(job.data.n)) ?? 0) + 1);
            return job.data.n;
          },
          { connection: conn(portB), prefix: '{bq}', concurrency: 5 },
        ),
      );
    }
    for (let i = 0; i < JOBS; i += 50) {
      await queue.addBulk(Array.from({ length: 50 }, (_, j) => ({ name: 'n', data: { n: i + j } })));
    }
    const deadline = Date.now() + 60_000;
    for (let i = 0; i < 6000 && Date.now() < deadline; i++) {
      const counts = await queue.getJobCounts('completed', 'failed');
      if ((counts.completed ?? 0) + (counts.failed ?? 0) >= JOBS) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const counts = await queue.getJobCounts('completed', 'failed', 'waiting', 'active');
    assert.deepEqual({ ...counts, paused: counts.paused ?? 0 }, { completed: JOBS, failed: 0, waiting: 0, active: 0, paused: 0 });
    assert.equal(seen.size, JOBS, 'every job processed');
    for (const [n, k] of seen) assert.equal(k, 1, `job ${n} processed once`);
  } finally {
    await Promise.all(workers.map((w) => w.close()));
    await queue.close();
  }
});
