// The dashboard's options: one table (names follow Codis's dashboard.toml where they mean the same
// thing) and the typed config the rest of the dashboard reads.
import { readFileSync } from 'node:fs';
import { AclUsers } from '../acl/users.js';
import { type OptionSpec, type OptionValues, defaults } from '../util/options.js';
import { parseStoreSpec, specFromNameAndAddr, formatStoreSpec } from '../coordinator/index.js';
import { defaultAdminToken } from '../models/auth.js';
import { codisConfigFields } from './codis-config.js';
import { parseAddr } from '../util/address.js';

export const DASHBOARD_OPTIONS: OptionSpec[] = [
  {
    key: 'coordinator',
    type: 'string',
    default: '',
    doc: 'Where metadata and the product lock live: filesystem:DIR, etcd:HOST:PORT[,..] or zookeeper:HOST:PORT[,..]. Empty: use coordinator_name + coordinator_addr.',
  },
  {
    key: 'coordinator_name',
    type: 'string',
    default: 'filesystem',
    doc: 'Codis-style coordinator kind (filesystem, etcd, zookeeper); used when `coordinator` is empty.',
  },
  {
    key: 'coordinator_addr',
    type: 'string',
    default: '/tmp/shardis',
    doc: 'Codis-style coordinator address (directory, or comma-separated host:port list); used when `coordinator` is empty.',
  },
  { key: 'product_name', type: 'string', default: 'shardis-demo', doc: 'Cluster (product) name; one active dashboard per product.' },
  {
    key: 'product_auth',
    type: 'string',
    default: '',
    doc: "Redis password of the group servers (AUTH); also part of the proxies' API key.",
  },
  {
    key: 'admin_addr',
    type: 'string',
    default: '127.0.0.1:18080',
    doc: 'Address of the dashboard HTTP API (host:port; port 0 picks a free one).',
  },
  {
    key: 'admin_token',
    type: 'string',
    default: '',
    doc: 'Token for mutating API calls. Empty: derived as sha256("Shardis-Admin-[product]-[product_auth]"), first 32 hex chars.',
  },
  {
    key: 'codis_compat_xauth',
    type: 'bool',
    default: false,
    doc: 'Also accept Codis 3.2\'s dashboard token, sha256("Codis-XAuth-[product]") (first 32 hex chars), so the unchanged codis-admin and codis-fe can operate this dashboard. WEAKER: that token is derived from the product name alone (anyone who knows the name can change the cluster); turn it on only where the API is reachable by trusted hosts, e.g. for a migration from Codis.',
  },
  {
    key: 'lock_ttl',
    type: 'duration',
    default: '5s',
    doc: 'How long the product lock outlives a dashboard that died without releasing it (kill -9, network cut).',
  },
  { key: 'lock_retry', type: 'duration', default: '1s', doc: 'How often a standby dashboard retries to take the product lock.' },
  {
    key: 'proxy_push_timeout',
    type: 'duration',
    default: '3s',
    doc: 'Time a proxy has to acknowledge a slot table push (or any admin call) before it is reported unreachable.',
  },
  {
    key: 'stats_period',
    type: 'duration',
    default: '1s',
    doc: 'How often servers and proxies are polled for stats (and proxies with a stale table re-pushed).',
  },
  { key: 'stats_timeout', type: 'duration', default: '1s', doc: 'Time one stats poll of a server or proxy may take.' },
  { key: 'coordinator_timeout', type: 'duration', default: '5s', doc: 'Upper bound for one coordinator operation.' },
  {
    key: 'migration_parallel_slots',
    type: 'int',
    default: 256,
    doc: 'Slots migrated together in one batch (one pass over each source moves the keys of all of them).',
  },
  { key: 'migration_batch_keys', type: 'int', default: 200, doc: 'Keys per MIGRATE call of the background executor.' },
  {
    key: 'migration_big_key_elements',
    type: 'int',
    default: 10000,
    doc: 'Collections with more elements are copied in chunks under a per-key lock instead of one blocking MIGRATE.',
  },
  { key: 'migration_chunk_elements', type: 'int', default: 500, doc: 'Elements per chunk when copying a big key.' },
  { key: 'migration_timeout', type: 'duration', default: '30s', doc: 'Timeout of one MIGRATE call.' },
  {
    key: 'migration_busy_percent',
    type: 'int',
    default: 10,
    doc: 'While clients are active (the proxies report more than 100 ops/s), the background executor keeps each source busy at most this share of the time: after each batch it rests for the time the batch took × (100 − p) / p, and proxies move the keys clients touch meanwhile. On an idle cluster it runs at full speed. 100 = always full speed; also settable through the API.',
  },
  {
    key: 'migration_interval',
    type: 'int',
    default: 0,
    doc: 'Sleep between migration batches, in microseconds (0..1000000); also settable through the API.',
  },
  {
    key: 'migration_fence_timeout',
    type: 'duration',
    default: '10s',
    doc: 'A proxy whose admin API refuses connections (its process is gone) for this long while a migration step needs its acknowledgement is removed (fenced out). A proxy that answers slowly or not at all is never removed automatically: the step waits (remove it with proxy remove --force).',
  },
  {
    key: 'acl_users',
    type: 'string[]',
    default: [],
    doc: 'Client users pushed to every Shardis proxy of the product (Redis ACL syntax, one "user <name> <rules...>" line each, as the proxy\'s acl_users), added to each proxy\'s own users; re-pushed to a proxy whose set differs (a restart, a new proxy) within one stats_period.',
  },
  {
    key: 'acl_file',
    type: 'string',
    default: '',
    doc: 'A file of "user ..." lines (Redis aclfile format) read at start and pushed like acl_users, after them.',
  },
  {
    key: 'console_read_only',
    type: 'bool',
    default: false,
    doc: 'Let the web console (`/console/`, `shardis fe`) show this product without the admin token (read-only: every action still needs the token).',
  },
  { key: 'log_level', type: 'string', default: 'info', doc: 'Log level: debug, info, warn, error.' },
  {
    key: 'sentinel_client_timeout',
    type: 'duration',
    default: '10s',
    doc: 'Deadline of one sentinel admin command (MONITOR, SET, REMOVE, FLUSHCONFIG).',
  },
  {
    key: 'sentinel_quorum',
    type: 'int',
    default: 2,
    doc: 'SENTINEL MONITOR quorum: sentinels that must agree a master is down before a failover.',
  },
  {
    key: 'sentinel_parallel_syncs',
    type: 'int',
    default: 1,
    doc: 'SENTINEL SET parallel-syncs: replicas re-pointed at a new master at once.',
  },
  {
    key: 'sentinel_down_after',
    type: 'duration',
    default: '30s',
    doc: 'SENTINEL SET down-after-milliseconds: how long a master must be unreachable to be considered down.',
  },
  { key: 'sentinel_failover_timeout', type: 'duration', default: '5m', doc: 'SENTINEL SET failover-timeout.' },
  { key: 'sentinel_notification_script', type: 'string', default: '', doc: 'SENTINEL SET notification-script (empty: none).' },
  { key: 'sentinel_client_reconfig_script', type: 'string', default: '', doc: 'SENTINEL SET client-reconfig-script (empty: none).' },
  {
    key: 'group_min_replicas_to_write',
    type: 'int',
    default: 1,
    doc: 'Set as `min-replicas-to-write` on the master of a group that has replicas (capped at its replica count; 0 = off). A master cut off from its replicas then refuses writes (NOREPLICAS) after group_min_replicas_max_lag, which bounds the acknowledged writes a partition can lose. Replicas carry 0, so a promotion without a dashboard never blocks writes. A master with fewer replicas online than this (or whose replicas stopped acknowledging while a sentinel majority reaches it) gets fewer, 0 when alone: the group is degraded (a warning, stats write_safety, a gauge) until a replica follows again.',
  },
  {
    key: 'group_min_replicas_max_lag',
    type: 'duration',
    default: '10s',
    doc: 'Set as `min-replicas-max-lag` (whole seconds): how long after its last replica acknowledgement a master still accepts writes. An isolated master acknowledges writes for at most this + 1 s.',
  },
  {
    key: 'coordinator_auth',
    type: 'string',
    default: '',
    doc: 'Coordinator credentials "user:password" (Codis\'s coordinator_auth): the etcd user, or the ZooKeeper digest user (nodes created get a digest ACL for it). Empty: SHARDIS_COORDINATOR_AUTH, else none.',
  },
  {
    key: 'admin_tls',
    type: 'bool',
    default: false,
    doc: 'Serve the API and the console over HTTPS with tls_cert_file / tls_key_file (TLS 1.2 minimum).',
  },
  { key: 'tls_cert_file', type: 'string', default: '', doc: 'PEM certificate of the HTTPS API (admin_tls).' },
  { key: 'tls_key_file', type: 'string', default: '', doc: 'PEM private key of tls_cert_file.' },
  {
    key: 'proxy_admin_tls',
    type: 'bool',
    default: false,
    doc: "Call the proxies' admin APIs over HTTPS (proxies with admin_tls); their certificates must be trusted by the system CAs or NODE_EXTRA_CA_CERTS.",
  },
  {
    key: 'backend_tls',
    type: 'bool',
    default: false,
    doc: 'Connect to the redis-servers (the group addresses, i.e. their tls-port) and the sentinels (their tls-port) with TLS: probes, admin commands, sentinel commands and subscriptions, migrations. Servers need tls-replication / tls-cluster yes for replication and MIGRATE between them.',
  },
  {
    key: 'backend_tls_ca_cert_file',
    type: 'string',
    default: '',
    doc: 'PEM CA bundle that server and sentinel certificates must be signed by (empty: the system CAs).',
  },
  {
    key: 'backend_tls_cert_file',
    type: 'string',
    default: '',
    doc: 'PEM client certificate for servers that require one (tls-auth-clients yes).',
  },
  { key: 'backend_tls_key_file', type: 'string', default: '', doc: 'PEM private key of backend_tls_cert_file.' },
  {
    key: 'backend_tls_server_name',
    type: 'string',
    default: '',
    doc: 'Name checked against the server certificates (SNI); empty: the host of each address.',
  },
];

