// What every part of one proxy process shares: config, slot table, backend pool, stats, sessions.
import type { ProxyConfig } from './config.js';
import type { Router } from './router.js';
import type { BackendPool } from './backend-pool.js';
import type { ReplicaReads } from './replica-reads.js';
import type { ProxyStats } from './stats.js';
import type { AppsRuntime } from './apps/runtime.js';

/** The part of a session that local commands (CLIENT LIST, INFO clients) read. */
export interface SessionInfo {
  readonly id: number;
  readonly remote: string;
  readonly createdAt: number;
  name: string;
  libName: string;
  libVer: string;
  db: number;
  proto: 2 | 3;
  lastCommand: string;
  lastActive: number;
  readonly queued: number;
  close(): void;
  /** Stop reading, write the replies still queued, then close. */
  drain(): void;
}

export interface ProxyContext {
  config: ProxyConfig;
  router: Router;
  pool: BackendPool;
  stats: ProxyStats;
  sessions: Set<SessionInfo>;
  /** False until a slot table is in place (Codis: "router is not online"). */
  online: boolean;
  /** The worker number when running with --workers > 1, else 0. */
  worker: number;
  /** Replica reads (backend_primary_only=false; see replica-reads.ts). */
  replicas?: ReplicaReads;
  /** Borrowed connections, blocked calls, pub/sub hub, remembered scripts (src/proxy/apps/). */
  apps: AppsRuntime;
}
