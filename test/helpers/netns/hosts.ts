// The multi-host harness: N "hosts" as Linux network namespaces, each joined by a veth link to one
// bridge living in a namespace of its own, plus a control link from the test process's namespace to
// that bridge (so the test can start, watch and check processes on every host). Addresses come from a
// /26 of 198.51.100.0/24 not routed here yet; no namespace has a route out. It starts processes inside
// a host (`ip netns exec`), and injects faults: kill a host (every process in it, -9), isolate a host
// (its bridge port down), split the hosts into two sides (side B moved to a second bridge, which the
// control link does not reach) and heal. `destroy()` kills what runs in the namespaces and deletes
// them (and with them every veth and bridge); `sweepLeftovers()` removes namespaces of earlier runs
// whose creating process is gone. Names: `sdmh-<pid>-<rand>-<host>` for namespaces, `sdmh-<rand>-*`
// for links (at most 15 characters), so parallel runs and other users never collide.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { spawnTracked, type Spawned } from '../../../src/util/processes.js';

const run = promisify(execFile);
const PREFIX = 'sdmh-';

async function ip(args: string[]): Promise<string> {
  try {
    const { stdout } = await run('ip', args, { timeout: 10000 });
    return stdout;
  } catch (e) {
    const err = e as Error & { stderr?: string };
    throw new Error(`ip ${args.join(' ')}: ${(err.stderr ?? err.message).trim()}`);
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Pids of every process in a namespace ([] if it is gone). */
async function nsPids(ns: string): Promise<number[]> {
  const out = await ip(['netns', 'pids', ns]).catch(() => '');
  return out
    .split('\n')
    .map((l) => Number(l.trim()))
    .filter((n) => Number.isInteger(n) && n > 0);
}

/** kill -9 everything in `ns`, repeated until empty (bounded), then delete the namespace. */
async function removeNamespace(ns: string): Promise<void> {
  for (let i = 0; i < 20; i++) {
    const pids = await nsPids(ns);
    if (pids.length === 0) break;
    for (const p of pids) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        /* gone */
      }
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  await ip(['netns', 'del', ns]).catch(() => undefined);
}

async function namespaces(): Promise<string[]> {
  const out = await ip(['netns', 'list']).catch(() => '');
  return out
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter((n) => n.startsWith(PREFIX));
}

/** Deletes namespaces named `sdmh-<pid>-…` whose creating process no longer runs (a crashed earlier run). */
export async function sweepLeftovers(): Promise<string[]> {
  const removed: string[] = [];
  for (const ns of await namespaces()) {
    const m = /^sdmh-(\d+)-/.exec(ns);
    if (!m || pidAlive(Number(m[1]))) continue;
    await removeNamespace(ns);
    removed.push(ns);
  }
  return removed;
}

/** A /26 of 198.51.100.0/24 with no route in this namespace yet (the test process's). */
async function freeSubnet(): Promise<number> {
  const routes = await ip(['-4', 'route', 'show', 'table', 'all']);
  const used = (base: number): boolean =>
    routes.split('\n').some((l) => {
      const m = /^(?:\S+ )?198\.51\.100\.(\d+)(?:\/(\d+))?/.exec(l.trim());
      if (!m) return false;
      const a = Number(m[1]);
      const len = Number(m[2] ?? 32);
      const size = 2 ** (32 - Math.max(len, 24));
      const start = a - (a % size);
      return start < base + 64 && base < start + size;
    });
  const bases = [0, 64, 128, 192].sort(() => Math.random() - 0.5);
  const base = bases.find((b) => !used(b));
  if (base === undefined) throw new Error('no free /26 in 198.51.100.0/24 for the test network');
  return base;
}

export interface NetHost {
  /** The name given at creation (e.g. h1, clients). */
  name: string;
  /** Its network namespace. */
  ns: string;
  /** Its address on the test network (processes bind to it). */
  addr: string;
}

export class HostNetwork {
  readonly hosts: NetHost[];
  private readonly procs = new Map<string, Spawned[]>();
  private readonly isolated = new Set<string>();
  private readonly sideB = new Set<string>();
  private destroyed = false;

  private constructor(
    private readonly tag: string,
    private readonly bridgeNs: string,
    hosts: NetHost[],
    /** Address of the test process on the control link. */
    readonly controlAddr: string,
  ) {
    this.hosts = hosts;
  }

  /**
   * Creates one namespace per name (loopback up, address on the shared bridge) and the control link.
   * On failure everything already made is removed before the error is thrown.
   */
  static async create(names: string[]): Promise<HostNetwork> {
    if (names.length < 1 || names.length > 60) throw new Error('between 1 and 60 hosts');
    await sweepLeftovers();
    const tag = randomBytes(2).toString('hex');
    const nsOf = (n: string): string => `${PREFIX}${process.pid}-${tag}-${n}`;
    const bridgeNs = nsOf('bridge');
    const made: string[] = [];
    try {
      const base = await freeSubnet();
      const link = (s: string): string => `${PREFIX}${tag}-${s}`;
      await ip(['netns', 'add', bridgeNs]);
      made.push(bridgeNs);
      await ip(['-n', bridgeNs, 'link', 'set', 'lo', 'up']);
      for (const br of ['br', 'br2']) {
        await ip(['-n', bridgeNs, 'link', 'add', link(br), 'type', 'bridge']);
        await ip(['-n', bridgeNs, 'link', 'set', link(br), 'up']);
      }
      const hosts: NetHost[] = [];
      for (const [i, name] of names.entries()) {
        if (!/^[a-z0-9]{1,12}$/.test(name)) throw new Error(`host name "${name}": 1-12 lowercase letters or digits`);
        const ns = nsOf(name);
        await ip(['netns', 'add', ns]);
        made.push(ns);
        await ip(['-n', ns, 'link', 'set', 'lo', 'up']);
        await ip(['-n', ns, 'link', 'add', link(`e${i}`), 'type', 'veth', 'peer', 'name', link(`p${i}`), 'netns', bridgeNs]);
        await ip(['-n', bridgeNs, 'link', 'set', link(`p${i}`), 'master', link('br')]);
        await ip(['-n', bridgeNs, 'link', 'set', link(`p${i}`), 'up']);
        const addr = `198.51.100.${base + 1 + i}`;
        await ip(['-n', ns, 'addr', 'add', `${addr}/26`, 'dev', link(`e${i}`)]);
        await ip(['-n', ns, 'link', 'set', link(`e${i}`), 'up']);
        hosts.push({ name, ns, addr });
      }
      // The control link: created inside the bridge namespace, one end then moved to ours, so a
      // failure never leaves a device behind here (deleting the bridge namespace deletes the pair).
      await ip(['-n', bridgeNs, 'link', 'add', link('pc'), 'type', 'veth', 'peer', 'name', link('c')]);
      await ip(['-n', bridgeNs, 'link', 'set', link('pc'), 'master', link('br')]);
      await ip(['-n', bridgeNs, 'link', 'set', link('pc'), 'up']);
      await ip(['-n', bridgeNs, 'link', 'set', link('c'), 'netns', String(process.pid)]);
      const controlAddr = `198.51.100.${base + 62}`;
      await ip(['addr', 'add', `${controlAddr}/26`, 'dev', link('c')]);
      await ip(['link', 'set', link('c'), 'up']);
      return new HostNetwork(tag, bridgeNs, hosts, controlAddr);
    } catch (e) {
      for (const ns of made.reverse()) await removeNamespace(ns);
      throw e;
    }
  }

  host(name: string): NetHost {
    const h = this.hosts.find((x) => x.name === name);
    if (!h) throw new Error(`no host ${name} (have ${this.hosts.map((x) => x.name).join(', ')})`);
    return h;
  }

  private link(s: string): string {
    return `${PREFIX}${this.tag}-${s}`;
  }
  private port(name: string): string {
    return this.link(`p${this.hosts.indexOf(this.host(name))}`);
  }

  /** Starts `cmd args` inside host `name`; it is killed with the host or by `destroy()`. */
  spawn(name: string, cmd: string, args: string[], opts: Parameters<typeof spawnTracked>[2] = {}): Spawned {
    const p = spawnTracked(cmd, args, { ...opts, netns: this.host(name).ns });
    const list = this.procs.get(name) ?? [];
    list.push(p);
    this.procs.set(name, list);
    return p;
  }

  /** kill -9 every process in host `name` (what a power loss does); resolves when none is left. */
  async killHost(name: string): Promise<number[]> {
    const ns = this.host(name).ns;
    const killed: number[] = [];
    for (let i = 0; i < 20; i++) {
      const pids = await nsPids(ns);
      if (pids.length === 0) return killed;
      for (const p of pids) {
        try {
          process.kill(p, 'SIGKILL');
          killed.push(p);
        } catch {
          /* gone */
        }
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`processes in host ${name} survive kill -9: ${(await nsPids(ns)).join(' ')}`);
  }

  /** Cuts host `name` off from every other host and from the test process (its bridge port down). */
  async isolate(name: string): Promise<void> {
    await ip(['-n', this.bridgeNs, 'link', 'set', this.port(name), 'down']);
    this.isolated.add(name);
  }

  /**
   * Splits the hosts in two: `sideB` can reach only each other; the rest (and the test process) stay
   * on side A. Traffic between the sides is dropped silently, as in a real partition.
   */
  async split(sideB: string[]): Promise<void> {
    for (const n of sideB) {
      await ip(['-n', this.bridgeNs, 'link', 'set', this.port(n), 'master', this.link('br2')]);
      this.sideB.add(n);
    }
  }

  /** Undoes every isolate and split. */
  async heal(): Promise<void> {
    for (const n of this.sideB) await ip(['-n', this.bridgeNs, 'link', 'set', this.port(n), 'master', this.link('br')]);
    this.sideB.clear();
    for (const n of this.isolated) await ip(['-n', this.bridgeNs, 'link', 'set', this.port(n), 'up']);
    this.isolated.clear();
  }

  /** Kills every process in every host and deletes all namespaces (and so every link). Idempotent. */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const h of this.hosts) await removeNamespace(h.ns);
    await removeNamespace(this.bridgeNs);
    // The kernel tears the control link down asynchronously once its peer's namespace is gone.
    const ctl = this.link('c');
    for (
      let i = 0;
      i < 100 &&
      (await ip(['link', 'show', ctl]).then(
        () => true,
        () => false,
      ));
      i++
    ) {
      if (i === 50) await ip(['link', 'del', ctl]).catch(() => undefined);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}
