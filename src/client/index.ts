// Public entry of `shardis/client` (package.json "exports"): the discovery pool and proxy directories.
export { createPool, type PoolOptions, type ProxyPool } from './pool.js';
export {
  jodisDirectory,
  dashboardDirectory,
  staticDirectory,
  parseJodisEntry,
  type ProxyDirectory,
  type ProxyEntry,
} from './proxy-directory.js';
