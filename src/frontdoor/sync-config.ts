// Owns the option table of `shardis frontdoor sync` (TOML file or flags, like the other processes).
import type { OptionSpec, OptionValues } from '../util/options.js';

export const FRONTDOOR_SYNC_OPTIONS: OptionSpec[] = [
  {
    key: 'runtime_api',
    type: 'string',
    default: '/run/haproxy/shardis-admin.sock',
    doc: 'HAProxy Runtime API of the HAProxy this agent keeps in sync: a unix socket path or a loopback host:port (`stats socket ... level admin`).',
  },
  { key: 'backend', type: 'string', default: 'shardis_proxies', doc: 'HAProxy backend that holds the proxies.' },
  { key: 'dashboard_addr', type: 'string', default: '', doc: 'Read the proxy list from this dashboard (host:port) ...' },
  {
    key: 'dashboard_token',
    type: 'string',
    default: '',
    doc: "The dashboard's admin token (its proxy list needs it; also read from SHARDIS_ADMIN_TOKEN).",
  },
  {
    key: 'coordinator',
    type: 'string',
    default: '',
    doc: '... or from the /jodis/<product> entries in this coordinator (filesystem:DIR, etcd:HOST:PORT, zookeeper:HOST:PORT).',
  },
  { key: 'product_name', type: 'string', default: 'shardis-demo', doc: 'Product whose proxies are served (with `coordinator`).' },
  { key: 'sync_interval', type: 'duration', default: '1s', doc: 'How often the proxy list and HAProxy are compared.' },
  {
    key: 'drain_wait',
    type: 'duration',
    default: '30s',
    doc: 'How long a draining proxy may keep sessions before its server is removed anyway.',
  },
  {
    key: 'check_inter',
    type: 'duration',
    default: '1s',
    doc: 'Health-check interval of servers added at run time (as in the generated haproxy.cfg).',
  },
  { key: 'check_fall', type: 'int', default: 2, doc: 'Failed checks before a server is down.' },
  { key: 'check_rise', type: 'int', default: 2, doc: 'Passed checks before a server is up again.' },
  { key: 'maxconn_per_server', type: 'int', default: 1000, doc: 'maxconn of servers added at run time.' },
  { key: 'log_level', type: 'string', default: 'info', doc: 'Log level (JSON logs on stderr).' },
];

export interface FrontdoorSyncConfig {
  runtimeApi: string;
  backend: string;
  dashboardAddr: string;
  dashboardToken: string;
  coordinator: string;
  productName: string;
  syncIntervalMs: number;
  drainWaitMs: number;
  checkInterMs: number;
  checkFall: number;
  checkRise: number;
  maxconnPerServer: number;
  logLevel: string;
}

export function toFrontdoorSyncConfig(v: OptionValues): FrontdoorSyncConfig {
  const cfg: FrontdoorSyncConfig = {
    runtimeApi: String(v.runtime_api),
    backend: String(v.backend),
    dashboardAddr: String(v.dashboard_addr),
    dashboardToken: String(v.dashboard_token) || (process.env.SHARDIS_ADMIN_TOKEN ?? ''),
    coordinator: String(v.coordinator),
    productName: String(v.product_name),
    syncIntervalMs: Number(v.sync_interval),
    drainWaitMs: Number(v.drain_wait),
    checkInterMs: Number(v.check_inter),
    checkFall: Number(v.check_fall),
    checkRise: Number(v.check_rise),
    maxconnPerServer: Number(v.maxconn_per_server),
    logLevel: String(v.log_level),
  };
  if (!cfg.dashboardAddr && !cfg.coordinator)
    throw new Error('give --dashboard-addr HOST:PORT or --coordinator SPEC (with --product-name) to read the proxy list from');
  if (!/^[\w.-]+$/.test(cfg.backend)) throw new Error(`backend "${cfg.backend}": letters, digits, _ . - only`);
  return cfg;
}
