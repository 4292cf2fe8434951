// Starts a real single-member etcd (Debian package `etcd-server`, /usr/bin/etcd, v3.4) on free
// loopback ports with its own data directory, waits until /health says it serves, and stops, kills
// (-9) or restarts it on the same ports and data. Used by tests and `shardis up`.
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.js';
import { spawnTracked, startManaged, type ManagedServer } from './processes.js';

export interface EtcdServerOptions {
  host?: string;
  clientPort?: number;
  peerPort?: number;
  /** Data directory (a temp dir by default); etcd's log goes to `<dir>/etcd.log`. */
  dir?: string;
  bin?: string;
  /** Extra command-line flags. */
  args?: string[];
  /** How long to wait for /health. Default 20000 ms. */
  startTimeoutMs?: number;
  /** Run inside this Linux network namespace (multi-host tests); `host` is then its address. */
  netns?: string;
  /** Member name (default `shardis-<clientPort>`). */
  name?: string;
  /**
   * Members of a multi-member cluster as `name=http://host:peerPort,...` (this member included), and
   * the cluster token they share (see `startEtcdCluster`). Default: a cluster of this member alone.
   */
  initialCluster?: string;
  clusterToken?: string;
}

export interface EtcdServer extends ManagedServer {
  /** `host:port` client endpoints, as `openStore({ kind: 'etcd', endpoints })` wants them. */
  endpoints: string[];
  host: string;
  clientPort: number;
  peerPort: number;
  dir: string;
}

async function healthy(host: string, port: number): Promise<boolean> {
  const ctl = new AbortController();
  const t = setTimeout(() => ctl.abort(), 1000);
  try {
    const res = await fetch(`http://${host}:${port}/health`, { signal: ctl.signal });
    const body = (await res.json()) as { health?: string };
    return body.health === 'true';
  } finally {
    clearTimeout(t);
  }
}

export async function startEtcd(opts: EtcdServerOptions = {}): Promise<EtcdServer> {
  const host = opts.host ?? '127.0.0.1';
  const clientPort = opts.clientPort ?? (await freePort(host));
  const peerPort = opts.peerPort ?? (await freePort(host));
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), `shardis-etcd-${clientPort}-`));
  mkdirSync(dir, { recursive: true });
  const name = opts.name ?? `shardis-${clientPort}`;
  const args = [
    '--name',
    name,
    '--data-dir',
    join(dir, 'data'),
    '--listen-client-urls',
    `http://${host}:${clientPort}`,
    '--advertise-client-urls',
    `http://${host}:${clientPort}`,
    '--listen-peer-urls',
    `http://${host}:${peerPort}`,
    '--initial-advertise-peer-urls',
    `http://${host}:${peerPort}`,
    '--initial-cluster',
    opts.initialCluster ?? `${name}=http://${host}:${peerPort}`,
    '--initial-cluster-state',
    'new',
    '--initial-cluster-token',
    opts.clusterToken ?? name,
    '--heartbeat-interval',
    '50',
    '--election-timeout',
    '500',
    '--logger',
    'zap',
    '--log-outputs',
    'stderr',
    ...(opts.args ?? []),
  ];
  const logFile = join(dir, 'etcd.log');
  const server = await startManaged({
    what: `etcd on ${host}:${clientPort}`,
    logFile,
    timeoutMs: opts.startTimeoutMs ?? 20000,
    spawn: () => spawnTracked(opts.bin ?? 'etcd', args, { logFile, netns: opts.netns }),
    ready: () => healthy(host, clientPort),
  });
  return Object.assign(server, { endpoints: [`${host}:${clientPort}`], host, clientPort, peerPort, dir });
}