/** TLS of the dashboard: its HTTPS API, and its connections to servers and sentinels. */
export interface DashboardTlsConfig {
  admin: boolean;
  /** The proxies' admin APIs are HTTPS. */
  proxyAdmin: boolean;
  certFile: string;
  keyFile: string;
  backend: boolean;
  backendCaFile: string;
  backendCertFile: string;
  backendKeyFile: string;
  backendServerName: string;
}

export interface DashboardConfig {
  /** Normalised `kind:address` coordinator spec. */
  coordinator: string;
  productName: string;
  productAuth: string;
  adminAddr: string;
  adminToken: string;
  /** True when admin_token was left empty and derived. */
  adminTokenDerived: boolean;
  /** Accept Codis's product-only token too (codis_compat_xauth). */
  codisCompatXauth: boolean;
  lockTtl: number;
  lockRetry: number;
  proxyPushTimeout: number;
  statsPeriod: number;
  statsTimeout: number;
  coordinatorTimeout: number;
  logLevel: string;
  migrationParallelSlots: number;
  migrationBatchKeys: number;
  migrationBigKeyElements: number;
  migrationChunkElements: number;
  migrationTimeout: number;
  migrationInterval: number;
  migrationBusyPercent: number;
  migrationFenceTimeout: number;
  sentinelClientTimeout: number;
  sentinelQuorum: number;
  sentinelParallelSyncs: number;
  sentinelDownAfter: number;
  sentinelFailoverTimeout: number;
  sentinelNotificationScript: string;
  sentinelClientReconfigScript: string;
  /** The web console may show data without the admin token. */
  consoleReadOnly: boolean;
  /** Client users pushed to the proxies (acl_users, then acl_file's lines). */
  aclLines: string[];
  groupMinReplicasToWrite: number;
  groupMinReplicasMaxLag: number;
  tls: DashboardTlsConfig;
  /** "user:password" for etcd / ZooKeeper ('' = none or SHARDIS_COORDINATOR_AUTH). */
  coordinatorAuth: string;
}

