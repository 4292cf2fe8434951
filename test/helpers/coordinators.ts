// Owns the shared coordinator fixtures for tests: a started backend (temp directory, real etcd or real
// ZooKeeper) with a factory for stores on it, and "holder" child processes that take a lock or create
// an ephemeral node in another process so tests can kill -9 them.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { openStore, type Store, type StoreKind, type StoreOptions, type StoreSpec } from '../../src/coordinator/index.js';
import { startEtcd } from '../../src/util/etcd-server.js';
import { spawnTracked, type ManagedServer, type Spawned } from '../../src/util/processes.js';
import { startZooKeeper } from '../../src/util/zookeeper-server.js';

/** Short timings so failure paths are quick in tests. */
export const TEST_STORE_OPTIONS: Required<Omit<StoreOptions, 'auth'>> = { timeoutMs: 2000, ephemeralTtlMs: 2000, pollIntervalMs: 100 };

export interface Backend {
  kind: StoreKind;
  spec: StoreSpec;
  /** The server process (etcd / ZooKeeper); undefined for the filesystem. */
  server?: ManagedServer;
  /** Opens a store on this backend; every store opened here is closed by `teardown`. */
  open(overrides?: StoreOptions): Promise<Store>;
  teardown(): Promise<void>;
}

function backend(kind: StoreKind, spec: StoreSpec, server: ManagedServer | undefined, cleanup: () => Promise<void>): Backend {
  const opened: Store[] = [];
  return {
    kind,
    spec,
    server,
    async open(overrides = {}) {
      const s = await openStore({ ...spec, ...overrides });
      opened.push(s);
      return s;
    },
    async teardown() {
      await Promise.all(opened.map((s) => s.close().catch(() => undefined)));
      await cleanup();
    },
  };
}

export async function startFsBackend(): Promise<Backend> {
  const root = mkdtempSync(join(tmpdir(), 'shardis-fs-'));
  return backend('filesystem', { kind: 'filesystem', root, ...TEST_STORE_OPTIONS }, undefined, async () => {
    rmSync(root, { recursive: true, force: true });
  });
}

export async function startEtcdBackend(): Promise<Backend> {
  const etcd = await startEtcd();
  return backend('etcd', { kind: 'etcd', endpoints: etcd.endpoints, ...TEST_STORE_OPTIONS }, etcd, async () => {
    await etcd.stop();
    rmSync(etcd.dir, { recursive: true, force: true });
  });
}

export async function startZkBackend(): Promise<Backend> {
  const zk = await startZooKeeper();
  return backend('zookeeper', { kind: 'zookeeper', servers: zk.connect, ...TEST_STORE_OPTIONS }, zk, async () => {
    await zk.stop();
    rmSync(zk.dir, { recursive: true, force: true });
  });
}

export type HolderAction = { op: 'lock'; path: string; ttlMs: number; data?: string } | { op: 'ephemeral'; path: string; data?: string };

export interface Holder {
  proc: Spawned;
  pid: number;
  /** Every line the holder printed so far ('READY', 'HELD-BY-OTHER', 'LOST <message>', ...). */
  lines: string[];
  /** Resolves with the first line (past or future) matching `re`. */
  waitLine(re: RegExp, timeoutMs?: number): Promise<string>;
  kill9(): Promise<void>;
  /** SIGSTOP / SIGCONT: freeze the holder without killing it. */
  pause(): void;
  resume(): void;
}

const HOLDER_SCRIPT = `
const { openStore } = await import(process.env.SHARDIS_COORDINATOR_MODULE);
const { spec, action } = JSON.parse(process.env.SHARDIS_HOLDER);
const store = await openStore(spec);
const data = Buffer.from(action.data ?? JSON.stringify({ pid: process.pid }));
if (action.op === 'lock') {
  const lease = await store.acquireLock(action.path, data, { ttlMs: action.ttlMs });
  if (!lease) { console.log('HELD-BY-OTHER'); process.exit(0); }
  lease.onLost((e) => console.log('LOST ' + e.message));
} else {
  const h = await store.createEphemeral(action.path, data);
  h.onLost((e) => console.log('LOST ' + e.message));
}
console.log('READY');
setInterval(() => {}, 1 << 30);
`;

/** Starts a node child process that opens `spec` and holds `action` until killed. Waits for READY. */
export async function spawnHolder(spec: StoreSpec, action: HolderAction): Promise<Holder> {
  const modulePath = new URL('../../src/coordinator/index.js', import.meta.url).href;
  const proc = spawnTracked(process.execPath, ['--input-type=module', '-e', HOLDER_SCRIPT], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: { ...process.env, SHARDIS_COORDINATOR_MODULE: modulePath, SHARDIS_HOLDER: JSON.stringify({ spec, action }) },
  });
  const lines: string[] = [];
  const waiters = new Set<() => void>();
  const stdout = proc.child.stdout;
  if (!stdout) throw new Error('holder has no stdout');
  createInterface({ input: stdout }).on('line', (l) => {
    lines.push(l);
    for (const w of [...waiters]) w();
  });
  const waitLine = (re: RegExp, timeoutMs = 15000): Promise<string> =>
    new Promise((resolve, reject) => {
      const check = (): boolean => {
        const hit = lines.find((l) => re.test(l));
        if (hit !== undefined) {
          waiters.delete(onLine);
          clearTimeout(t);
          resolve(hit);
          return true;
        }
        return false;
      };
      const onLine = (): void => void check();
      const t = setTimeout(() => {
        waiters.delete(onLine);
        reject(new Error(`holder ${proc.pid} did not print ${re} within ${timeoutMs} ms; printed: ${JSON.stringify(lines)}`));
      }, timeoutMs);
      waiters.add(onLine);
      void proc.exited.then(() =>
        setTimeout(() => {
          if (!check()) {
            waiters.delete(onLine);
            clearTimeout(t);
            reject(new Error(`holder ${proc.pid} exited without printing ${re}; printed: ${JSON.stringify(lines)}`));
          }
        }, 50),
      );
      check();
    });
  const holder: Holder = {
    proc,
    pid: proc.pid,
    lines,
    waitLine,
    kill9: () => proc.kill9(),
    pause: () => {
      proc.child.kill('SIGSTOP');
    },
    resume: () => {
      proc.child.kill('SIGCONT');
    },
  };
  await waitLine(/^(READY|HELD-BY-OTHER)$/, 20000);
  return holder;
}
