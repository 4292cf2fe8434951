// Starts a stock redis-server (Debian package) on a loopback port with its own working directory,
// waits until it answers (itself, not another server on the port), and stops it again. Used by tests, benchmarks and `shardis up`.
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net, { isIP } from 'node:net';
import tls from 'node:tls';
import { freePort, startOnFreePort } from './free-port.js';
import { spawnTracked, startManaged, type ManagedServer } from './processes.js';

export interface RedisServerOptions {
  port?: number;
  host?: string;
  dir?: string;
  password?: string;
  /**
   * Also listen with TLS on `tls.port` (free port if 0/absent): server certificate, key and the CA
   * that client certificates must be signed by; `authClients` 'yes' | 'no' | 'optional' (default 'no').
   * The plain port stays open on loopback for control and readiness checks.
   */
  tls?: {
    cert: string;
    key: string;
    ca: string;
    port?: number;
    authClients?: 'yes' | 'no' | 'optional';
    /**
     * TLS only: no plain port (`port 0`); `port`/`addr` are then the TLS port, readiness is checked
     * over TLS with `clientCert`/`clientKey` (default: cert/key), and replication and MIGRATE use TLS.
     */
    only?: boolean;
    clientCert?: string;
    clientKey?: string;
  };
  /** Extra config lines, e.g. ['replicaof 127.0.0.1 7000']. */
  config?: string[];
  bin?: string;
  /** Run inside this Linux network namespace (multi-host tests); `host` is then its address. */
  netns?: string;
}

export interface RedisServer extends ManagedServer {
  host: string;
  port: number;
  /** The TLS port when started with `tls`. */
  tlsPort?: number;
  addr: string;
  dir: string;
}

/** Files of a TLS client of a TLS-only server (the CA, and a client certificate for tls-auth-clients yes). */
export interface TlsClientFiles {
  ca: string;
  cert: string;
  key: string;
}

export const tlsClientOf = (t: { ca: string; cert: string; key: string; clientCert?: string; clientKey?: string }): TlsClientFiles => ({
  ca: t.ca,
  cert: t.clientCert ?? t.cert,
  key: t.clientKey ?? t.key,
});

/** rawCommand over TLS. */
export function tlsCommand(
  host: string,
  port: number,
  line: string,
  t: TlsClientFiles,
  password?: string,
  timeoutMs = 2000,
): Promise<string> {
  return rawCommand(host, port, line, password, timeoutMs, t);
}

/** Sends one inline command on a fresh connection (TLS with `t`) and returns the raw reply text. */
export function rawCommand(
  host: string,
  port: number,
  line: string,
  password?: string,
  timeoutMs = 2000,
  tlsFiles?: TlsClientFiles,
): Promise<string> {
  return new Promise((resolve, reject) => {
    const f = tlsFiles;
    const s: net.Socket = f
      ? tls.connect({
          host,
          port,
          ca: readFileSync(f.ca),
          cert: readFileSync(f.cert),
          key: readFileSync(f.key),
          servername: isIP(host) ? undefined : host,
        })
      : net.connect(port, host);
    let buf = '';
    const t = setTimeout(() => {
      s.destroy();
      reject(new Error('timeout'));
    }, timeoutMs);
    s.on(f ? 'secureConnect' : 'connect', () => s.write((password ? `AUTH ${password}\r\n` : '') + line + '\r\n'));
    s.on('data', (d: Buffer) => {
      buf += d.toString();
      const lines = buf.split('\r\n').length - 1;
      if (lines >= (password ? 2 : 1)) {
        clearTimeout(t);
        s.destroy();
        resolve(buf);
      }
    });
    s.on('error', (e: Error) => {
      clearTimeout(t);
      reject(e);
    });
  });
}

export async function startRedisServer(opts: RedisServerOptions = {}): Promise<RedisServer> {
  // No port given: a port taken between freePort() and the bind is retried on another one.
  if (opts.port === undefined) return startOnFreePort(opts.host ?? '127.0.0.1', undefined, (port) => startRedisServer({ ...opts, port }));
  const host = opts.host ?? '127.0.0.1';
  const port = opts.port ?? (await freePort(host));
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), `shardis-redis-${port}-`));
  mkdirSync(dir, { recursive: true });
  const only = opts.tls?.only === true;
  const tlsPort = opts.tls ? opts.tls.port || (only ? port : await freePort(host)) : undefined;
  const tlsLines =
    opts.tls && tlsPort !== undefined
      ? [
          `tls-port ${tlsPort}`,
          `tls-cert-file ${opts.tls.cert}`,
          `tls-key-file ${opts.tls.key}`,
          `tls-ca-cert-file ${opts.tls.ca}`,
          `tls-auth-clients ${opts.tls.authClients ?? 'no'}`,
          ...(only ? ['tls-replication yes', 'tls-cluster yes'] : []),
        ]
      : [];
  const lines = [
    `port ${only ? 0 : port}`,
    `bind ${host}`,
    `dir ${dir}`,
    'save ""',
    'appendonly no',
    'protected-mode no',
    'daemonize no',
    `logfile ${join(dir, 'redis.log')}`,
    ...(opts.password ? [`requirepass ${opts.password}`, `masterauth ${opts.password}`] : []),
    ...tlsLines,
    ...(opts.config ?? []),
  ];
  const conf = join(dir, 'redis.conf');
  writeFileSync(conf, lines.join('\n') + '\n');
  const server = await startManaged({
    what: `redis-server on ${host}:${port}`,
    logFile: join(dir, 'redis.log'),
    timeoutMs: 10000,
    everyMs: 30,
    spawn: () => spawnTracked(opts.bin ?? 'redis-server', [conf], { stdio: ['ignore', 'ignore', 'inherit'], netns: opts.netns }),
    // Our server, not another one that took the port first: it reports our (unique) dir.
    ready: async () =>
      (only && opts.tls
        ? await tlsCommand(host, tlsPort!, 'CONFIG GET dir', tlsClientOf(opts.tls), opts.password)
        : await rawCommand(host, port, 'CONFIG GET dir', opts.password)
      ).includes(realpathSync(dir)),
  });
  const shown = only ? tlsPort! : port;
  return Object.assign(server, { host, port: shown, addr: `${host}:${shown}`, dir, ...(tlsPort !== undefined ? { tlsPort } : {}) });
}
