// Starts a real standalone ZooKeeper (Debian package `zookeeper`, 3.8, run directly with java and
// /usr/share/java/zookeeper.jar) on a free loopback port with its own zoo.cfg and data directory,
// waits until it serves (`srvr` four-letter word), and stops, kills (-9) or restarts it on the same
// port and data (sessions survive a restart, as in a real ensemble). Used by tests and `shardis up`.
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port.js';
import { spawnTracked, startManaged, type ManagedServer } from './processes.js';

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
  /** Run inside this Linux network namespace (multi-host tests); `host` is then its address. */
  netns?: string;
  /**
   * Member of an ensemble (see `startZooKeeperEnsemble`): this server's id and every member's
   * `server.N=host:quorumPort:electionPort` line. Default: standalone.
   */
  ensemble?: { myId: number; servers: string[] };
}

export interface ZooKeeperServer extends ManagedServer {
  /** Connection string `127.0.0.1:port`, as `openStore({ kind: 'zookeeper', servers })` wants it. */
  connect: string;
  host: string;
  port: number;
  dir: string;
}

/** Sends a four-letter word command and returns the reply ('' on any error). */
export function fourLetterWord(host: string, port: number, cmd: string, timeoutMs = 1000): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(port, host);
    let buf = '';
    const t = setTimeout(() => {
      s.destroy();
      resolve(buf);
    }, timeoutMs);
    s.on('connect', () => s.write(cmd));
    s.on('data', (d) => {
      buf += d.toString();
    });
    s.on('end', () => {
      clearTimeout(t);
      resolve(buf);
    });
    s.on('error', () => {
      clearTimeout(t);
      resolve('');
    });
  });
}

export async function startZooKeeper(opts: ZooKeeperServerOptions = {}): Promise<ZooKeeperServer> {
  const host = opts.host ?? '127.0.0.1';
  const port = opts.port ?? (await freePort(host));
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), `shardis-zk-${port}-`));
  const dataDir = join(dir, 'data');
  mkdirSync(dataDir, { recursive: true });
  if (opts.ensemble) writeFileSync(join(dataDir, 'myid'), `${opts.ensemble.myId}\n`);
  const tick = opts.tickTimeMs ?? 500;
  const cfg = join(dir, 'zoo.cfg');
  writeFileSync(
    cfg,
    [
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
      ...(opts.ensemble ? ['initLimit=20', 'syncLimit=4', 'quorumListenOnAllIPs=false', ...opts.ensemble.servers] : []),
      ...(opts.config ?? []),
    ].join('\n') + '\n',
  );
  const classPath = opts.classPath ?? '/usr/share/java/zookeeper.jar';
  if (!opts.classPath && !existsSync(classPath)) throw new Error(`${classPath} not found: install the Debian package "zookeeper"`);
  const logFile = join(dir, 'zookeeper.log');
  const args = [
    '-Xms32m',
    '-Xmx256m',
    '-XX:+UseSerialGC',
    '-XX:TieredStopAtLevel=1',
    '-Xss512k',
    '-Djava.net.preferIPv4Stack=true',
    '-Dzookeeper.admin.enableServer=false',
    `-Dzookeeper.log.dir=${dir}`,
    '-cp',
    classPath,
    opts.ensemble ? 'org.apache.zookeeper.server.quorum.QuorumPeerMain' : 'org.apache.zookeeper.server.ZooKeeperServerMain',
    cfg,
  ];
  const server = await startManaged({
    what: `ZooKeeper on ${host}:${port}`,
    logFile,
    timeoutMs: opts.startTimeoutMs ?? 30000,
    spawn: () => spawnTracked(opts.java ?? 'java', args, { logFile, cwd: dir, netns: opts.netns }),
    ready: async () => (opts.ensemble ? /Mode: (leader|follower)/ : /Mode: standalone/).test(await fourLetterWord(host, port, 'srvr')),
  });
  return Object.assign(server, { connect: `${host}:${port}`, host, port, dir });
}