export function toDashboardConfig(v: OptionValues): DashboardConfig {
  const s = (k: string): string => v[k] as string;
  const n = (k: string): number => v[k] as number;
  const spec = s('coordinator') ? parseStoreSpec(s('coordinator')) : specFromNameAndAddr(s('coordinator_name'), s('coordinator_addr'));
  const productName = s('product_name');
  if (!/^\w[\w.-]*$/.test(productName)) throw new Error(`product_name "${productName}" must match ^\\w[\\w.-]*$`);
  const cfg: DashboardConfig = {
    coordinator: formatStoreSpec(spec),
    productName,
    productAuth: s('product_auth'),
    adminAddr: s('admin_addr'),
    adminToken: s('admin_token') || defaultAdminToken(productName, s('product_auth')),
    adminTokenDerived: !s('admin_token'),
    codisCompatXauth: v.codis_compat_xauth === true,
    lockTtl: n('lock_ttl'),
    lockRetry: n('lock_retry'),
    proxyPushTimeout: n('proxy_push_timeout'),
    statsPeriod: n('stats_period'),
    statsTimeout: n('stats_timeout'),
    coordinatorTimeout: n('coordinator_timeout'),
    logLevel: s('log_level'),
    migrationParallelSlots: Math.max(1, n('migration_parallel_slots')),
    migrationBatchKeys: Math.max(1, n('migration_batch_keys')),
    migrationBigKeyElements: Math.max(1, n('migration_big_key_elements')),
    migrationChunkElements: Math.max(1, n('migration_chunk_elements')),
    migrationTimeout: Math.max(100, n('migration_timeout')),
    migrationInterval: Math.min(1000000, Math.max(0, n('migration_interval'))),
    migrationBusyPercent: Math.min(100, Math.max(1, n('migration_busy_percent'))),
    migrationFenceTimeout: n('migration_fence_timeout'),
    sentinelClientTimeout: n('sentinel_client_timeout'),
    sentinelQuorum: n('sentinel_quorum'),
    sentinelParallelSyncs: n('sentinel_parallel_syncs'),
    sentinelDownAfter: n('sentinel_down_after'),
    sentinelFailoverTimeout: n('sentinel_failover_timeout'),
    sentinelNotificationScript: s('sentinel_notification_script'),
    sentinelClientReconfigScript: s('sentinel_client_reconfig_script'),
    consoleReadOnly: v.console_read_only === true,
    aclLines: [...(v['acl_users'] as string[]), ...(s('acl_file') ? readFileSync(s('acl_file'), 'utf8').split(/\r?\n/) : [])]
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#')),
    groupMinReplicasToWrite: Math.max(0, n('group_min_replicas_to_write')),
    groupMinReplicasMaxLag: Math.max(1000, n('group_min_replicas_max_lag')),
    coordinatorAuth: s('coordinator_auth'),
    tls: {
      admin: v.admin_tls === true,
      proxyAdmin: v.proxy_admin_tls === true,
      certFile: s('tls_cert_file'),
      keyFile: s('tls_key_file'),
      backend: v.backend_tls === true,
      backendCaFile: s('backend_tls_ca_cert_file'),
      backendCertFile: s('backend_tls_cert_file'),
      backendKeyFile: s('backend_tls_key_file'),
      backendServerName: s('backend_tls_server_name'),
    },
  };
  if (cfg.tls.admin && (!cfg.tls.certFile || !cfg.tls.keyFile)) throw new Error('admin_tls needs tls_cert_file and tls_key_file');
  if (cfg.sentinelQuorum < 1) throw new Error('sentinel_quorum must be at least 1');
  new AclUsers(cfg.aclLines); // a bad rule or a duplicate user: refused at start, naming the line
  if (cfg.sentinelDownAfter < 100) throw new Error('sentinel_down_after must be at least 100ms');
  try {
    parseAddr(cfg.adminAddr, { allowEmptyHost: true, allowPortZero: true });
  } catch (e) {
    throw new Error(`admin_addr: ${(e as Error).message}`);
  }
  if (cfg.lockTtl < 1000) throw new Error('lock_ttl must be at least 1s');
  if (cfg.lockRetry < 50) throw new Error('lock_retry must be at least 50ms');
  if (cfg.proxyPushTimeout < 100) throw new Error('proxy_push_timeout must be at least 100ms');
  if (cfg.statsPeriod < 100) throw new Error('stats_period must be at least 100ms');
  if (cfg.statsTimeout < 50) throw new Error('stats_timeout must be at least 50ms');
  if (!/^[\x21-\x7e]{8,}$/.test(cfg.adminToken)) throw new Error('admin_token must be at least 8 printable characters without spaces');
  return cfg;
}

