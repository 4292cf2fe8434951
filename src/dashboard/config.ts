// The dashboard's options: one table (names follow Codis's dashboard.toml where they mean the same
// thing) and the typed config the rest of the dashboard reads.
import { type OptionSpec, type OptionValues, defaults } from '../util/options.js';
import { parseStoreSpec, specFromNameAndAddr, formatStoreSpec } from '../coordinator/index.js';
import { defaultAdminToken } from '../models/auth.js';

export const DASHBOARD_OPTIONS: OptionSpec[] = [
  { key: 'coordinator', type: 'string', default: '', doc: 'Where metadata and the product lock live: filesystem:DIR, etcd:HOST:PORT[,..] or zookeeper:HOST:PORT[,..]. Empty: use coordinator_name + coordinator_addr.' },
  { key: 'coordinator_name', type: 'string', default: 'filesystem', doc: 'Codis-style coordinator kind (filesystem, etcd, zookeeper); used when `coordinator` is empty.' },
  { key: 'coordinator_addr', type: 'string', default: '/tmp/shardis', doc: 'Codis-style coordinator address (directory, or comma-separated host:port list); used when `coordinator` is empty.' },
  { key: 'product_name', type: 'string', default: 'shardis-demo', doc: 'Cluster (product) name; one active dashboard per product.' },
  { key: 'product_auth', type: 'string', default: '', doc: 'Redis password of the group servers (AUTH); also part of the proxies\' API key.' },
  { key: 'admin_addr', type: 'string', default: '127.0.0.1:18080', doc: 'Address of the dashboard HTTP API (host:port; port 0 picks a free one).' },
  { key: 'admin_token', type: 'string', default: '', doc: 'Token for mutating API calls. Empty: derived as sha256("Shardis-Admin-[product]-[product_auth]"), first 32 hex chars.' },
  { key: 'lock_ttl', type: 'duration', default: '5s', doc: 'How long the product lock outlives a dashboard that died without releasing it (kill -9, network cut).' },
  { key: 'lock_retry', type: 'duration', default: '1s', doc: 'How often a standby dashboard retries to take the product lock.' },
  { key: 'proxy_push_timeout', type: 'duration', default: '3s', doc: 'Time a proxy has to acknowledge a slot table push (or any admin call) before it is reported unreachable.' },
  { key: 'stats_period', type: 'duration', default: '1s', doc: 'How often servers and proxies are polled for stats (and proxies with a stale table re-pushed).' },
  { key: 'stats_timeout', type: 'duration', default: '1s', doc: 'Time one stats poll of a server or proxy may take.' },
  { key: 'coordinator_timeout', type: 'duration', default: '5s', doc: 'Upper bound for one coordinator operation.' },
  { key: 'log_level', type: 'string', default: 'info', doc: 'Log level: debug, info, warn, error.' },
];

export interface DashboardConfig {
  /** Normalised `kind:address` coordinator spec. */
  coordinator: string;
  productName: string;
  productAuth: string;
  adminAddr: string;
  adminToken: string;
  /** True when admin_token was left empty and derived. */
  adminTokenDerived: boolean;
  lockTtl: number;
  lockRetry: number;
  proxyPushTimeout: number;
  statsPeriod: number;
  statsTimeout: number;
  coordinatorTimeout: number;
  logLevel: string;
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
    lockTtl: n('lock_ttl'),
    lockRetry: n('lock_retry'),
    proxyPushTimeout: n('proxy_push_timeout'),
    statsPeriod: n('stats_period'),
    statsTimeout: n('stats_timeout'),
    coordinatorTimeout: n('coordinator_timeout'),
    logLevel: s('log_level'),
  };
  if (!/^[^\s]*:\d+$/.test(cfg.adminAddr)) throw new Error(`admin_addr "${cfg.adminAddr}" is not host:port`);
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
    coordinator: c.coordinator, product_name: c.productName, product_auth: c.productAuth ? '***' : '',
    admin_addr: c.adminAddr, admin_token: c.adminTokenDerived ? '(derived from product_name and product_auth)' : '***',
    lock_ttl_ms: c.lockTtl, lock_retry_ms: c.lockRetry, proxy_push_timeout_ms: c.proxyPushTimeout,
    stats_period_ms: c.statsPeriod, stats_timeout_ms: c.statsTimeout, log_level: c.logLevel,
  };
}
