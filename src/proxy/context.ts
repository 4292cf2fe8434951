// What every part of one proxy shares: config, placement (slot table), backend pool, stats, sessions,
// and every piece of per-proxy mutable state (migration caches and counters, the output flusher,
// per-slot op counters). Nothing per-proxy lives at module level, so two proxies in one process (as
// tests run them) share nothing.
import type { ProxyConfig } from './config.js';
import type { Router } from './router.js';
import type { BackendPool } from './backend-pool.js';
import type { ReplicaReads } from './replica-reads.js';
import type { ProxyStats } from './stats.js';
import type { Placement } from './placement.js';
import type { MigrationState } from './migrate-on-access.js';
import type { OutputFlusher } from './output-flusher.js';
import type { AclUsers } from '../acl/users.js';
import type { AclUser } from '../acl/user.js';
import type { AppsContext } from './apps/apps-context.js';
import type { ClientPause } from './client-pause.js';

/** The part of a session that local commands (CLIENT LIST, INFO clients) and the proxy read. */
export interface SessionInfo {
  readonly id: number;
  readonly remote: string;
  readonly createdAt: number;
  name: string;
  libName: string;
  libVer: string;
  db: number;
  proto: 2 | 3;
  /** The ACL user this session is logged in as (null: not authenticated yet). */
  aclUser: AclUser | null;
  readonly lastCommand: string;
  readonly lastActive: number;
  readonly queued: number;
  /** Why the proxy stopped reading from this client ('' = reading). */
  readonly pausedFor: '' | 'pipeline' | 'outbuf' | 'migrate';
  /** The session has pub/sub subscriptions (its CLIENT KILL / CLIENT LIST type is pubsub). */
  readonly subscribed?: boolean;
  close(): void;
  /** Stop reading, write the replies still queued, then close. */
  drain(): void;
}

export interface ProxyContext {
  config: ProxyConfig;
  /** The Codis slot table (slot -> group master, migrations, locks). */
  router: Router;
  /** Where keys go: the slot table today (the router implements Placement). */
  placement: Placement;
  pool: BackendPool;
  stats: ProxyStats;
  sessions: Set<SessionInfo>;
  /** False until a slot table is in place (Codis: "router is not online"). */
  online: boolean;
  /** Set while the proxy is going offline: PING fails so front-door health checks take it out (see src/frontdoor/README.md). */
  draining?: boolean;
  /** The worker number when running with --workers > 1, else 0. */
  worker: number;
  /** Replica reads (backend_primary_only=false; see replica-reads.ts). */
  replicas?: ReplicaReads;
  /** Requests on migrating slots: gone-keys cache, counters, move batcher (migrate-on-access.ts). */
  migration: MigrationState;
  /** Batches client reply writes per I/O callback. */
  flusher: OutputFlusher;
  /** Next session id (CLIENT ID), unique within this proxy. */
  nextSessionId: number;
  /** Client users (ACL): AUTH, permission checks, ACL WHOAMI/LIST/GETUSER. */
  acl: AclUsers;
  /** Borrowed connections, blocked calls, pub/sub hub, remembered scripts (src/proxy/apps/). */
  apps: AppsContext;
  /** CLIENT PAUSE of this proxy's sessions (client-pause.ts); created on first use. */
  pause?: ClientPause;
}
