// One nutcracker pool served by Shardis: its own listener (TCP host:port, or a unix socket with its
// mode), its own backend connections (the pool's redis_auth and redis_db, server_connections per
// server), sessions of the shared request path with the pool's placement, and, for a pool with
// `sentinels:`, a follower that moves servers to their new masters without a restart.
import net from 'node:net';
import { chmodSync, lstatSync, unlinkSync } from 'node:fs';
import { BackendPool } from '../proxy/backend-pool.js';
import type { BackendConn } from '../proxy/backend-conn.js';
import { Router } from '../proxy/router.js';
import { ProxyStats } from '../proxy/stats.js';
import { MigrationState } from '../proxy/migrate-on-access.js';
import { OutputFlusher } from '../proxy/output-flusher.js';
import { Session } from '../proxy/session.js';
import type { ProxyConfig } from '../proxy/config.js';
import type { ProxyContext } from '../proxy/context.js';
import { errorReply } from '../resp/encode.js';
import type { NutPool } from './config.js';
import { TwemPlacement } from './pool-placement.js';
import { PoolSentinels } from './pool-sentinels.js';
import { AclUsers } from '../acl/users.js';
import { AppsRuntime } from '../proxy/apps/runtime.js';

/** Every connection of the pool uses the pool's redis_db, whatever the session's db says. */
class FixedDbPool extends BackendPool {
  constructor(
    opts: ConstructorParameters<typeof BackendPool>[0],
    parallel: number,
    private readonly fixedDb: number,
  ) {
    super(opts, parallel);
  }
  override get(addr: string, _db: number, proto: 2 | 3, sessionId: number): BackendConn {
    return super.get(addr, this.fixedDb, proto, sessionId);
  }
}

export type Logger = (msg: string, fields?: Record<string, unknown>) => void;

/** The proxy settings of one pool: the shared defaults with the pool's keys applied. */
export function poolProxyConfig(base: ProxyConfig, pool: NutPool): ProxyConfig {
  const timed = pool.timeout > 0;
  return {
    ...base,
    productName: pool.name,
    productAuth: pool.redisAuth,
    sessionAuth: pool.redisAuth,
    proxyAddr: pool.listen.kind === 'tcp' ? `${pool.listen.host}:${pool.listen.port}` : pool.listen.path,
    backendParallel: pool.serverConnections,
    backendConnectTimeout: timed ? pool.timeout : base.backendConnectTimeout,
    backendRecvTimeout: timed ? pool.timeout : base.backendRecvTimeout,
    backendKeepalive: pool.tcpkeepalive ? base.backendKeepalive || 75000 : 0,
    maxClients: pool.clientConnections > 0 ? pool.clientConnections : base.maxClients,
    databases: Math.max(base.databases, pool.redisDb + 1),
    primaryOnly: true,
  };
}

export class PoolServer {
  readonly ctx: ProxyContext;
  readonly placement: TwemPlacement;
  readonly sentinels: PoolSentinels | null;
  private server: net.Server | null = null;
  private closing = false;
  constructor(
    readonly pool: NutPool,
    base: ProxyConfig,
    log: Logger,
  ) {
    const config = poolProxyConfig(base, pool);
    this.placement = new TwemPlacement(pool, { log });
    const backends = new FixedDbPool(
      {
        auth: pool.redisAuth,
        connectTimeout: config.backendConnectTimeout,
        recvTimeout: config.backendRecvTimeout,
        pingPeriod: config.backendPingPeriod,
        maxPipeline: config.backendMaxPipeline,
        keepalive: config.backendKeepalive,
        onTrouble: (addr, why) => {
          if (why !== 'READONLY reply' && why !== 'connection closed by the proxy') this.placement.connectionFailed(addr, why);
          this.sentinels?.backendTrouble(addr, why);
        },
      },
      config.backendParallel,
      pool.redisDb,
    );
    const router = new Router();
    // Never used for traffic: the placement refuses the commands it serves (servesApps = false).
    const apps = new AppsRuntime(
      {
        auth: pool.redisAuth,
        connectTimeout: config.backendConnectTimeout,
        recvTimeout: 0,
        pingPeriod: 0,
        maxPipeline: config.backendMaxPipeline,
        keepalive: config.backendKeepalive,
      },
      { maxPerServer: 1, maxIdle: 0, idleMs: 1000 },
      router,
      backends,
    );
    this.ctx = {
      config,
      router,
      pool: backends,
      stats: new ProxyStats(config.slowlogMaxLen),
      sessions: new Set(),
      online: true,
      worker: 0,
      placement: this.placement,
      migration: new MigrationState(),
      flusher: new OutputFlusher(),
      nextSessionId: 1,
      acl: new AclUsers([], config.sessionAuth),
      apps,
    };
    this.sentinels = pool.sentinels.length > 0 ? new PoolSentinels(pool, this.placement, () => this.refreshServers(), log) : null;
  }

