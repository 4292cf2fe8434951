// One nutcracker pool as a Placement of the shared request path (src/proxy/placement.ts): routes each
// key to a server with nutcracker's distribution, applies auto_eject_hosts (failures reported by the
// backend connections, replies reset the count), keeps nutcracker's per-pool and per-server counters,
// and lets a Sentinel follower move a server to a new address without changing placement (ketama
// hashes the server's name, which a sentinel pool requires to be the master name).
import type { Placement } from '../proxy/placement.js';
import { replyRange, type ReplySink } from '../proxy/backend-conn.js';
import type { NutPool } from './config.js';
import { PoolDistribution } from './distribution.js';
import { Ejector } from './ejector.js';
import { newPoolCounters, newServerCounters, type PoolCounters, type ServerCounters } from './stats-json.js';
import { at } from '../util/at.js';

/** Error replies the proxy itself makes when a backend connection fails (not a server's own error). */
const CONN_ERROR_PREFIX = Buffer.from('-ERR backend ');

class TrackedSink implements ReplySink {
  constructor(
    private readonly pool: TwemPlacement,
    private readonly server: number,
    private readonly inner: ReplySink,
  ) {}
  onReply(reply: Buffer, tag = 0): void {
    this.pool.replied(this.server, reply, 0, reply.length);
    this.inner.onReply(reply, tag);
  }
  /** The reply as a range of the backend read: passed on as one when the inner sink takes ranges (no view). */
  onReplyAt(buf: Buffer, start: number, end: number, tag = 0): void {
    this.pool.replied(this.server, buf, start, end);
    replyRange(this.inner, buf, start, end, tag);
  }
}

export class TwemPlacement implements Placement {
  /** A pool never migrates data. */
  readonly unsettled = 0;
  readonly dist: PoolDistribution;
  readonly ejector: Ejector;
  /** Current address per server (index = nutcracker's server order); sentinels may change it. */
  readonly addrs: string[];
  private readonly index = new Map<string, number>();
  readonly counters: PoolCounters = newPoolCounters();
  readonly serverCounters: ServerCounters[];
  private readonly selectRefusal: string;

  constructor(
    readonly pool: NutPool,
    o: { now?: () => number; log?(msg: string, fields?: Record<string, unknown>): void } = {},
  ) {
    this.dist = new PoolDistribution({ hash: pool.hash, distribution: pool.distribution, hashTag: pool.hashTag, servers: pool.servers });
    this.ejector = new Ejector(this.dist, {
      autoEject: pool.autoEjectHosts,
      failureLimit: pool.serverFailureLimit,
      retryTimeoutMs: pool.serverRetryTimeout,
      now: o.now,
      onEject: (i, until) => {
        this.counters.server_ejects++;
        at(this.serverCounters, i, 'server counters').server_ejected_at = at(this.ejector.ejectedAt, i, 'server ejection time');
        o.log?.('server ejected (auto_eject_hosts)', {
          pool: pool.name,
          server: at(pool.servers, i, 'pool server').name,
          retry_in_ms: until - Date.now(),
        });
      },
      onReturn: (list) =>
        o.log?.('ejected servers back in the pool', { pool: pool.name, servers: list.map((i) => at(pool.servers, i, 'pool server').name) }),
    });
    this.addrs = pool.servers.map((s) => s.addr);
    this.addrs.forEach((a, i) => this.index.set(a, i));
    this.serverCounters = pool.servers.map(() => newServerCounters());
    this.selectRefusal = `ERR SELECT is not supported by pool '${pool.name}': like nutcracker, every request uses the pool's redis_db (${pool.redisDb})`;
  }

  unitOf(buf: Uint8Array, start: number, end: number): number {
    if (!this.ejector.update()) return -1;
    return this.dist.serverOf(buf, start, end);
  }

  backendOf(unit: number): string {
    return unit < 0 ? '' : (this.addrs[unit] ?? '');
  }

  /** Every server of the pool (DBSIZE, FLUSHDB, INFO keyspace fan out to all of them). */
  masters(): string[] {
    return [...this.addrs];
  }

  noBackendError(): string {
    this.counters.forward_error++;
    return `ERR no live server in pool '${this.pool.name}': every server is ejected (auto_eject_hosts) until its server_retry_timeout passes`;
  }

  crossError(command: string): string {
    const hint = this.pool.hashTag
      ? `use the hash_tag "${this.pool.hashTag}" to keep the keys together`
      : 'set a hash_tag on the pool to keep keys together';
    return `CROSSSLOT Keys in request don't hash to the same server of pool '${this.pool.name}' (command '${command}'); ${hint}`;
  }

  /** Transactions, blocking calls, pub/sub and scans are not served in this mode (nutcracker refuses them too). */
  readonly servesApps = false;

  refuse(command: string): string | null {
    return command === 'select' ? this.selectRefusal : null;
  }

  track(addr: string, bytes: number, sink: ReplySink): ReplySink {
    const i = this.index.get(addr);
    if (i === undefined) return sink;
    const c = at(this.serverCounters, i, 'server counters');
    c.requests++;
    c.request_bytes += bytes;
    return new TrackedSink(this, i, sink);
  }

  /** A reply, buf[start, end), to a tracked request arrived (a server's reply resets its failure count). */
  replied(i: number, buf: Buffer, start: number, end: number): void {
    const c = at(this.serverCounters, i, 'server counters');
    const n = CONN_ERROR_PREFIX.length;
    if (end - start > n && buf.compare(CONN_ERROR_PREFIX, 0, n, start, start + n) === 0) {
      this.counters.forward_error++;
      return;
    }
    c.responses++;
    c.response_bytes += end - start;
    this.ejector.ok(i);
  }

  /** A backend connection to `addr` failed or was lost: nutcracker's server_failure. */
  connectionFailed(addr: string, why: string): void {
    const i = this.index.get(addr);
    if (i === undefined) return;
    const c = at(this.serverCounters, i, 'server counters');
    if (/no reply for|timeout/i.test(why)) c.server_timedout++;
    else if (/closed by server/.test(why)) c.server_eof++;
    else c.server_err++;
    this.ejector.failure(i);
  }

  /** Moves server `i` to a new address (Sentinel failover); its keys stay with it. */
  moveServer(i: number, to: string): string {
    const from = at(this.addrs, i, 'pool server');
    this.index.delete(from);
    this.addrs[i] = to;
    this.index.set(to, i);
    return from;
  }
}
