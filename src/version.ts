// Version strings reported by every Shardis process.
export const VERSION = '0.1.0';
/** The Redis version whose command set the proxy implements (what HELLO / INFO report as redis_version). */
export const REDIS_COMPAT_VERSION = '7.0.15';
