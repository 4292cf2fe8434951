// A BullMQ queue, unchanged, through the proxies of a local HA cluster while the queue's slot migrates
// to the other group and then that group's master is killed with kill -9 (issue 12). Shared by the CI
// test (apps-bullmq-ha.test.ts, ~1 500 jobs) and the bench (bench/bullmq-bench.ts, 10 000 jobs).
// Jobs have explicit ids (`job-<n>`), so a producer batch retried after an error adds nothing twice.
// Each job is checked one by one at the end: in the completed set once, with its own return value, and
// how many times the processor ran it. BullMQ is at-least-once: a job whose completion was lost in the
// failover (the kill, or asynchronous replication) stays active, is found stalled and runs again; that
// is counted and reported, not hidden.
import { Queue, Worker, type Job } from 'bullmq';
import { slotOf } from '../../src/slots/hash.js';
import { api, masterOf, serverAt, waitReplicaUp, type HaCluster } from './ha-cluster.js';
import { waitProxiesRoute, waitSettledMaster } from './ha-settle.js';
import { eventually } from './poll.js';

export interface BullMqHaResult {
  jobs: number;
  /** Jobs in the completed set with their own return value (must be `jobs`). */
  completed: number;
  /** Jobs never completed (must be 0). */
  lost: number[];
  /** Jobs that are in the failed set (must be 0). */
  failed: number;
  /** Jobs whose processor ran more than once (BullMQ's at-least-once after a stall), by job number. */
  reprocessed: number[];
  /** Jobs the processor never ran although completed (must be 0). */
  neverRun: number[];
  /** Queue counts at the end (waiting, active, delayed must be 0). */
  counts: Record<string, number>;
  workerErrors: number;
  producerRetries: number;
  slot: number;
  fromGroup: number;
  toGroup: number;
  killed: string;
  promoted: string[];
  ms: { total: number; migration: number; killToSettled: number; add: number };
  /** Completed jobs when the migration started and when the master was killed. */
  completedAt: { migration: number; kill: number };
}

const PREFIX = '{bq}';

async function waitMigrated(h: HaCluster, slot: number, gid: number, timeoutMs: number): Promise<void> {
  await eventually(
    `slot ${slot} to finish migrating to group ${gid}`,
    async () => {
      const r = await api<{ slots: unknown }>(h, 'GET', '/api/topom/stats/{token}');
      const s = (r.body.slots as Array<{ id: number; group_id: number; action?: { state?: string } }>).find((x) => x.id === slot);
      return s !== undefined && s.group_id === gid && !s.action?.state;
    },
    timeoutMs,
    100,
  );
}

