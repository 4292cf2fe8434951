// Test fixture: a small lab of network namespaces joined by a bridge (192.0.2.0/24, TEST-NET-1, no
// route out), named sdfd-<pid>-<random>-<role> so parallel runs never collide. Every interface lives
// inside the lab's namespaces (the veth pairs are created there directly), so deleting the namespaces
// removes everything. Leftovers of earlier runs whose pid is dead are removed by `cleanupStaleLabs`.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { spawnTracked, type Spawned } from '../../src/util/processes.js';

const PREFIX = 'sdfd-';

export function ip(args: string[]): string {
  return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10000 });
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

function killNamespaceProcesses(ns: string): void {
  let pids: number[] = [];
  try {
    pids = ip(['netns', 'pids', ns])
      .split('\n')
      .map(Number)
      .filter((n) => n > 0);
  } catch {
    return;
  }
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone */
    }
  }
}

/** Removes sdfd-<pid>-* namespaces (and their processes) left by runs whose pid is no longer alive. */
export function cleanupStaleLabs(): void {
  let list = '';
  try {
    list = ip(['netns', 'list']);
  } catch {
    return;
  }
  for (const line of list.split('\n')) {
    const name = line.split(' ')[0] ?? '';
    const m = /^sdfd-(\d+)-[0-9a-f]+-\w+$/.exec(name);
    if (!m || alive(Number(m[1]))) continue;
    killNamespaceProcesses(name);
    try {
      ip(['netns', 'del', name]);
    } catch {
      /* already gone */
    }
  }
}

export class NetnsLab {
  readonly tag = `${PREFIX}${process.pid}-${randomBytes(3).toString('hex')}`;
  readonly bridgeNs = `${this.tag}-br`;
  private readonly namespaces: string[] = [];
  private readonly procs: Spawned[] = [];
  private vethCount = 0;

  /** The bridge namespace, with br0 at `bridgeAddr` (the lab's "backend" host). */
  constructor(readonly bridgeAddr = '192.0.2.1/24') {}

  setup(): void {
    cleanupStaleLabs();
    this.addNs(this.bridgeNs);
    ip(['-n', this.bridgeNs, 'link', 'add', 'br0', 'type', 'bridge']);
    ip(['-n', this.bridgeNs, 'addr', 'add', this.bridgeAddr, 'dev', 'br0']);
    ip(['-n', this.bridgeNs, 'link', 'set', 'br0', 'up']);
  }

  private addNs(ns: string): void {
    ip(['netns', 'add', ns]);
    this.namespaces.push(ns);
    ip(['-n', ns, 'link', 'set', 'lo', 'up']);
  }

  /** A "host": namespace <tag>-<role> with eth0 (address `cidr`) plugged into the bridge. */
  addHost(role: string, cidr: string): string {
    const ns = `${this.tag}-${role}`;
    this.addNs(ns);
    const port = `v${++this.vethCount}`;
    ip(['link', 'add', 'name', 'eth0', 'netns', ns, 'type', 'veth', 'peer', 'name', port, 'netns', this.bridgeNs]);
    ip(['-n', this.bridgeNs, 'link', 'set', port, 'master', 'br0']);
    ip(['-n', this.bridgeNs, 'link', 'set', port, 'up']);
    ip(['-n', ns, 'addr', 'add', cidr, 'dev', 'eth0']);
    ip(['-n', ns, 'link', 'set', 'eth0', 'up']);
    return ns;
  }

  /** Runs `cmd args` inside `ns` (ip netns exec replaces itself with the command: same pid). */
  spawn(ns: string, cmd: string, args: string[], logFile?: string, pipe = false): Spawned {
    const p = spawnTracked('ip', ['netns', 'exec', ns, cmd, ...args], pipe ? { stdio: ['pipe', 'pipe', 'pipe'] } : { logFile });
    this.procs.push(p);
    return p;
  }

  exec(ns: string, cmd: string, args: string[], timeoutMs = 30000): string {
    return execFileSync('ip', ['netns', 'exec', ns, cmd, ...args], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: timeoutMs,
    });
  }

  hasAddress(ns: string, addr: string): boolean {
    return ip(['-n', ns, '-o', 'addr', 'show']).includes(` ${addr}/`);
  }

  /** Stops what it started, kills anything left in its namespaces, deletes them (with their veths). */
  async teardown(): Promise<void> {
    await Promise.all(this.procs.map((p) => p.stop(2000).catch(() => undefined)));
    for (const ns of this.namespaces.slice().reverse()) {
      killNamespaceProcesses(ns);
      try {
        ip(['netns', 'del', ns]);
      } catch {
        /* gone */
      }
    }
    this.namespaces.length = 0;
  }
}
