// Sentinel-aware pools: each server of a pool with `sentinels:` is a Sentinel master name (the name
// after its address). At start the masters are resolved by a majority of the sentinels (highest
// config-epoch, then ROLE must say master); afterwards +switch-master on every sentinel, a lost
// backend connection or a -READONLY reply, and a periodic poll re-resolve the same way (src/ha/
// MasterWatcher, shared with Codis mode), and a confirmed change moves that server to its new
// address. Placement does not change: ketama hashes the server's name, modula its position.
import { MasterWatcher, type WatcherStatus } from '../ha/master-watcher.js';
import type { NutPool } from './config.js';
import type { TwemPlacement } from './pool-placement.js';
import { at } from '../util/at.js';

export class PoolSentinels {
  readonly watcher: MasterWatcher;

  constructor(
    private readonly pool: NutPool,
    placement: TwemPlacement,
    private readonly changed: () => void,
    private readonly log: (msg: string, fields?: Record<string, unknown>) => void,
    o: { pollMs?: number; timeoutMs?: number } = {},
  ) {
    const byName = new Map(pool.servers.map((s, i) => [s.givenName, i]));
    this.watcher = new MasterWatcher({
      product: (name) => byName.get(name) ?? null,
      auth: pool.redisAuth,
      timeoutMs: o.timeoutMs ?? 1000,
      pollMs: o.pollMs ?? 3000,
      current: () => new Map(placement.addrs.map((a, i) => [i, a])),
      apply: (changes) => {
        for (const c of changes) {
          placement.moveServer(c.gid, c.to);
          log('pool server moved to its new master', {
            pool: pool.name,
            server: at(pool.servers, c.gid, 'pool server').givenName,
            from: c.from,
            to: c.to,
            epoch: c.epoch,
          });
        }
        this.changed();
      },
      log: (msg, fields) => log(msg, { pool: pool.name, ...fields }),
    });
  }

  /** Subscribes to every sentinel and waits for the first resolution (a failed one is logged; the file's addresses stay). */
  async start(): Promise<void> {
    this.watcher.setServers(this.pool.sentinels);
    await this.watcher.kick('start');
    const st = this.watcher.status.last_resolve;
    if (!st?.ok)
      this.log('could not resolve the pool masters from the sentinels at start; using the addresses in the file until they answer', {
        pool: this.pool.name,
        error: st?.error,
      });
    const unknown = this.pool.servers.filter((_, i) => st?.ok && this.watcher.status.masters[String(i)] === undefined);
    for (const s of unknown) this.log('no sentinel majority knows this master name', { pool: this.pool.name, master: s.givenName });
  }

  backendTrouble(addr: string, why: string): void {
    void this.watcher.kick(`backend ${addr}: ${why}`);
  }

  status(): WatcherStatus {
    return this.watcher.status;
  }

  close(): void {
    this.watcher.close();
  }
}
