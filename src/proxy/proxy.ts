// One proxy process: the client listener, its sessions, slot table and backend pool, and graceful
// shutdown (stop accepting, let in-flight replies finish, close).
import net from 'node:net';
import { Router } from './router.js';
import { BackendPool } from './backend-pool.js';
import { ProxyStats, snapshotOf, type StatsSnapshot } from './stats.js';
import { migrationStats } from './migrate-on-access.js';
import { Session } from './session.js';
import type { ProxyConfig } from './config.js';
import { parseAddr } from '../util/address.js';
import type { ProxyContext } from './context.js';
import { errorReply } from '../resp/encode.js';
import type { Slot } from '../models/slot.js';
import { busyConns, changedBackends, drainConns } from './slot-barrier.js';
import { ProxySentinels } from './sentinel-watcher.js';
import { ReplicaReads } from './replica-reads.js';

export class ProxyServer {
  readonly ctx: ProxyContext;
  private server: net.Server | null = null;
  private closing = false;
  /** Follows sentinel failovers (idle until the dashboard pushes a sentinel list). */
  readonly ha: ProxySentinels;
  private lastTrouble = 0;

  constructor(config: ProxyConfig, worker = 0) {
    const pool = new BackendPool({
      auth: config.productAuth, connectTimeout: config.backendConnectTimeout, recvTimeout: config.backendRecvTimeout,
      pingPeriod: config.backendPingPeriod, maxPipeline: config.backendMaxPipeline, keepalive: config.backendKeepalive,
      onTrouble: (addr, why) => {
        // At most one re-resolution per 100 ms however many requests fail.
        const t = Date.now();
        if (t - this.lastTrouble < 100) return;
        this.lastTrouble = t;
        this.ha.backendTrouble(addr, why);
      },
    }, config.backendParallel);
    this.ctx = { config, router: new Router(), pool, stats: new ProxyStats(config.slowlogMaxLen), sessions: new Set(), online: false, worker };
    this.ctx.replicas = new ReplicaReads(!config.primaryOnly);
    this.ha = new ProxySentinels({
      product: config.productName, auth: config.productAuth, router: this.ctx.router,
      fill: (slots) => this.applySlots(slots),
      log: (msg, fields) => { process.stderr.write(`${JSON.stringify({ level: 'info', name: 'proxy-ha', worker, msg, ...fields, time: Date.now() })}\n`); },
    });
  }

  /** The sentinels to follow (pushed by the dashboard); [] stops following. */
  setSentinels(servers: string[]): void { this.ha.setServers(servers); }

  /** Starts listening on proxy_addr; resolves with the bound port. */
  listen(): Promise<number> {
    const { host, port } = parseAddr(this.ctx.config.proxyAddr, { allowEmptyHost: true, allowPortZero: true });
    const server = net.createServer({ noDelay: true }, (socket) => this.accept(socket));
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port, exclusive: false }, () => {
        server.off('error', reject);
        const a = server.address();
        resolve(typeof a === 'object' && a ? a.port : port);
      });
    });
  }

  private accept(socket: net.Socket): void {
    const ctx = this.ctx;
    if (this.closing || ctx.stats.sessionsAlive >= ctx.config.maxClients) {
      ctx.stats.rejectedConnections++;
      socket.on('error', () => {});
      socket.end(errorReply(this.closing ? 'ERR proxy is shutting down' : 'ERR max number of clients reached'));
      return;
    }
    new Session(socket, ctx);
  }

  /**
   * fillSlots, then waits until no request sent under the old routing of the changed slots is still
   * in flight (see slot-barrier.ts): what a dashboard push must wait for before it is acknowledged.
   */
  async fillSlotsAndDrain(slots: Slot[]): Promise<void> {
    const busy = busyConns(this.ctx.pool, changedBackends(this.ctx.router, slots));
    this.fillSlots(slots);
    if (busy.length > 0) await drainConns(busy, Math.max(1000, this.ctx.config.backendRecvTimeout));
  }

  fillSlots(slots: Slot[]): void {
    this.applySlots(slots);
    this.ha.afterFill();
  }

  private applySlots(slots: Slot[]): void {
    this.ctx.router.fill(slots);
    this.ctx.replicas?.update(slots);
    this.ctx.online = true;
    this.ctx.pool.retain(new Set(this.ctx.router.masters()));
  }

  snapshot(): StatsSnapshot { return snapshotOf(this.ctx.stats, this.ctx.pool.states(), migrationStats); }

  /** Stops accepting, waits (up to shutdown_timeout) for queued replies to be written, then closes. */
  async shutdown(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    const server = this.server;
    const closed = server ? new Promise<void>((r) => server.close(() => r())) : Promise.resolve();
    for (const s of [...this.ctx.sessions]) s.drain();
    const deadline = Date.now() + this.ctx.config.shutdownTimeout;
    while (Date.now() < deadline && this.ctx.sessions.size > 0) {
      await new Promise((r) => setTimeout(r, 20));
    }
    for (const s of [...this.ctx.sessions]) s.close();
    this.ha.close();
    this.ctx.pool.close();
    await closed;
  }
}
