// The proxy's options: one table (names follow Codis's proxy.toml where they mean the same thing)
// and the typed config object the rest of the proxy reads.
import { type OptionSpec, type OptionValues, defaults } from '../util/options.js';

export const PROXY_OPTIONS: OptionSpec[] = [
  { key: 'product_name', type: 'string', default: 'shardis-demo', doc: 'Cluster (product) name; namespaces coordinator paths.' },
  { key: 'product_auth', type: 'string', default: '', doc: 'Password the proxy sends to backend redis servers (AUTH); empty for none.' },
  {
    key: 'session_auth',
    type: 'string',
    default: '',
    doc: 'Password clients must send with AUTH (or HELLO ... AUTH default <pw>); empty for none.',
  },
  { key: 'proxy_addr', type: 'string', default: '127.0.0.1:19000', doc: 'Address clients connect to (host:port).' },
  { key: 'admin_addr', type: 'string', default: '127.0.0.1:11080', doc: 'Address of the admin HTTP API (health, stats, slots, /metrics).' },
  {
    key: 'workers',
    type: 'int',
    default: 1,
    doc: 'Number of proxy processes sharing the listening port (node:cluster); each has its own backend connections.',
  },
  {
    key: 'dashboard_addr',
    type: 'string',
    default: '',
    doc: 'Dashboard to register with (host:port); empty to run stand-alone with --fillslots.',
  },
  {
    key: 'coordinator',
    type: 'string',
    default: '',
    doc: 'Coordinator to find the dashboard in and register for discovery: filesystem:DIR, etcd:HOST:PORT[,..] or zookeeper:HOST:PORT[,..].',
  },
  {
    key: 'admin_token',
    type: 'string',
    default: '',
    doc: "The dashboard's admin token, sent when registering; empty derives it from product_name and product_auth (the dashboard's default).",
  },
  {
    key: 'jodis_timeout',
    type: 'duration',
    default: '10s',
    doc: 'Lifetime of the discovery entry (/jodis/<product>/proxy-<token>) after the proxy dies, on etcd/ZooKeeper coordinators.',
  },
  {
    key: 'dashboard_https',
    type: 'bool',
    default: false,
    doc: 'The dashboard found through the coordinator serves HTTPS (admin_tls): call it at https://<its admin_addr> (its CA trusted by the system or NODE_EXTRA_CA_CERTS). dashboard_addr may name https:// itself.',
  },
  {
    key: 'coordinator_auth',
    type: 'string',
    default: '',
    doc: 'Coordinator credentials "user:password" (as Codis\'s --etcd-auth / --zookeeper-auth): the etcd user, or the ZooKeeper digest user. Empty: SHARDIS_COORDINATOR_AUTH, else none.',
  },
  { key: 'proxy_datacenter', type: 'string', default: '', doc: 'Datacenter label, used to prefer nearby replicas.' },
  {
    key: 'proxy_max_clients',
    type: 'int',
    default: 10000,
    doc: 'Most client sessions at once; further clients get "ERR max number of clients reached".',
  },
  {
    key: 'backend_ping_period',
    type: 'duration',
    default: '5s',
    doc: 'Idle backend connections send PING this often to detect dead servers (0 disables).',
  },
  { key: 'backend_connect_timeout', type: 'duration', default: '3s', doc: 'Time allowed to connect (and AUTH/SELECT) to a backend.' },
  {
    key: 'backend_recv_timeout',
    type: 'duration',
    default: '30s',
    doc: 'A backend that leaves a request unanswered this long is considered dead; its connection is reset (0 disables).',
  },
  {
    key: 'backend_max_pipeline',
    type: 'int',
    default: 20480,
    doc: 'Most requests in flight on one backend connection; beyond that requests get an error.',
  },
  {
    key: 'backend_primary_parallel',
    type: 'int',
    default: 1,
    doc: "Connections per (server, db, protocol); a session always uses the same one, so its commands stay ordered. 1 (as Codis): each turn's requests to a server go out in one write.",
  },
  { key: 'backend_number_databases', type: 'int', default: 16, doc: 'Databases accepted by SELECT (0 .. n-1).' },
  { key: 'backend_keepalive_period', type: 'duration', default: '75s', doc: 'TCP keepalive on backend connections (0 disables).' },
  {
    key: 'backend_primary_only',
    type: 'bool',
    default: true,
    doc: 'Never read from replicas. false: read-only commands of a session that has not yet sent any other command go to the replica groups the dashboard computes for this proxy (same host, then same datacenter, then any); after its first write a session reads from the master.',
  },
  {
    key: 'session_max_pipeline',
    type: 'int',
    default: 1024,
    doc: 'Requests a session may have in flight; past this the proxy stops reading from it until replies drain (it is never disconnected for it). Bounds per-session memory together with session_max_outbuf.',
  },
  {
    key: 'session_max_outbuf',
    type: 'size',
    default: '8mb',
    doc: 'Reply bytes waiting for a slow client before the proxy stops reading its requests.',
  },
  { key: 'session_max_bulk_len', type: 'size', default: '512mb', doc: 'Largest bulk string a client may send.' },
  { key: 'session_max_array_len', type: 'int', default: 1048576, doc: 'Most arguments in one request.' },
  { key: 'session_max_inline_len', type: 'size', default: '64kb', doc: 'Longest inline (telnet-style) command line.' },
  { key: 'session_max_command_len', type: 'int', default: 64, doc: 'Longest command name accepted.' },
  { key: 'session_recv_timeout', type: 'duration', default: '30m', doc: 'Close client sessions idle this long (0 disables).' },
  { key: 'session_keepalive_period', type: 'duration', default: '75s', doc: 'TCP keepalive on client connections (0 disables).' },
  {
    key: 'session_break_on_failure',
    type: 'bool',
    default: false,
    doc: 'Close a session after a proxy-side error (Codis compatibility); off by default.',
  },
  {
    key: 'backend_max_borrowed',
    type: 'int',
    default: 1000,
    doc: 'Most dedicated backend connections per server for blocking commands, transactions (WATCH/EXEC) and WAIT; past this such commands get an error. Pub/sub uses one shared connection per server.',
  },
  {
    key: 'session_max_pubsub_outbuf',
    type: 'size',
    default: '32mb',
    doc: "Pub/sub messages waiting for a slow subscriber past this size disconnect it (like Redis's client-output-buffer-limit pubsub); other sessions are not affected.",
  },
  {
    key: 'cluster_facade',
    type: 'bool',
    default: false,
    doc: 'Answer CLUSTER SLOTS/SHARDS/NODES/INFO/MYID as a Redis Cluster whose nodes are the live proxies with this option on (the dashboard pushes the list; the 16384 slots split over them), or this proxy alone without a dashboard, so cluster-only clients can connect. CLUSTER KEYSLOT always works.',
  },
  { key: 'session_allow_flush', type: 'bool', default: true, doc: 'Allow FLUSHDB/FLUSHALL (sent to every group master).' },
  {
    key: 'acl_users',
    type: 'string[]',
    default: [],
    doc: 'Client users in Redis ACL syntax, one "user <name> <rules...>" line each (on/off, >password, nopass, +@category, -command, +command|sub, ~pattern, %R~/%W~, &channel, allkeys, allcommands, resetkeys ...). Without a "default" line, the default user is "on nopass ~* &* +@all", with session_auth as its password when set.',
  },
  {
    key: 'acl_file',
    type: 'string',
    default: '',
    doc: 'A file of "user ..." lines (Redis aclfile format) read at start, in addition to acl_users.',
  },
  {
    key: 'proxy_tls_addr',
    type: 'string',
    default: '',
    doc: 'Also accept TLS clients on this host:port (empty: no TLS listener). Plain proxy_addr keeps working beside it.',
  },
  {
    key: 'tls_cert_file',
    type: 'string',
    default: '',
    doc: 'PEM certificate the proxy presents to TLS clients (and on its HTTPS admin API when admin_tls is on).',
  },
  { key: 'tls_key_file', type: 'string', default: '', doc: 'PEM private key of tls_cert_file.' },
  {
    key: 'tls_ca_cert_file',
    type: 'string',
    default: '',
    doc: 'PEM CA bundle that client certificates must be signed by (used when tls_auth_clients is yes or optional).',
  },
  {
    key: 'tls_auth_clients',
    type: 'string',
    default: 'no',
    doc: 'Client certificates on the TLS listener: no, yes (required and verified) or optional (verified when given). TLS 1.2 is the minimum version.',
  },
  { key: 'admin_tls', type: 'bool', default: false, doc: 'Serve the admin API over HTTPS with tls_cert_file / tls_key_file.' },
  {
    key: 'codis_compat_reads',
    type: 'bool',
    default: false,
    doc: 'Serve the admin overview GET /proxy (config, model, stats, slot table with backend addresses) without a token, as codis-admin --proxy=ADDR reads it. WEAKER: off by default; every other read and every change still needs the token.',
  },
  {
    key: 'backend_tls',
    type: 'bool',
    default: false,
    doc: 'Connect to the redis-servers (the addresses in the slot table, i.e. their tls-port) and sentinels with TLS.',
  },
  {
    key: 'backend_tls_ca_cert_file',
    type: 'string',
    default: '',
    doc: 'PEM CA bundle that backend server certificates must be signed by (empty: the system CAs).',
  },
  {
    key: 'backend_tls_cert_file',
    type: 'string',
    default: '',
    doc: 'PEM client certificate for backends that require one (tls-auth-clients yes).',
  },
  { key: 'backend_tls_key_file', type: 'string', default: '', doc: 'PEM private key of backend_tls_cert_file.' },
  {
    key: 'backend_tls_server_name',
    type: 'string',
    default: '',
    doc: 'Name checked against the backend certificates (SNI); empty: the host of each backend address.',
  },
  {
    key: 'session_max_querybuf',
    type: 'size',
    default: '1gb',
    doc: 'Most request bytes buffered for one client (a partial request included); past it the client gets an error and is disconnected, as with Redis client-query-buffer-limit.',
  },
  {
    key: 'migration_big_key_elements',
    type: 'int',
    default: 20000,
    doc: 'During a slot migration, a key with more elements than this is not moved by the proxy with one MIGRATE (it would block the source); the dashboard copies it in chunks and the request waits for it.',
  },
  {
    key: 'migration_lock_wait',
    type: 'duration',
    default: '15s',
    doc: 'How long a request may wait for a locked slot or a key being copied by a migration before it fails with TRYAGAIN.',
  },
  {
    key: 'slowlog_log_slower_than',
    type: 'int',
    default: 10000,
    doc: 'Commands slower than this many microseconds (parse to reply ready) go to the slow log (SLOWLOG GET); negative disables, 0 logs everything.',
  },
  { key: 'slowlog_max_len', type: 'int', default: 128, doc: 'Entries kept in the slow log.' },
  { key: 'shutdown_timeout', type: 'duration', default: '10s', doc: 'On SIGTERM, how long to wait for in-flight replies before closing.' },
  { key: 'log_level', type: 'string', default: 'info', doc: 'Log level: debug, info, warn, error.' },
];

