// The product's sentinel list (Codis 3.2 models.Sentinel), stored at /codis3/<product>/sentinel.
// `out_of_sync` means the sentinels' monitored masters no longer match the groups (set by server
// add/remove, cleared by a sentinel resync).
export interface SentinelModel {
  servers: string[];
  out_of_sync: boolean;
}

export const emptySentinel = (): SentinelModel => ({ servers: [], out_of_sync: false });

export function parseSentinel(input: unknown): SentinelModel {
  const o = (typeof input === 'object' && input !== null ? input : {}) as Record<string, unknown>;
  return {
    servers: Array.isArray(o.servers) ? o.servers.filter((s): s is string => typeof s === 'string') : [],
    out_of_sync: o.out_of_sync === true,
  };
}

/** Codis omits an empty server list (`servers,omitempty`). */
export function encodeSentinel(s: SentinelModel): Record<string, unknown> {
  return s.servers.length ? { servers: s.servers, out_of_sync: s.out_of_sync } : { out_of_sync: s.out_of_sync };
}
