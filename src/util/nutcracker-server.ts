// Starts Debian's `nutcracker` (twemproxy 0.5.0) from a config text on loopback ports, waits until
// every pool listener and the stats port accept connections, and stops it again. Used by the
// Twemproxy-mode tests and benchmark to compare Shardis with the real thing.
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import { freePort } from './free-port.js';
import { spawnTracked, startManaged, type ManagedServer } from './processes.js';

export interface Nutcracker extends ManagedServer {
  dir: string;
  configFile: string;
  statsPort: number;
}

/** True when something accepts TCP connections on host:port. */
export function accepts(host: string, port: number, timeoutMs = 500): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, host);
    const t = setTimeout(() => {
      s.destroy();
      resolve(false);
    }, timeoutMs);
    s.once('connect', () => {
      clearTimeout(t);
      s.destroy();
      resolve(true);
    });
    s.once('error', () => {
      clearTimeout(t);
      resolve(false);
    });
  });
}

/** Reads one stats document from a nutcracker-style stats port (one JSON per connection). */
export function readStatsPort(host: string, port: number, timeoutMs = 3000): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, host);
    let buf = '';
    const t = setTimeout(() => {
      s.destroy();
      reject(new Error(`no stats from ${host}:${port} within ${timeoutMs} ms`));
    }, timeoutMs);
    s.on('data', (d) => {
      buf += d.toString('utf8');
    });
    s.on('end', () => {
      clearTimeout(t);
      s.destroy();
      resolve(buf);
    });
    s.on('error', (e) => {
      clearTimeout(t);
      reject(e);
    });
  });
}

/**
 * Starts nutcracker with `config` (YAML text). `listenPorts` are the pools' TCP ports to wait for.
 * `statsIntervalMs` is nutcracker's -i (how often its stats are aggregated).
 */
export async function startNutcracker(o: {
  config: string;
  listenPorts: number[];
  dir?: string;
  statsIntervalMs?: number;
  bin?: string;
}): Promise<Nutcracker> {
  const dir = o.dir ?? mkdtempSync(join(tmpdir(), 'shardis-nutcracker-'));
  const configFile = join(dir, 'nutcracker.yml');
  writeFileSync(configFile, o.config);
  const statsPort = await freePort();
  const logFile = join(dir, 'nutcracker.log');
  const server = await startManaged({
    what: 'nutcracker',
    logFile,
    timeoutMs: 10000,
    // Debian installs it in /usr/sbin, which is not on every user's PATH.
    spawn: () =>
      spawnTracked(
        o.bin ?? (existsSync('/usr/sbin/nutcracker') ? '/usr/sbin/nutcracker' : 'nutcracker'),
        ['-c', configFile, '-s', String(statsPort), '-a', '127.0.0.1', '-i', String(o.statsIntervalMs ?? 1000), '-o', logFile],
        { stdio: ['ignore', 'ignore', 'inherit'] },
      ),
    ready: async () => {
      for (const p of [statsPort, ...o.listenPorts]) if (!(await accepts('127.0.0.1', p))) return false;
      return true;
    },
  });
  return Object.assign(server, { dir, configFile, statsPort });
}
