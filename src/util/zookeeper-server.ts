// Starts a real standalone ZooKeeper (Debian package `zookeeper`, 3.8, run directly with java and
// /usr/share/java/zookeeper.jar) on a free loopback port with its own zoo.cfg and data directory,
// waits until it serves (`srvr` four-letter word), and stops, kills (-9) or restarts it on the same
// port and data (sessions survive a restart, as in a real ensemble). Used by tests and `shardis up`.
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.js';
import { spawnTracked, waitFor, type Spawned } from './processes.js';

export interface ZooKeeperServerOptions {
  host?: string;
  port?: number;
  /** Working directory (a temp dir by default): zoo.cfg, data/, zookeeper.log. */
  dir?: string;
  /** ZooKeeper tick (ms). Session timeouts are bounded by min/maxSessionTimeoutMs. Default 500. */
  tickTimeMs?: number;
  minSessionTimeoutMs?: number;
  maxSessionTimeoutMs?: number;
  java?: string;
  /** Class path holding ZooKeeperServerMain. Default /usr/share/java/zookeeper.jar. */
  classPath?: string;
  /** Extra zoo.cfg lines. */
  config?: string[];
  /** Default 30000 ms (a JVM start). */
  startTimeoutMs?: number;
}

export interface ZooKeeperServer {
  /** Connection string `127.0.0.1:port`, as `openStore({ kind: 'zookeeper', servers })` wants it. */
  connect: string;
  host: string;
  port: number;
  dir: string;
  proc: Spawned;
  running(): boolean;
  stop(): Promise<void>;
  kill9(): Promise<void>;
  /** Stops it if it runs, then starts it again on the same port and data. */
  restart(): Promise<void>;
}

/** Sends a four-letter word command and returns the reply ('' on any error). */
export function fourLetterWord(host: string, port: number, cmd: string, timeoutMs = 1000): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(port, host);
    let buf = '';
    const t = setTimeout(() => { s.destroy(); resolve(buf); }, timeoutMs);
    s.on('connect', () => s.write(cmd));
    s.on('data', (d) => { buf += d.toString(); });
    s.on('end', () => { clearTimeout(t); resolve(buf); });
    s.on('error', () => { clearTimeout(t); resolve(''); });
  });
}

export async function startZooKeeper(opts: ZooKeeperServerOptions = {}): Promise<ZooKeeperServer> {
  const host = opts.host ?? '127.0.0.1';
  const port = opts.port ?? (await freePort(host));
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), `shardis-zk-${port}-`));
  const dataDir = join(dir, 'data');
  mkdirSync(dataDir, { recursive: true });
  const tick = opts.tickTimeMs ?? 500;
  const cfg = join(dir, 'zoo.cfg');
  writeFileSync(cfg, [
    `tickTime=${tick}`,
    `dataDir=${dataDir}`,
    `clientPort=${port}`,
    `clientPortAddress=${host}`,
    `minSessionTimeout=${opts.minSessionTimeoutMs ?? 2 * tick}`,
    `maxSessionTimeout=${opts.maxSessionTimeoutMs ?? 60000}`,
    'maxClientCnxns=0',
    'admin.enableServer=false',
    '4lw.commands.whitelist=ruok,srvr,stat,mntr,cons',
    'forceSync=no',
    'preAllocSize=1024',
    'autopurge.purgeInterval=0',
    ...(opts.config ?? []),
  ].join('\n') + '\n');
  const classPath = opts.classPath ?? '/usr/share/java/zookeeper.jar';
  if (!opts.classPath && !existsSync(classPath)) throw new Error(`${classPath} not found: install the Debian package "zookeeper"`);
  const logFile = join(dir, 'zookeeper.log');
  const args = [
    '-Xms32m', '-Xmx256m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-Xss512k',
    '-Djava.net.preferIPv4Stack=true',
    '-Dzookeeper.admin.enableServer=false',
    `-Dzookeeper.log.dir=${dir}`,
    '-cp', classPath,
    'org.apache.zookeeper.server.ZooKeeperServerMain', cfg,
  ];
  const launch = async (): Promise<Spawned> => {
    const proc = spawnTracked(opts.java ?? 'java', args, { logFile, cwd: dir });
    await waitFor(`ZooKeeper on ${host}:${port}`, async () => {
      if (proc.child.exitCode !== null || proc.child.signalCode !== null) throw new Error(`ZooKeeper exited (see ${logFile})`);
      return /Mode: standalone/.test(await fourLetterWord(host, port, 'srvr'));
    }, opts.startTimeoutMs ?? 30000, 50);
    return proc;
  };

  let proc = await launch();
  const alive = (): boolean => proc.child.exitCode === null && proc.child.signalCode === null;
  return {
    connect: `${host}:${port}`,
    host,
    port,
    dir,
    get proc() { return proc; },
    running: alive,
    stop: () => proc.stop(5000),
    kill9: () => proc.kill9(),
    restart: async () => {
      if (alive()) await proc.stop(5000);
      proc = await launch();
    },
  };
}