/** Codis proxy.toml keys that have no meaning in Shardis: accepted with a warning, so a Codis file loads. */
export const CODIS_IGNORED_PROXY_KEYS: readonly string[] = [
  'proto_type',
  'jodis_name',
  'jodis_addr',
  'jodis_auth',
  'jodis_compatible',
  'proxy_max_offheap_size',
  'proxy_heap_placeholder',
  'backend_recv_bufsize',
  'backend_send_bufsize',
  'backend_send_timeout',
  'backend_replica_parallel',
  'session_recv_bufsize',
  'session_send_bufsize',
  'session_send_timeout',
  'metrics_report_*',
];

export interface ProxyConfig {
  productName: string;
  productAuth: string;
  sessionAuth: string;
  proxyAddr: string;
  adminAddr: string;
  workers: number;
  dashboardAddr: string;
  coordinator: string;
  adminToken: string;
  jodisTimeout: number;
  coordinatorAuth: string;
  dashboardHttps: boolean;
  datacenter: string;
  maxClients: number;
  backendPingPeriod: number;
  backendConnectTimeout: number;
  backendRecvTimeout: number;
  backendMaxPipeline: number;
  backendParallel: number;
  databases: number;
  backendKeepalive: number;
  primaryOnly: boolean;
  sessionMaxPipeline: number;
  sessionMaxOutbuf: number;
  maxBulkLen: number;
  maxArrayLen: number;
  maxInlineLen: number;
  maxCommandLen: number;
  sessionRecvTimeout: number;
  sessionKeepalive: number;
  breakOnFailure: boolean;
  allowFlush: boolean;
  shutdownTimeout: number;
  slowlogSlowerThan: number;
  slowlogMaxLen: number;
  logLevel: string;
  backendMaxBorrowed: number;
  sessionMaxPubsubOutbuf: number;
  clusterFacade: boolean;
  codisCompatReads: boolean;
  migrationBigKeyElements: number;
  migrationLockWait: number;
  aclUsers: string[];
  aclFile: string;
  tls: TlsConfig;
  maxQueryBuf: number;
}

