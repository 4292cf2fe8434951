// Follows the product's masters through sentinel failovers: re-resolves by majority on every
// +switch-master, after every (re)subscription, on demand (a -READONLY reply, killed backend
// connections) and by polling as a fallback; reports a group whose majority master differs from
// what the caller routes to, once `ROLE` on the new address says `master`. Resolutions never overlap;
// a request during one makes exactly one more follow.
import { resolveMajority, roleOf, SwitchSubscriber, type MajorityView, type MasterNames } from './sentinels.js';

export interface MasterChange {
  gid: number;
  from: string;
  to: string;
  epoch: number;
}

export interface MasterWatcherOptions {
  /** The product (masters `<product>-<gid>`) or a name -> group mapping (see MasterNames). */
  product: MasterNames;
  /** Password of the data servers (for ROLE). */
  auth: string;
  /** Deadline of one sentinel / ROLE call. */
  timeoutMs: number;
  /** Fallback poll period (0 disables). */
  pollMs: number;
  /** Current master per group, as the caller routes now. */
  current(): Map<number, string>;
  /** Applies confirmed changes. */
  apply(changes: MasterChange[], view: MajorityView): Promise<void> | void;
  log?(msg: string, fields?: Record<string, unknown>): void;
}

export interface WatcherStatus {
  servers: string[];
  last_resolve?: { unixtime: number; ok: boolean; error?: string; answered?: number; asked?: number };
  masters: Record<string, { addr: string; epoch: number }>;
  last_switch?: SwitchRecord;
  /** The last 10 switches, oldest first. */
  recent_switches: SwitchRecord[];
  switches: number;
}

export interface SwitchRecord {
  unixtime: number;
  gid: number;
  from: string;
  to: string;
  epoch: number;
  why: string;
}

export class MasterWatcher {
  private readonly sub: SwitchSubscriber;
  private servers: string[] = [];
  private running: Promise<void> | null = null;
  private again = false;
  private againWhy = '';
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  /** Highest config-epoch applied per group: never switch back to an older sentinel configuration. */
  private readonly appliedEpoch = new Map<number, number>();
  lastView: MajorityView | null = null;
  readonly status: WatcherStatus = { servers: [], masters: {}, switches: 0, recent_switches: [] };

  constructor(private readonly o: MasterWatcherOptions) {
    // kick() never rejects: loop() logs a failed resolution and waits for the next event or poll.
    this.sub = new SwitchSubscriber(o.product, (why) => void this.kick(why));
  }

  setServers(servers: readonly string[]): void {
    if (this.closed) return;
    this.servers = [...new Set(servers)];
    this.status.servers = [...this.servers];
    this.sub.set(this.servers);
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    if (this.servers.length > 0 && this.o.pollMs > 0) {
      this.timer = setInterval(() => void this.kick('poll'), this.o.pollMs);
      this.timer.unref();
    }
    if (this.servers.length > 0) void this.kick('sentinel list set');
  }

  get enabled(): boolean {
    return this.servers.length > 0;
  }

  /** Re-resolve soon (coalesced). Resolves when a resolution that started after the call ended. */
  kick(why: string): Promise<void> {
    if (this.closed || this.servers.length === 0) return Promise.resolve();
    if (this.running) {
      this.again = true;
      this.againWhy = why;
      return this.running.then(() => this.running ?? undefined);
    }
    this.running = this.loop(why).finally(() => {
      this.running = null;
    });
    return this.running;
  }

  private async loop(why: string): Promise<void> {
    let reason = why;
    for (;;) {
      this.again = false;
      try {
        await this.resolveOnce(reason);
      } catch (e) {
        this.o.log?.('sentinel resolution failed', { err: (e as Error).message });
      }
      if (!this.again || this.closed) return;
      reason = this.againWhy;
    }
  }

  private async resolveOnce(why: string): Promise<void> {
    let view: MajorityView;
    try {
      view = await resolveMajority(this.servers, this.o.product, this.o.timeoutMs);
    } catch (e) {
      this.status.last_resolve = { unixtime: Math.floor(Date.now() / 1000), ok: false, error: (e as Error).message };
      throw e;
    }
    if (this.closed) return;
    this.lastView = view;
    this.status.last_resolve = { unixtime: Math.floor(Date.now() / 1000), ok: true, answered: view.answered, asked: view.asked };
    this.status.masters = Object.fromEntries([...view.masters].map(([g, m]) => [String(g), m]));
    const cur = this.o.current();
    const changes: MasterChange[] = [];
    await Promise.all(
      [...view.masters].map(async ([gid, m]) => {
        const from = cur.get(gid);
        if (from === undefined || from === m.addr) return;
        if (m.epoch < (this.appliedEpoch.get(gid) ?? 0)) {
          this.o.log?.('ignoring an older sentinel configuration', {
            gid,
            addr: m.addr,
            epoch: m.epoch,
            applied: this.appliedEpoch.get(gid),
          });
          return;
        }
        const role = await roleOf(m.addr, this.o.timeoutMs, this.o.auth);
        if (role !== 'master') {
          this.o.log?.('sentinels name a new master that does not answer ROLE master yet', { gid, addr: m.addr, role });
          return;
        }
        changes.push({ gid, from, to: m.addr, epoch: m.epoch });
      }),
    );
    if (changes.length === 0 || this.closed) return;
    await this.o.apply(changes, view);
    for (const c of changes) {
      this.appliedEpoch.set(c.gid, Math.max(c.epoch, this.appliedEpoch.get(c.gid) ?? 0));
      this.status.switches++;
      this.status.last_switch = { unixtime: Math.floor(Date.now() / 1000), ...c, why };
      this.status.recent_switches.push(this.status.last_switch);
      if (this.status.recent_switches.length > 10) this.status.recent_switches.shift();
      this.o.log?.('group master switched (sentinel majority + ROLE)', { ...c, why });
    }
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    this.sub.close();
  }
}
