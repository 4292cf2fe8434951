// Brings up a local Shardis cluster on this machine for `shardis up`: redis groups (a master plus
// replicas, replication running), proxies serving an even slot layout, all on loopback ports, with
// their addresses written to <dir>/cluster.json. Stops everything it started.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { startRedisServer, type RedisServer } from '../util/redis-server.js';
import { spawnTracked, waitFor, type Spawned } from '../util/processes.js';
import { evenSlots } from '../models/layout.js';

export interface LocalClusterOptions {
  groups: number;
  replicas: number;
  proxies: number;
  dir: string;
  basePort: number;
  host: string;
  product: string;
}

export interface LocalCluster {
  info: ClusterInfo;
  stop(): Promise<void>;
}

export interface ClusterInfo {
  product: string;
  dir: string;
  proxies: Array<{ addr: string; admin: string; pid: number }>;
  groups: Array<{ id: number; master: string; replicas: string[] }>;
  slots_file: string;
}

const SHARDIS_BIN = resolve(fileURLToPath(new URL('../../../bin/shardis.js', import.meta.url)));

/** Starts `shardis proxy` as a child process and waits for its ready line. */
export async function startProxyProcess(args: string[], logFile: string): Promise<{ proc: Spawned; port: number; adminPort: number }> {
  const proc = spawnTracked(process.execPath, [SHARDIS_BIN, 'proxy', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  proc.child.stderr!.on('data', (d: Buffer) => { stderr = (stderr + d.toString()).slice(-4000); });
  const ready = await new Promise<{ port: number; adminPort: number }>((resolveReady, reject) => {
    const rl = createInterface({ input: proc.child.stdout! });
    rl.on('line', (line) => {
      const m = /proxy_port=(\d+) admin_port=(\d+)/.exec(line);
      if (m) resolveReady({ port: Number(m[1]), adminPort: Number(m[2]) });
    });
    void proc.exited.then((code) => reject(new Error(`proxy exited with ${code} before it was ready: ${stderr.trim().split('\n').slice(-3).join(' | ')}`)));
  });
  // Keep draining output into the log file so the child never blocks on a full pipe.
  const { createWriteStream } = await import('node:fs');
  const log = createWriteStream(logFile, { flags: 'a' });
  proc.child.stdout!.pipe(log);
  proc.child.stderr!.pipe(log);
  return { proc, ...ready };
}

export async function startLocalCluster(o: LocalClusterOptions): Promise<LocalCluster> {
  const dir = resolve(o.dir);
  mkdirSync(dir, { recursive: true });
  let nextPort = o.basePort;
  const port = (): number | undefined => (o.basePort > 0 ? nextPort++ : undefined);
  const servers: RedisServer[] = [];
  const proxies: Array<{ proc: Spawned }> = [];
  const stop = async (): Promise<void> => {
    await Promise.all(proxies.map((p) => p.proc.stop()));
    await Promise.all(servers.map((s) => s.stop()));
  };
  try {
    const proxyPorts = Array.from({ length: o.proxies }, () => [port(), port()] as const);
    const groups: ClusterInfo['groups'] = [];
    for (let g = 1; g <= o.groups; g++) {
      const master = await startRedisServer({ host: o.host, port: port(), dir: join(dir, `group-${g}-0`) });
      servers.push(master);
      const replicas: string[] = [];
      for (let r = 1; r <= o.replicas; r++) {
        const rep = await startRedisServer({ host: o.host, port: port(), dir: join(dir, `group-${g}-${r}`), config: [`replicaof ${master.host} ${master.port}`] });
        servers.push(rep);
        replicas.push(rep.addr);
      }
      groups.push({ id: g, master: master.addr, replicas });
    }
    // Wait for replication to be up before handing the cluster over.
    for (const s of servers) {
      const { rawCommand } = await import('../util/redis-server.js');
      await waitFor(`replication on ${s.addr}`, async () => {
        const info = await rawCommand(s.host, s.port, 'INFO replication');
        return info.includes('role:master') || info.includes('master_link_status:up');
      }, 15000, 100);
    }
    const slots = evenSlots(groups.map((g) => ({ id: g.id, addr: g.master })));
    const slotsFile = join(dir, 'slots.json');
    writeFileSync(slotsFile, JSON.stringify(slots, null, 1));
    const info: ClusterInfo = { product: o.product, dir, proxies: [], groups, slots_file: slotsFile };
    for (let i = 0; i < o.proxies; i++) {
      const [pp, ap] = proxyPorts[i]!;
      const p = await startProxyProcess([
        '--fillslots', slotsFile, '--product-name', o.product,
        '--proxy-addr', `${o.host}:${pp ?? 0}`, '--admin-addr', `${o.host}:${ap ?? 0}`,
      ], join(dir, `proxy-${i + 1}.log`));
      proxies.push(p);
      info.proxies.push({ addr: `${o.host}:${p.port}`, admin: `${o.host}:${p.adminPort}`, pid: p.proc.pid });
    }
    writeFileSync(join(dir, 'cluster.json'), JSON.stringify(info, null, 2) + '\n');
    return { info, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