/** Runs the scenario; throws only on a harness failure (a step that did not finish in time), else returns what it saw. */
export async function runBullMqHa(
  h: HaCluster,
  o: { jobs: number; concurrency?: number; batch?: number; log?: (m: string) => void; deadlineMs?: number },
): Promise<BullMqHaResult> {
  const log = o.log ?? (() => {});
  const N = o.jobs;
  const batch = o.batch ?? 100;
  const slot = slotOf(PREFIX);
  const fromGroup = h.groupOfSlot(slot);
  const toGroup = fromGroup === 1 ? 2 : 1;
  const ports = h.c.info.proxies.map((p) => Number(p.addr.slice(p.addr.lastIndexOf(':') + 1)));
  const conn = (port: number) => ({ host: '127.0.0.1', port, maxRetriesPerRequest: null, retryStrategy: () => 100 });
  const queue = new Queue('jobs', { connection: conn(ports[0]!), prefix: PREFIX });
  queue.on('error', () => {});
  const runs = new Int32Array(N);
  let workerErrors = 0;
  let lastWorkerError = '';
  const workers: Worker[] = [];
  // Gates keep the steps inside the run whatever the machine's speed: jobs from N/5 on start only once
  // the migration was requested, jobs from N/2 on only once the master was killed (each gate opens
  // after 60 s at the latest). So the migration happens while jobs run, and the kill while jobs are
  // active in the workers and others wait.
  const gate = (): { open: () => void; opened: Promise<void> } => {
    let open = (): void => {};
    const opened = new Promise<void>((resolve) => (open = resolve));
    return { open, opened };
  };
  const migrationGate = gate(),
    killGate = gate();
  const gateTimers: NodeJS.Timeout[] = [];
  const waitGate = (g: { opened: Promise<void> }): Promise<void> =>
    Promise.race([g.opened, new Promise<void>((r) => gateTimers.push(setTimeout(r, 60000)))]);
  const t0 = Date.now();
  const deadline = t0 + (o.deadlineMs ?? 300000);
  let producerRetries = 0;
  let added = 0;
  try {
    for (const port of ports) {
      const w = new Worker(
        'jobs',
        async (job: Job<{ n: number }>) => {
          const n = Number(job.data.n);
          if (n >= N / 2) await waitGate(killGate);
          else if (n >= N / 5) await waitGate(migrationGate);
          runs[n] = (runs[n] ?? 0) + 1;
          return n;
        },
        {
          connection: conn(port),
          prefix: PREFIX,
          concurrency: o.concurrency ?? 10,
          // Short locks and stall checks, so a job left active by the failover runs again in seconds
          // (defaults: 30 s); a job may stall several times while its group has no master.
          lockDuration: 4000,
          stalledInterval: 2000,
          maxStalledCount: 20,
        },
      );
      w.on('error', (e) => {
        workerErrors++;
        lastWorkerError = e.message;
      });
      workers.push(w);
    }
    // Producer: batches with explicit job ids; a batch that fails is retried (an id added twice is a no-op).
    const producer = (async () => {
      for (let i = 0; i < N && Date.now() < deadline;) {
        const part = Array.from({ length: Math.min(batch, N - i) }, (_, j) => ({
          name: 'n',
          data: { n: i + j },
          opts: { jobId: `job-${i + j}`, attempts: 5 },
        }));
        try {
          await queue.addBulk(part);
          i += part.length;
          added = i;
        } catch {
          producerRetries++;
          await new Promise((r) => setTimeout(r, 100));
        }
      }
    })();
    const completed = async (): Promise<number> => (await queue.getJobCounts('completed')).completed ?? 0;
    // 1. The queue's slot migrates to the other group while jobs are being processed.
    await eventually('a fifth of the jobs to complete', async () => (await completed()) >= N / 5, deadline - Date.now(), 50);
    const atMigration = await completed();
    const tm = Date.now();
    const r = await api(h, 'PUT', `/api/topom/slots/action/create/{token}/${slot}/${toGroup}`);
    migrationGate.open();
    if (r.status !== 200) throw new Error(`migration of slot ${slot}: HTTP ${r.status} ${JSON.stringify(r.body)}`);
    await waitMigrated(h, slot, toGroup, Math.max(1000, deadline - Date.now()));
    const migrationMs = Date.now() - tm;
    log(`slot ${slot} migrated from group ${fromGroup} to ${toGroup} in ${migrationMs} ms (${atMigration} jobs completed at its start)`);
    // 2. kill -9 of the master now holding the queue, while jobs are processed (after the producer
    // finished, so no acknowledged add can be lost by asynchronous replication; see the header).
    await producer;
    const addMs = Date.now() - t0;
    if (added < N) throw new Error(`the producer added ${added} of ${N} jobs before the deadline`);
    const killed = await masterOf(h, toGroup);
    await waitReplicaUp(killed);
    const atKill = await completed();
    const tk = Date.now();
    await serverAt(h, killed).kill9();
    killGate.open();
    const promoted = await waitSettledMaster(h, toGroup, killed, 2000, Math.max(1000, deadline - Date.now()));
    const killToSettled = Date.now() - tk;
    await waitProxiesRoute(h, toGroup, promoted.at(-1)!);
    log(`killed ${killed} with ${atKill} jobs completed; group ${toGroup} settled on ${promoted.join(' then ')} after ${killToSettled} ms`);
    // 3. Every job completes.
    await eventually(
      `all ${N} jobs to complete`,
      async () => {
        const c = await queue.getJobCounts('completed', 'failed');
        return (c.completed ?? 0) + (c.failed ?? 0) >= N;
      },
      Math.max(1000, deadline - Date.now()),
      100,
    ).catch((e: Error) => log(`${e.message} (worker errors ${workerErrors}, last: ${lastWorkerError})`));
    const total = Date.now() - t0;
    await Promise.all(workers.map((w) => w.close()));
    workers.length = 0;
    // One by one: each completed job is job-<n> with return value n, at most once in the set.
    const done = new Int32Array(N);
    for (let s = 0; ; s += 1000) {
      const page = await queue.getJobs(['completed'], s, s + 999, true);
      for (const j of page) {
        const n = Number((j.data as { n: number }).n);
        if (j.id === `job-${n}` && j.returnvalue === n) done[n] = (done[n] ?? 0) + 1;
      }
      if (page.length < 1000) break;
    }
    const counts = await queue.getJobCounts('completed', 'failed', 'waiting', 'active', 'delayed', 'paused', 'prioritized');
    const lost: number[] = [];
    const reprocessed: number[] = [];
    const neverRun: number[] = [];
    for (let n = 0; n < N; n++) {
      if (done[n] !== 1) lost.push(n);
      if ((runs[n] ?? 0) > 1) reprocessed.push(n);
      if (done[n] === 1 && runs[n] === 0) neverRun.push(n);
    }
    for (const n of lost.slice(0, 5)) {
      const j = await queue.getJob(`job-${n}`);
      log(
        `job-${n} not completed once: ${j ? `state ${await j.getState()}, return ${JSON.stringify(j.returnvalue)}, failed ${j.failedReason}, attempts ${j.attemptsMade}` : 'no such job'}; ran ${runs[n]}x; in completed ${done[n]}x`,
      );
    }
    log(`queue counts ${JSON.stringify(counts)}`);
    log(`worker errors seen by BullMQ: ${workerErrors}${workerErrors ? ` (last: ${lastWorkerError})` : ''}`);
    return {
      jobs: N,
      completed: N - lost.length,
      lost,
      failed: counts.failed ?? 0,
      reprocessed,
      neverRun,
      counts: Object.fromEntries(Object.entries(counts).map(([k, v]) => [k, v ?? 0])),
      workerErrors,
      producerRetries,
      slot,
      fromGroup,
      toGroup,
      killed,
      promoted,
      ms: { total, migration: migrationMs, killToSettled, add: addMs },
      completedAt: { migration: atMigration, kill: atKill },
    };
  } finally {
    migrationGate.open();
    killGate.open();
    for (const t of gateTimers) clearTimeout(t);
    await Promise.all(workers.map((w) => w.close(true).catch(() => undefined)));
    await queue.close().catch(() => undefined);
  }
}
