// Runs `workload-main.js` inside a host of the harness (the clients' namespace) and collects what it
// reports: every acknowledged write (key, value, time) and the failures. `stop()` ends it (SIGTERM,
// bounded) and returns the record; `verify()` reads every acknowledged key back (through a proxy, after
// the faults were healed) and names the ones whose value is not the acknowledged one.
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import type { HostNetwork } from './hosts.js';
import type { Spawned } from '../../../src/util/processes.js';

const MAIN = fileURLToPath(new URL('./workload-main.js', import.meta.url));

export interface Ack {
  key: string;
  value: string;
  atMs: number;
}
export interface WorkloadRecord {
  acks: Ack[];
  errors: Array<{ atMs: number; proxy: string; message: string }>;
  /** Wall-clock time (Date.now()) the workload started; `atMs` values are relative to it. */
  startedAt: number;
}

export interface RunningWorkload {
  readonly record: WorkloadRecord;
  /** Resolves once at least `n` more writes were acknowledged than when called. */
  waitAcks(n: number, timeoutMs?: number): Promise<void>;
  stop(): Promise<WorkloadRecord>;
}

export function startWorkload(
  net: HostNetwork,
  host: string,
  o: { proxies: string[]; workers?: number; pauseMs?: number; prefix?: string },
): RunningWorkload {
  const proc: Spawned = net.spawn(host, process.execPath, [MAIN, JSON.stringify(o)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const record: WorkloadRecord = { acks: [], errors: [], startedAt: Date.now() };
  let done = false;
  createInterface({ input: proc.child.stdout! }).on('line', (l) => {
    const p = l.split(' ');
    if (p[0] === 'A' && p.length >= 4) record.acks.push({ key: p[1]!, value: p[2]!, atMs: Number(p[3]) });
    else if (p[0] === 'E') record.errors.push({ atMs: Number(p[1]), proxy: p[2] ?? '', message: p.slice(3).join(' ') });
    else if (p[0] === 'DONE') done = true;
  });
  const waitAcks = async (n: number, timeoutMs = 30000): Promise<void> => {
    const target = record.acks.length + n;
    const deadline = Date.now() + timeoutMs;
    while (record.acks.length < target) {
      if (Date.now() > deadline)
        throw new Error(
          `workload: only ${record.acks.length} of ${target} writes acknowledged within ${timeoutMs} ms (last error: ${record.errors.at(-1)?.message ?? 'none'})`,
        );
      if (proc.child.exitCode !== null) throw new Error('workload process exited');
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const stop = async (): Promise<WorkloadRecord> => {
    proc.child.kill('SIGTERM');
    const t = setTimeout(() => proc.child.kill('SIGKILL'), 10000);
    await proc.exited;
    clearTimeout(t);
    if (!done) throw new Error('workload did not finish cleanly (no DONE line)');
    return record;
  };
  return { record, waitAcks, stop };
}

/** Reads every acknowledged key through `proxy`; returns the keys that are missing or differ. */
export async function verifyAcks(proxy: string, acks: Ack[]): Promise<{ lost: Ack[]; checked: number }> {
  const i = proxy.lastIndexOf(':');
  const r = new Redis({
    host: proxy.slice(0, i),
    port: Number(proxy.slice(i + 1)),
    maxRetriesPerRequest: 2,
    commandTimeout: 10000,
    lazyConnect: true,
  });
  r.on('error', () => undefined);
  try {
    await r.connect();
    const lost: Ack[] = [];
    for (let k = 0; k < acks.length; k += 200) {
      const chunk = acks.slice(k, k + 200);
      const p = r.pipeline();
      for (const a of chunk) p.get(a.key);
      const res = (await p.exec()) ?? [];
      chunk.forEach((a, j) => {
        const [err, v] = res[j] ?? [new Error('no reply'), null];
        if (err) throw new Error(`GET ${a.key} through ${proxy}: ${(err as Error).message}`);
        if (v !== a.value) lost.push(a);
      });
    }
    return { lost, checked: acks.length };
  } finally {
    r.disconnect();
  }
}

/** The longest stretch without any acknowledged write among `acks` after `fromMs` (relative times). */
export function longestGap(acks: Ack[], fromMs: number, toMs: number): number {
  const ts = acks
    .map((a) => a.atMs)
    .filter((t) => t >= fromMs && t <= toMs)
    .sort((a, b) => a - b);
  let prev = fromMs;
  let gap = 0;
  for (const t of ts) {
    gap = Math.max(gap, t - prev);
    prev = t;
  }
  return Math.max(gap, toMs - prev);
}