export const defaultDashboardConfig = (): DashboardConfig => toDashboardConfig(defaults(DASHBOARD_OPTIONS));

/** The config as shown by the API: no secrets. */
export function publicDashboardConfig(c: DashboardConfig): Record<string, unknown> {
  return {
    coordinator: c.coordinator,
    product_name: c.productName,
    product_auth: c.productAuth ? '***' : '',
    admin_addr: c.adminAddr,
    admin_token: c.adminTokenDerived ? '(derived from product_name and product_auth)' : '***',
    lock_ttl_ms: c.lockTtl,
    lock_retry_ms: c.lockRetry,
    proxy_push_timeout_ms: c.proxyPushTimeout,
    stats_period_ms: c.statsPeriod,
    stats_timeout_ms: c.statsTimeout,
    log_level: c.logLevel,
    sentinel_quorum: c.sentinelQuorum,
    sentinel_parallel_syncs: c.sentinelParallelSyncs,
    sentinel_down_after_ms: c.sentinelDownAfter,
    sentinel_failover_timeout_ms: c.sentinelFailoverTimeout,
    sentinel_client_timeout_ms: c.sentinelClientTimeout,
    codis_compat_xauth: c.codisCompatXauth,
    // Codis 3.2's Config fields (names and types as codis-admin and codis-fe decode them).
    ...codisConfigFields(c),
  };
}
