// Owns child processes started by Shardis (tests, `shardis up`, benchmarks): spawns them, and makes
// sure every one is killed when the parent exits, even on an uncaught error or a signal.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { openSync } from 'node:fs';

const live = new Set<ChildProcess>();
let hooked = false;

function killAll(): void {
  for (const c of live) {
    try {
      c.kill('SIGKILL');
    } catch {
      /* already gone */
    }
  }
  live.clear();
}

function hookExit(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', killAll);
}

export interface Spawned {
  child: ChildProcess;
  pid: number;
  /** Resolves with the exit code (or signal name) once the process has exited. */
  exited: Promise<number | string>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
  stop(graceMs?: number): Promise<void>;
  kill9(): Promise<void>;
}

/**
 * `netns`: run the command inside that Linux network namespace (`ip netns exec NS cmd ...`, which
 * execs in place, so `pid` is the command's own pid). Used by the multi-host test harness.
 */
export function spawnTracked(cmd: string, args: string[], opts: SpawnOptions & { logFile?: string; netns?: string } = {}): Spawned {
  hookExit();
  if (opts.netns) {
    args = ['netns', 'exec', opts.netns, cmd, ...args];
    cmd = 'ip';
  }
  const stdio: SpawnOptions['stdio'] = opts.logFile
    ? ['ignore', openSync(opts.logFile, 'a'), openSync(opts.logFile, 'a')]
    : (opts.stdio ?? ['ignore', 'ignore', 'inherit']);
  const child = spawn(cmd, args, { ...opts, stdio });
  if (child.pid === undefined) throw new Error(`could not start ${cmd}`);
  live.add(child);
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => {
      live.delete(child);
      resolve(code ?? signal ?? -1);
    });
    child.once('error', () => {
      live.delete(child);
      resolve(-1);
    });
  });
  const stop = async (graceMs = 5000): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(t);
  };
  const kill9 = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill('SIGKILL');
    await exited;
  };
  return { child, pid: child.pid, exited, stop, kill9 };
}

/** Polls `check` until it returns true, or throws after `timeoutMs`. */
export async function waitFor(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 10000, everyMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastErr: unknown;
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch (e) {
      lastErr = e;
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
  throw new Error(
    `timed out after ${timeoutMs} ms waiting for ${what}${lastErr ? `: ${lastErr instanceof Error ? lastErr.message : JSON.stringify(lastErr)}` : ''}`,
  );
}

/**
 * A local server process (redis-server, redis-sentinel, etcd, ZooKeeper) that can be stopped, killed
 * and started again on the same ports and data.
 */
export interface ManagedServer {
  /** The current process (replaced by `restart`). */
  readonly proc: Spawned;
  running(): boolean;
  /** SIGTERM, then SIGKILL after 5 s. */
  stop(): Promise<void>;
  kill9(): Promise<void>;
  /** Stops it if it runs, then starts it again. */
  restart(): Promise<void>;
}

/**
 * Starts `spawn()` and waits until `ready()` (failing early, pointing at `logFile`, if the process
 * exits meanwhile); the returned handle starts it the same way on `restart`.
 */
export async function startManaged(o: {
  what: string;
  spawn: () => Spawned;
  ready: () => Promise<boolean>;
  logFile: string;
  timeoutMs: number;
  everyMs?: number;
}): Promise<ManagedServer> {
  const launch = async (): Promise<Spawned> => {
    const p = o.spawn();
    try {
      await waitFor(
        o.what,
        async () => {
          if (p.child.exitCode !== null || p.child.signalCode !== null) throw new Error(`${o.what} exited (see ${o.logFile})`);
          return o.ready();
        },
        o.timeoutMs,
        o.everyMs ?? 50,
      );
    } catch (e) {
      await p.kill9(); // never leave a server that did not become ready running
      throw e;
    }
    return p;
  };
  let proc = await launch();
  const running = (): boolean => proc.child.exitCode === null && proc.child.signalCode === null;
  return {
    get proc() {
      return proc;
    },
    running,
    stop: () => proc.stop(5000),
    kill9: () => proc.kill9(),
    restart: async () => {
      if (running()) await proc.stop(5000);
      proc = await launch();
    },
  };
}
