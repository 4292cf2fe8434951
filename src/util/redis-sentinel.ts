// Starts a stock redis-sentinel (Debian package) on a loopback port with its own working directory
// and writable config file (Sentinel rewrites it), waits until it answers PING, and stops it again.
// It monitors nothing by itself: the dashboard configures it (SENTINEL MONITOR / SET).
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.js';
import { spawnTracked, waitFor, type Spawned } from './processes.js';
import { rawCommand } from './redis-server.js';

export interface RedisSentinelOptions {
  port?: number;
  host?: string;
  dir?: string;
  /** Extra config lines. */
  config?: string[];
  bin?: string;
}

export interface RedisSentinel {
  host: string;
  port: number;
  addr: string;
  dir: string;
  proc: Spawned;
  stop(): Promise<void>;
  kill9(): Promise<void>;
  /** Starts it again on the same port with the config it rewrote (after stop/kill9). */
  restart(): Promise<void>;
}

export async function startRedisSentinel(opts: RedisSentinelOptions = {}): Promise<RedisSentinel> {
  const host = opts.host ?? '127.0.0.1';
  const port = opts.port ?? (await freePort(host));
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), `shardis-sentinel-${port}-`));
  mkdirSync(dir, { recursive: true });
  const conf = join(dir, 'sentinel.conf');
  writeFileSync(conf, [
    `port ${port}`,
    `bind ${host}`,
    `dir ${dir}`,
    'protected-mode no',
    'daemonize no',
    `logfile ${join(dir, 'sentinel.log')}`,
    ...(opts.config ?? []),
  ].join('\n') + '\n');
  const bin = opts.bin ?? 'redis-sentinel';
  const launch = async (): Promise<Spawned> => {
    const proc = spawnTracked(bin, [conf], { stdio: ['ignore', 'ignore', 'inherit'] });
    await waitFor(`redis-sentinel on ${host}:${port}`, async () => {
      if (proc.child.exitCode !== null) throw new Error(`redis-sentinel exited (see ${dir}/sentinel.log)`);
      return (await rawCommand(host, port, 'PING')).includes('PONG');
    }, 10000, 30);
    return proc;
  };
  const s: RedisSentinel = {
    host, port, addr: `${host}:${port}`, dir, proc: await launch(),
    stop: () => s.proc.stop(),
    kill9: () => s.proc.kill9(),
    restart: async () => { await s.proc.stop(); s.proc = await launch(); },
  };
  return s;
}
