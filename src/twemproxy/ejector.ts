// auto_eject_hosts for one pool, following nutcracker's rules (src/nc_server.c server_failure,
// server_ok, server_pool_update): every lost/failed/timed-out server connection is a failure; at
// server_failure_limit consecutive failures the server leaves the distribution until now +
// server_retry_timeout (failure count reset, server_ejects + server_ejected_at in stats); any reply
// from the server resets its count. An ejected server comes back when the next request is routed
// after its retry time (nutcracker rebuilds lazily, on the request path). Without auto_eject_hosts
// failures change nothing.
import type { PoolDistribution } from './distribution.js';

export interface EjectorOptions {
  autoEject: boolean;
  failureLimit: number;
  retryTimeoutMs: number;
  /** Milliseconds clock (tests inject one). */
  now?: () => number;
  onEject?(server: number, until: number): void;
  onReturn?(servers: number[]): void;
}

export class Ejector {
  private readonly failures: number[];
  /** Per server: ms time until which it is ejected (0 = live). */
  readonly nextRetry: number[];
  /** µs since the epoch of each server's last ejection (0 = never), as nutcracker's server_ejected_at. */
  readonly ejectedAt: number[];
  ejects = 0;
  /** Earliest retry time of an ejected server (0 = none). */
  private nextRebuild = 0;
  private readonly now: () => number;

  constructor(
    private readonly dist: PoolDistribution,
    private readonly o: EjectorOptions,
  ) {
    const n = dist.serverCount;
    this.failures = new Array<number>(n).fill(0);
    this.nextRetry = new Array<number>(n).fill(0);
    this.ejectedAt = new Array<number>(n).fill(0);
    this.now = o.now ?? Date.now;
  }

  /** A connection to server `i` failed (connect error, EOF, error, timeout). */
  failure(i: number): void {
    if (!this.o.autoEject) return;
    const failures = (this.failures[i] ?? 0) + 1;
    this.failures[i] = failures;
    if (failures < this.o.failureLimit) return;
    const t = this.now();
    const until = t + this.o.retryTimeoutMs;
    this.failures[i] = 0;
    this.nextRetry[i] = until;
    this.ejectedAt[i] = t * 1000;
    this.ejects++;
    this.apply();
    this.o.onEject?.(i, until);
  }

  /** Server `i` answered a request. */
  ok(i: number): void {
    if (this.failures[i] !== 0) this.failures[i] = 0;
  }

  /**
   * Called before routing a request (nutcracker's server_pool_update): brings back servers whose retry
   * time has passed. Returns false when every server is ejected (the request fails).
   */
  update(): boolean {
    if (this.nextRebuild === 0) return true;
    const t = this.now();
    if (t <= this.nextRebuild) return this.dist.liveCount > 0;
    const back: number[] = [];
    this.nextRetry.forEach((r, i) => {
      if (r > 0 && r <= t) {
        this.nextRetry[i] = 0;
        back.push(i);
      }
    });
    this.apply();
    if (back.length > 0) this.o.onReturn?.(back);
    return this.dist.liveCount > 0;
  }

  private apply(): void {
    const t = this.now();
    let next = 0;
    const live = this.nextRetry.map((r) => {
      if (r <= t) return true;
      if (next === 0 || r < next) next = r;
      return false;
    });
    this.nextRebuild = next;
    this.dist.setLive(live);
  }
}
