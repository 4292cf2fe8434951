// What a push of slot tables to the proxies achieved: the one report type that proxy-sync.ts makes
// and the operations (topom.ts, slot-actions.ts, sentinel-ha.ts) return to the API and act on.

/** A proxy that did not acknowledge a push, and why. */
export interface PushFailure {
  id: number;
  token: string;
  admin_addr: string;
  error: string;
}

export interface PushReport {
  /** Proxies the push went to. */
  proxies: number;
  /** Proxies that acknowledged it. */
  acked: number;
  failed: PushFailure[];
}