/** TLS settings of one proxy (files are read when the listener or a backend connection starts). */
export interface TlsConfig {
  addr: string;
  certFile: string;
  keyFile: string;
  caFile: string;
  authClients: 'no' | 'yes' | 'optional';
  admin: boolean;
  backend: boolean;
  backendCaFile: string;
  backendCertFile: string;
  backendKeyFile: string;
  backendServerName: string;
}

export function toProxyConfig(v: OptionValues): ProxyConfig {
  const s = (k: string): string => v[k] as string;
  const n = (k: string): number => v[k] as number;
  const b = (k: string): boolean => v[k] as boolean;
  const cfg: ProxyConfig = {
    productName: s('product_name'),
    productAuth: s('product_auth'),
    sessionAuth: s('session_auth'),
    proxyAddr: s('proxy_addr'),
    adminAddr: s('admin_addr'),
    workers: n('workers'),
    dashboardAddr: s('dashboard_addr'),
    coordinator: s('coordinator'),
    adminToken: s('admin_token'),
    jodisTimeout: n('jodis_timeout'),
    coordinatorAuth: s('coordinator_auth'),
    dashboardHttps: b('dashboard_https'),
    datacenter: s('proxy_datacenter'),
    maxClients: n('proxy_max_clients'),
    backendPingPeriod: n('backend_ping_period'),
    backendConnectTimeout: n('backend_connect_timeout'),
    backendRecvTimeout: n('backend_recv_timeout'),
    backendMaxPipeline: n('backend_max_pipeline'),
    backendParallel: n('backend_primary_parallel'),
    databases: n('backend_number_databases'),
    backendKeepalive: n('backend_keepalive_period'),
    primaryOnly: b('backend_primary_only'),
    sessionMaxPipeline: n('session_max_pipeline'),
    sessionMaxOutbuf: n('session_max_outbuf'),
    maxBulkLen: n('session_max_bulk_len'),
    maxArrayLen: n('session_max_array_len'),
    maxInlineLen: n('session_max_inline_len'),
    maxCommandLen: n('session_max_command_len'),
    sessionRecvTimeout: n('session_recv_timeout'),
    sessionKeepalive: n('session_keepalive_period'),
    breakOnFailure: b('session_break_on_failure'),
    allowFlush: b('session_allow_flush'),
    shutdownTimeout: n('shutdown_timeout'),
    slowlogSlowerThan: n('slowlog_log_slower_than'),
    slowlogMaxLen: n('slowlog_max_len'),
    logLevel: s('log_level'),
    backendMaxBorrowed: n('backend_max_borrowed'),
    sessionMaxPubsubOutbuf: n('session_max_pubsub_outbuf'),
    clusterFacade: b('cluster_facade'),
    codisCompatReads: b('codis_compat_reads'),
    migrationBigKeyElements: n('migration_big_key_elements'),
    migrationLockWait: n('migration_lock_wait'),
    aclUsers: v['acl_users'] as string[],
    aclFile: s('acl_file'),
    maxQueryBuf: n('session_max_querybuf'),
    tls: {
      addr: s('proxy_tls_addr'),
      certFile: s('tls_cert_file'),
      keyFile: s('tls_key_file'),
      caFile: s('tls_ca_cert_file'),
      authClients: s('tls_auth_clients') as TlsConfig['authClients'],
      admin: b('admin_tls'),
      backend: b('backend_tls'),
      backendCaFile: s('backend_tls_ca_cert_file'),
      backendCertFile: s('backend_tls_cert_file'),
      backendKeyFile: s('backend_tls_key_file'),
      backendServerName: s('backend_tls_server_name'),
    },
  };
  if (!['no', 'yes', 'optional'].includes(cfg.tls.authClients))
    throw new Error(`tls_auth_clients must be no, yes or optional, not "${cfg.tls.authClients}"`);
  if ((cfg.tls.addr !== '' || cfg.tls.admin) && (cfg.tls.certFile === '' || cfg.tls.keyFile === '')) {
    throw new Error('proxy_tls_addr and admin_tls need tls_cert_file and tls_key_file');
  }
  if (cfg.tls.authClients !== 'no' && cfg.tls.caFile === '') throw new Error('tls_auth_clients yes/optional needs tls_ca_cert_file');
  if (!/^\w[\w.-]*$/.test(cfg.productName)) throw new Error(`product_name "${cfg.productName}" must match ^\\w[\\w.-]*$`);
  if (cfg.backendParallel < 1) throw new Error('backend_primary_parallel must be at least 1');
  if (cfg.databases < 1) throw new Error('backend_number_databases must be at least 1');
  if (cfg.workers < 1) throw new Error('workers must be at least 1');
  if (cfg.sessionMaxPipeline < 1) throw new Error('session_max_pipeline must be at least 1');
  return cfg;
}

export const defaultProxyConfig = (): ProxyConfig => toProxyConfig(defaults(PROXY_OPTIONS));
