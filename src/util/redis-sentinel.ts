// Starts a stock redis-sentinel (Debian package) on a loopback port with its own working directory
// and writable config file (Sentinel rewrites it), waits until it answers PING, and stops it again.
// It monitors nothing by itself: the dashboard configures it (SENTINEL MONITOR / SET).
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, startOnFreePort } from './free-port.js';
import { spawnTracked, startManaged, type ManagedServer } from './processes.js';
import { rawCommand, tlsClientOf, tlsCommand } from './redis-server.js';

export interface RedisSentinelOptions {
  port?: number;
  host?: string;
  dir?: string;
  /** Extra config lines. */
  config?: string[];
  bin?: string;
  /** Run inside this Linux network namespace (multi-host tests); `host` is then its address. */
  netns?: string;
  /**
   * TLS only: the port is a tls-port (no plain port), client certificates required, and the sentinel
   * reaches the servers with TLS (tls-replication yes); readiness is checked over TLS with
   * clientCert/clientKey (default: cert/key).
   */
  tls?: { cert: string; key: string; ca: string; clientCert?: string; clientKey?: string };
}

/** `restart` starts it again on the same port with the config it rewrote. */
export interface RedisSentinel extends ManagedServer {
  host: string;
  port: number;
  addr: string;
  dir: string;
}

export async function startRedisSentinel(opts: RedisSentinelOptions = {}): Promise<RedisSentinel> {
  // No port given: a port taken between freePort() and the bind is retried on another one.
  if (opts.port === undefined) return startOnFreePort(opts.host ?? '127.0.0.1', undefined, (port) => startRedisSentinel({ ...opts, port }));
  const host = opts.host ?? '127.0.0.1';
  const port = opts.port ?? (await freePort(host));
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), `shardis-sentinel-${port}-`));
  mkdirSync(dir, { recursive: true });
  const conf = join(dir, 'sentinel.conf');
  writeFileSync(
    conf,
    [
      ...(opts.tls
        ? [
            'port 0',
            `tls-port ${port}`,
            `tls-cert-file ${opts.tls.cert}`,
            `tls-key-file ${opts.tls.key}`,
            `tls-ca-cert-file ${opts.tls.ca}`,
            'tls-auth-clients yes',
            'tls-replication yes',
          ]
        : [`port ${port}`]),
      `bind ${host}`,
      `dir ${dir}`,
      'protected-mode no',
      'daemonize no',
      `logfile ${join(dir, 'sentinel.log')}`,
      ...(opts.config ?? []),
    ].join('\n') + '\n',
  );
  const server = await startManaged({
    what: `redis-sentinel on ${host}:${port}`,
    logFile: join(dir, 'sentinel.log'),
    timeoutMs: 10000,
    everyMs: 30,
    spawn: () => spawnTracked(opts.bin ?? 'redis-sentinel', [conf], { stdio: ['ignore', 'ignore', 'inherit'], netns: opts.netns }),
    ready: async () =>
      (opts.tls ? await tlsCommand(host, port, 'PING', tlsClientOf(opts.tls)) : await rawCommand(host, port, 'PING')).includes('PONG'),
  });
  return Object.assign(server, { host, port, addr: `${host}:${port}`, dir });
}