  /** After a server moved (Sentinel failover): connections to its old address close once idle. */
  private refreshServers(): void {
    this.ctx.pool.retain(new Set(this.placement.addrs));
  }

  /** Resolves the masters (sentinel pools), then listens. Resolves with the TCP port (0 for a unix socket). */
  async start(): Promise<number> {
    if (this.sentinels) await this.sentinels.start();
    // Half-open like the proxy's listener: a client that sends its pipeline and shuts down its side still gets every reply.
    const server = net.createServer({ noDelay: true, allowHalfOpen: true }, (socket) => this.accept(socket));
    this.server = server;
    const l = this.pool.listen;
    if (l.kind === 'unix') {
      try {
        if (lstatSync(l.path).isSocket()) unlinkSync(l.path);
      } catch {
        /* no stale socket */
      }
    }
    const port = await new Promise<number>((resolve, reject) => {
      server.once('error', reject);
      const done = (): void => {
        server.off('error', reject);
        const a = server.address();
        resolve(typeof a === 'object' && a ? a.port : 0);
      };
      if (l.kind === 'unix') server.listen({ path: l.path, backlog: this.pool.backlog }, done);
      else server.listen({ host: l.host, port: l.port, backlog: this.pool.backlog, exclusive: true }, done);
    });
    if (l.kind === 'unix' && l.mode !== 0) chmodSync(l.path, l.mode);
    if (this.pool.preconnect) this.preconnect();
    return port;
  }

  private preconnect(): void {
    const ping = Buffer.from('*1\r\n$4\r\nPING\r\n');
    for (const addr of this.placement.addrs) {
      for (let i = 0; i < this.pool.serverConnections; i++)
        this.ctx.pool.get(addr, this.pool.redisDb, 2, i).send(ping, {
          onReply() {
            /* connection check */
          },
        });
    }
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

  /** Per server: connected backend connections and requests waiting for a reply. */
  serverState(addr: string): { connected: number; inflight: number } {
    let connected = 0,
      inflight = 0;
    for (const c of this.ctx.pool.connsTo(addr)) {
      if (c.state === 'connected') connected++;
      inflight += c.inflight;
    }
    return { connected, inflight };
  }

  /** Stops accepting, lets queued replies go out (up to shutdown_timeout), closes everything. */
  async shutdown(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    const server = this.server;
    const closed = server ? new Promise<void>((r) => server.close(() => r())) : Promise.resolve();
    for (const s of [...this.ctx.sessions]) s.drain();
    const deadline = Date.now() + this.ctx.config.shutdownTimeout;
    while (Date.now() < deadline && this.ctx.sessions.size > 0) await new Promise((r) => setTimeout(r, 20));
    for (const s of [...this.ctx.sessions]) s.close();
    this.sentinels?.close();
    this.ctx.apps.close();
    this.ctx.pool.close();
    await closed;
  }
}
