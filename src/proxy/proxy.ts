// One proxy process: the client listener, its sessions, slot table and backend pool, and graceful
// shutdown (stop accepting, let in-flight replies finish, close).
import net from 'node:net';
import tls from 'node:tls';
import { readFileSync } from 'node:fs';
import { AclUsers } from '../acl/users.js';
import { aclDigest } from '../acl/digest.js';
import { backendTlsOptions, clientCertAcceptable, serverTlsOptions } from './tls.js';
import { setRedisClientTls } from '../util/redis-client-tls.js';
import { Router } from './router.js';
import { BackendPool } from './backend-pool.js';
import { ProxyStats, snapshotOf, type StatsSnapshot } from './stats.js';
import { MigrationState } from './migrate-on-access.js';
import { OutputFlusher } from './output-flusher.js';
import { makeLogger, type Logger } from '../util/log.js';
import { Session } from './session.js';
import type { ProxyConfig } from './config.js';
import { parseAddr } from '../util/address.js';
import type { ProxyContext } from './context.js';
import { errorReply } from '../resp/encode.js';
import type { Slot } from '../models/slot.js';
import { busyConns, changedBackends, drainConns } from './slot-barrier.js';
import { ProxySentinels } from './sentinel-watcher.js';
import { ReplicaReads } from './replica-reads.js';
import { AppsRuntime } from './apps/runtime.js';

export class ProxyServer {
  readonly ctx: ProxyContext;
  private server: net.Server | null = null;
  private tlsServer: tls.Server | null = null;
  private closing = false;
  /** Follows sentinel failovers (idle until the dashboard pushes a sentinel list). */
  readonly ha: ProxySentinels;
  private lastTrouble = 0;

  /** `log`: where the proxy's own events go (default: a pino logger named 'proxy' on stderr). */
  constructor(config: ProxyConfig, worker = 0, log: Logger = makeLogger('proxy', config.logLevel)) {
    // backend_tls also covers the sentinels this process follows (src/ha through util/redis-client-tls).
    if (config.tls.backend) setRedisClientTls(backendTlsOptions(config.tls));
    const pool = new BackendPool(
      {
        auth: config.productAuth,
        connectTimeout: config.backendConnectTimeout,
        recvTimeout: config.backendRecvTimeout,
        pingPeriod: config.backendPingPeriod,
        maxPipeline: config.backendMaxPipeline,
        keepalive: config.backendKeepalive,
        ...(config.tls.backend ? { tls: backendTlsOptions(config.tls) ?? {} } : {}),
        onTrouble: (addr, why) => {
          // At most one re-resolution per 100 ms however many requests fail.
          const t = Date.now();
          if (t - this.lastTrouble < 100) return;
          this.lastTrouble = t;
          this.ha.backendTrouble(addr, why);
        },
      },
      config.backendParallel,
    );
    const router = new Router();
    const apps = new AppsRuntime(
      {
        auth: config.productAuth,
        connectTimeout: config.backendConnectTimeout,
        recvTimeout: 0,
        pingPeriod: 0,
        maxPipeline: config.backendMaxPipeline,
        keepalive: config.backendKeepalive,
        ...(config.tls.backend ? { tls: backendTlsOptions(config.tls) ?? {} } : {}),
      },
      { maxPerServer: config.backendMaxBorrowed, maxIdle: 16, idleMs: 60_000 },
      router,
      pool,
    );
    this.ctx = {
      config,
      router,
      placement: router,
      pool,
      stats: new ProxyStats(config.slowlogMaxLen),
      sessions: new Set(),
      online: false,
      worker,
      migration: new MigrationState(),
      flusher: new OutputFlusher(),
      nextSessionId: 1,
      acl: aclUsersOf(config),
      apps,
    };
    const haLog = log.child({ component: 'proxy-ha', worker });
    this.ctx.replicas = new ReplicaReads(!config.primaryOnly);
    this.ha = new ProxySentinels({
      product: config.productName,
      auth: config.productAuth,
      router: this.ctx.router,
      fill: (slots) => this.applySlots(slots),
      log: (msg, fields) => {
        haLog.info(fields ?? {}, msg);
      },
    });
  }

