// Test fixtures for the front door: run a real HAProxy or nginx from a generated config, run a write
// workload through an address and check afterwards that every acknowledged write is in Redis.
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { spawnTracked, waitFor, type Spawned } from '../../src/util/processes.js';
import { runtimeCommand } from '../../src/frontdoor/haproxy-runtime.js';
import { SHARDIS_BIN } from '../../src/util/shardis-process.js';

/** Runs `shardis ARGS` to completion (killed after timeoutMs); resolves with exit code, stdout, stderr. */
export async function runShardis(args: string[], timeoutMs = 30000): Promise<{ code: number | string; stdout: string; stderr: string }> {
  const p = spawnTracked(process.execPath, [SHARDIS_BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '',
    stderr = '';
  p.child.stdout!.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  p.child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const t = setTimeout(() => {
    void p.kill9();
  }, timeoutMs);
  const code = await p.exited;
  clearTimeout(t);
  return { code, stdout, stderr };
}

export async function startHaproxy(cfg: string, runtimeApi: string, logFile: string): Promise<Spawned> {
  const p = spawnTracked('haproxy', ['-db', '-f', cfg], { logFile });
  await waitFor('HAProxy Runtime API', async () => (await runtimeCommand(runtimeApi, 'show info', 1000)).includes('Pid:'), 15000, 100);
  return p;
}

export async function startNginx(cfg: string, prefix: string, listenPort: number): Promise<Spawned> {
  const p = spawnTracked('nginx', ['-p', prefix, '-c', cfg, '-g', `daemon off; error_log ${join(prefix, 'error.log')} info;`], {
    logFile: join(prefix, 'nginx.out'),
  });
  await waitFor(
    'nginx listening',
    async () => {
      const c = new Redis({ port: listenPort, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      c.on('error', () => {});
      try {
        await c.connect();
        return (await c.ping()) === 'PONG';
      } finally {
        c.disconnect();
      }
    },
    15000,
    100,
  );
  return p;
}

/** Writers that SET unique keys through one address, reconnecting on close (ioredis defaults). */
export class WriteWorkload {
  readonly acked = new Map<string, string>();
  readonly errors: Array<{ at: number; phase: string; message: string }> = [];
  phase = 'start';
  private running = true;
  private readonly loops: Promise<void>[] = [];
  readonly clients: Redis[] = [];

  constructor(
    host: string,
    port: number,
    writers: number,
    private readonly prefix: string,
  ) {
    for (let w = 0; w < writers; w++) {
      const c = new Redis({ host, port, maxRetriesPerRequest: 50 });
      c.on('error', () => {
        /* reconnects by itself */
      });
      this.clients.push(c);
      this.loops.push(this.loop(c, w));
    }
  }

  private async loop(c: Redis, w: number): Promise<void> {
    for (let n = 0; this.running && n < 1_000_000; n++) {
      const key = `${this.prefix}:${w}:${n}`;
      try {
        await c.set(key, String(n));
        this.acked.set(key, String(n));
      } catch (e) {
        this.errors.push({ at: Date.now(), phase: this.phase, message: (e as Error).message });
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  }

  /** Waits until `n` more writes were acknowledged (progress check), bounded. */
  async progress(n: number, timeoutMs = 20000): Promise<void> {
    const start = this.acked.size;
    await waitFor(`${n} more acknowledged writes (phase ${this.phase})`, () => this.acked.size >= start + n, timeoutMs, 20);
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.race([Promise.all(this.loops), new Promise((r) => setTimeout(r, 15000).unref())]);
    for (const c of this.clients) c.disconnect();
  }

  /** Keys acknowledged to the client but missing or different in the given redis server. */
  async lost(redisPort: number, redisHost = '127.0.0.1'): Promise<string[]> {
    const r = new Redis({ host: redisHost, port: redisPort });
    try {
      const keys = [...this.acked.keys()];
      const missing: string[] = [];
      for (let i = 0; i < keys.length; i += 500) {
        const batch = keys.slice(i, i + 500);
        const vals = await r.mget(...batch);
        batch.forEach((k, j) => {
          if (vals[j] !== this.acked.get(k)) missing.push(k);
        });
      }
      return missing;
    } finally {
      r.disconnect();
    }
  }
}
