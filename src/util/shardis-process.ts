// Runs `shardis <subcommand>` (this checkout's bin/shardis.js) as a tracked child process, copies its
// output to a log file, and lets the caller wait for the lines it prints when ready.
import { createWriteStream } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { spawnTracked, type Spawned } from './processes.js';

export const SHARDIS_BIN = resolve(fileURLToPath(new URL('../../../bin/shardis.js', import.meta.url)));

/**
 * The V8 heap settings every `shardis` process runs with: bin/shardis.js's shebang passes them (a
 * unit test keeps the two equal), and processes started from here get them explicitly. Measured on
 * the proxy under `npm run bench` (bench/reports/proxy-speed-2026-12-04b.md, -12-04c.md, -12-05.md):
 * - node's default young generation grows to 2 x 16 MiB and the old generation to ~2.5 x its live
 *   size before a full GC, which put a busy proxy's peak RSS over 100 MiB. A 4 MiB semi-space with
 *   the old generation collected at 1.5 x its live size keeps it under 80 MiB at the same CPU and
 *   p99. (An 8 MiB semi-space with the same old generation left the old generation less free room
 *   than the young generation's size, and V8 then starts incremental marking after nearly every
 *   scavenge: 23-32 full GCs in a 3 s MSET run at pipeline 16 instead of 1-3, p99 17 ms instead of 10.)
 * - V8's allocation-site pretenuring, once a burst of deep pipelines (requests living long in the
 *   proxy) made it allocate a site's objects in the old generation, kept doing so for good: at
 *   pipeline 1 afterwards every short-lived request object went to the old generation, a full GC
 *   ran every ~170 ms, and the p99 of MSET/MGET doubled (2.2-2.9 ms instead of 1.0-1.2).
 * - A scavenge of this young generation copies well under 1% of it (tens of KiB): one thread does
 *   that in ~50 us, while waking V8's helper threads for it made each pause ~0.1 ms longer (0.37 ms
 *   instead of 0.26 in an MSET run at pipeline 1, the proxy sharing a core with its redis-servers).
 *   Every request in flight waits out each pause: two thirds of the slowest 1% did
 *   (bench/reports/proxy-speed-2026-12-05b.md).
 */
export const SHARDIS_NODE_FLAGS: readonly string[] = [
  '--max-semi-space-size=4',
  '--heap-growing-percent=50',
  '--no-allocation-site-pretenuring',
  '--no-parallel-scavenge',
];

export interface ShardisProcess {
  proc: Spawned;
  lines: string[];
  /** Resolves with the match once a stdout line matches `re`; rejects if the process exits first or after `timeoutMs` (0: no limit). */
  waitLine(re: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
}

/** `opts.netns`: run it inside that network namespace (multi-host tests). */
export function startShardisProcess(subcommand: string, args: string[], logFile: string, opts: { netns?: string } = {}): ShardisProcess {
  const proc = spawnTracked(process.execPath, [...SHARDIS_NODE_FLAGS, SHARDIS_BIN, subcommand, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    netns: opts.netns,
  });
  const log = createWriteStream(logFile, { flags: 'a' });
  proc.child.stderr!.pipe(log);
  let stderrTail = '';
  proc.child.stderr!.on('data', (d: Buffer) => {
    stderrTail = (stderrTail + d.toString()).slice(-2000);
  });
  const lines: string[] = [];
  const waiters: Array<{ re: RegExp; resolve: (m: RegExpExecArray) => void }> = [];
  createInterface({ input: proc.child.stdout! }).on('line', (line) => {
    lines.push(line);
    log.write(`[stdout] ${line}\n`);
    for (const w of [...waiters]) {
      const m = w.re.exec(line);
      if (m) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(m);
      }
    }
  });
  const waitLine = (re: RegExp, timeoutMs = 30000): Promise<RegExpExecArray> =>
    new Promise((resolveLine, reject) => {
      for (const l of lines) {
        const m = re.exec(l);
        if (m) return resolveLine(m);
      }
      const t =
        timeoutMs > 0
          ? setTimeout(
              () => reject(new Error(`shardis ${subcommand} printed no line matching ${re} within ${timeoutMs} ms (log: ${logFile})`)),
              timeoutMs,
            )
          : undefined;
      waiters.push({
        re,
        resolve: (m) => {
          clearTimeout(t);
          resolveLine(m);
        },
      });
      void proc.exited.then((code) => {
        clearTimeout(t);
        reject(
          new Error(`shardis ${subcommand} exited with ${code}: ${stderrTail.trim().split('\n').slice(-3).join(' | ')} (log: ${logFile})`),
        );
      });
    });
  return { proc, lines, waitLine };
}

/** Starts `shardis proxy ARGS` and waits for its ready line. */
export async function startProxyProcess(
  args: string[],
  logFile: string,
  opts: { netns?: string } = {},
): Promise<{ proc: Spawned; port: number; adminPort: number }> {
  const p = startShardisProcess('proxy', args, logFile, opts);
  const m = await p.waitLine(/proxy_port=(\d+) admin_port=(\d+)/);
  return { proc: p.proc, port: Number(m[1]), adminPort: Number(m[2]) };
}

/** Starts `shardis dashboard ARGS` and waits until it is active. */
export async function startDashboardProcess(
  args: string[],
  logFile: string,
  opts: { netns?: string } = {},
): Promise<{ proc: Spawned; adminPort: number }> {
  const p = startShardisProcess('dashboard', args, logFile, opts);
  const m = await p.waitLine(/^shardis dashboard ready admin_port=(\d+)/);
  return { proc: p.proc, adminPort: Number(m[1]) };
}