  /** Digest of the ACL lines the dashboard pushed ('' = none): the dashboard re-pushes when it differs. */
  aclDigest = '';

  /**
   * Client users pushed by the dashboard, added to the proxy's own (acl_users, acl_file): the whole set
   * is rebuilt (a bad line or a user defined in both throws, and nothing changes), then every session
   * follows its user's new rules at once, and a session whose user is gone is closed (as ACL DELUSER).
   */
  setDashboardAcl(lines: string[]): void {
    const next = aclUsersOf(this.ctx.config, lines);
    this.ctx.acl = next;
    this.aclDigest = aclDigest(lines);
    for (const s of [...this.ctx.sessions]) {
      if (!s.aclUser) continue;
      const u = next.get(s.aclUser.name);
      if (u) s.aclUser = u;
      else s.close();
    }
  }

  /** The sentinels to follow (pushed by the dashboard); [] stops following. */
  setSentinels(servers: string[]): void {
    this.ha.setServers(servers);
  }

  /** Starts listening on proxy_addr; resolves with the bound port. */
  listen(): Promise<number> {
    const { host, port } = parseAddr(this.ctx.config.proxyAddr, { allowEmptyHost: true, allowPortZero: true });
    const server = net.createServer({ noDelay: true, allowHalfOpen: true }, (socket) => this.accept(socket));
    this.server = server;
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen({ host, port, exclusive: false }, () => {
        server.off('error', reject);
        const a = server.address();
        const bound = typeof a === 'object' && a ? a.port : port;
        this.ctx.apps.selfAddr = `${host === '0.0.0.0' || host === '' ? '127.0.0.1' : host}:${bound}`;
        resolve(bound);
      });
    });
  }

  /** Starts the TLS listener on proxy_tls_addr when configured; resolves with its port (null: none). */
  listenTls(): Promise<number | null> {
    const c = this.ctx.config.tls;
    if (c.addr === '') return Promise.resolve(null);
    const { host, port } = parseAddr(c.addr, { allowEmptyHost: true, allowPortZero: true });
    const server = tls.createServer({ ...serverTlsOptions(c), noDelay: true, allowHalfOpen: true }, (socket) => {
      if (!clientCertAcceptable(socket, c)) {
        socket.destroy();
        return;
      }
      this.accept(socket);
    });
    // A failed handshake is the client's problem, not the proxy's.
    server.on('tlsClientError', () => {
      this.ctx.stats.tlsHandshakeErrors++;
    });
    this.tlsServer = server;
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
    this.ctx.apps.onTableChange();
  }

  snapshot(): StatsSnapshot {
    return snapshotOf(this.ctx.stats, this.ctx.pool.states(), this.ctx.migration.stats);
  }

  /** Stops accepting, waits (up to shutdown_timeout) for queued replies to be written, then closes. */
  async shutdown(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    const server = this.server;
    const closed = server ? new Promise<void>((r) => server.close(() => r())) : Promise.resolve();
    const tlsServer = this.tlsServer;
    const tlsClosed = tlsServer ? new Promise<void>((r) => tlsServer.close(() => r())) : Promise.resolve();
    for (const s of [...this.ctx.sessions]) s.drain();
    const deadline = Date.now() + this.ctx.config.shutdownTimeout;
    while (Date.now() < deadline && this.ctx.sessions.size > 0) {
      await new Promise((r) => setTimeout(r, 20));
    }
    for (const s of [...this.ctx.sessions]) s.close();
    this.ha.close();
    this.ctx.apps.close();
    this.ctx.pool.close();
    await closed;
    await tlsClosed;
  }
}

/**
 * The client users: acl_users lines, then acl_file's, then the lines the dashboard pushed, with
 * session_auth as the default user's password.
 */
export function aclUsersOf(config: ProxyConfig, pushed: readonly string[] = []): AclUsers {
  const lines = [...config.aclUsers];
  if (config.aclFile !== '') lines.push(...readFileSync(config.aclFile, 'utf8').split(/\r?\n/));
  return new AclUsers([...lines, ...pushed], config.sessionAuth);
}
