// One proxy process: the client listener, its sessions, slot table and backend pool, and graceful
// shutdown (stop accepting, let in-flight replies finish, close).
import net from 'node:net';
import { Router } from './router.js';
import { BackendPool } from './backend-pool.js';
import { ProxyStats, snapshotOf, type StatsSnapshot } from './stats.js';
import { Session } from './session.js';
import { splitHostPort, type ProxyConfig } from './config.js';
import type { ProxyContext } from './context.js';
import { errorReply } from '../resp/encode.js';
import type { Slot } from '../models/slot.js';

export class ProxyServer {
  readonly ctx: ProxyContext;
  private server: net.Server | null = null;
  private closing = false;

  constructor(config: ProxyConfig, worker = 0) {
    const pool = new BackendPool({
      auth: config.productAuth, connectTimeout: config.backendConnectTimeout, recvTimeout: config.backendRecvTimeout,
      pingPeriod: config.backendPingPeriod, maxPipeline: config.backendMaxPipeline, keepalive: config.backendKeepalive,
    }, config.backendParallel);
    this.ctx = { config, router: new Router(), pool, stats: new ProxyStats(), sessions: new Set(), online: false, worker };
  }

  /** Starts listening on proxy_addr; resolves with the bound port. */
  listen(): Promise<number> {
    const { host, port } = splitHostPort(this.ctx.config.proxyAddr);
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

  fillSlots(slots: Slot[]): void {
    this.ctx.router.fill(slots);
    this.ctx.online = true;
    this.ctx.pool.retain(new Set(this.ctx.router.masters()));
  }

  snapshot(): StatsSnapshot { return snapshotOf(this.ctx.stats, this.ctx.pool.states()); }

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
    this.ctx.pool.close();
    await closed;
  }
}
