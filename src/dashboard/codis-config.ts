// The dashboard config as Codis 3.2's `topom.Config` shows it in `/topom` (what codis-fe's first
// render and `codis-admin --dashboard=ADDR config` read): Codis's field names, durations as Codis's
// timesize strings ("30s", "5m") and sizes as its bytesize strings ("32mb"). Added beside Shardis's
// own `*_ms` fields, which Shardis's tools read.
import { parseStoreSpec, type StoreSpec } from '../coordinator/index.js';
import { codisBytes, codisDuration } from '../util/codis-units.js';

/** Codis's coordinator_name / coordinator_addr for a Shardis coordinator spec. */
export function codisCoordinator(spec: string): { name: string; addr: string } {
  let s: StoreSpec;
  try {
    s = parseStoreSpec(spec);
  } catch {
    return { name: '', addr: spec };
  }
  switch (s.kind) {
    case 'filesystem':
      return { name: 'filesystem', addr: s.root };
    case 'etcd':
      return { name: 'etcd', addr: s.endpoints.join(',') };
    case 'zookeeper':
      return { name: 'zookeeper', addr: s.servers };
  }
}

/** The DashboardConfig fields shown (a structural type: config.ts imports this file). */
export interface CodisConfigSource {
  coordinator: string;
  migrationParallelSlots: number;
  migrationBatchKeys: number;
  migrationTimeout: number;
  sentinelClientTimeout: number;
  sentinelQuorum: number;
  sentinelParallelSyncs: number;
  sentinelDownAfter: number;
  sentinelFailoverTimeout: number;
  sentinelNotificationScript: string;
  sentinelClientReconfigScript: string;
}

export function codisConfigFields(c: CodisConfigSource): Record<string, unknown> {
  const coord = codisCoordinator(c.coordinator);
  return {
    coordinator_name: coord.name,
    coordinator_addr: coord.addr,
    coordinator_auth: '',
    // Shardis moves keys with stock MIGRATE ... KEYS (Codis's "sync" method, batched).
    migration_method: 'sync',
    migration_parallel_slots: c.migrationParallelSlots,
    migration_async_maxbulks: 200,
    migration_async_maxbytes: codisBytes(32 * 1024 * 1024),
    migration_async_numkeys: c.migrationBatchKeys,
    migration_timeout: codisDuration(c.migrationTimeout),
    sentinel_client_timeout: codisDuration(c.sentinelClientTimeout),
    sentinel_quorum: c.sentinelQuorum,
    sentinel_parallel_syncs: c.sentinelParallelSyncs,
    sentinel_down_after: codisDuration(c.sentinelDownAfter),
    sentinel_failover_timeout: codisDuration(c.sentinelFailoverTimeout),
    sentinel_notification_script: c.sentinelNotificationScript,
    sentinel_client_reconfig_script: c.sentinelClientReconfigScript,
  };
}
