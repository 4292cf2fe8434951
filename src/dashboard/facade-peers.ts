// Keeps the proxies' cluster façade node lists in step (issue 12): after every stats round, the live
// façade proxies — those whose last stats poll answered, online, not draining, with cluster_facade
// on — are sent, as their client addresses, to each of them whenever that list differs from the one
// it last acknowledged. A proxy joining, being removed, draining or missing a poll therefore changes
// what every other proxy answers to CLUSTER SLOTS within about one stats_period. Proxies without the
// façade (or Codis proxies) get nothing.
import type { Logger } from '../util/log.js';
import type { ProxyModel } from '../models/proxy.js';
import type { ProxyClient } from './proxy-client.js';
import type { RuntimeState } from './proxy-sync.js';

export interface FacadePeersHost {
  readonly log: Logger;
  proxies(): Iterable<ProxyModel>;
  state(token: string): RuntimeState;
  client(p: ProxyModel): ProxyClient;
}

/** True when `r`'s proxy answered its last stats poll with the façade on (it gets the list). */
export function facadeProxy(r: RuntimeState): boolean {
  return !r.error && r.stats?.cluster_facade === true;
}

/** True when the dashboard counts `r`'s proxy as a live node of the façade (it is in the list). */
export function liveFacadeProxy(r: RuntimeState): boolean {
  return facadeProxy(r) && r.stats?.online !== false && r.stats?.draining !== true;
}

export class FacadePeers {
  /** token → the list (joined) the proxy last acknowledged. */
  private readonly acked = new Map<string, string>();

  constructor(private readonly h: FacadePeersHost) {}

  /** The proxy may have restarted (re-pushed): send it the list again next round. */
  forget(token: string): void {
    this.acked.delete(token);
  }

  /** Pushes the current list to every live façade proxy that does not have it; never throws. */
  async sync(): Promise<void> {
    const all = [...this.h.proxies()];
    // A draining proxy is sent the list without itself, so it too points clients elsewhere.
    const reached = all.filter((p) => facadeProxy(this.h.state(p.token)));
    const live = reached.filter((p) => liveFacadeProxy(this.h.state(p.token)));
    const tokens = new Set(all.map((p) => p.token));
    for (const t of [...this.acked.keys()]) if (!tokens.has(t)) this.acked.delete(t);
    // A proxy that missed a poll may have restarted with an empty list.
    for (const p of all) if (!reached.includes(p)) this.acked.delete(p.token);
    const addrs = [...new Set(live.map((p) => p.proxy_addr))].sort();
    const key = addrs.join(',');
    await Promise.all(
      reached
        .filter((p) => this.acked.get(p.token) !== key)
        .map(async (p) => {
          try {
            await this.h.client(p).setClusterNodes(addrs);
            this.acked.set(p.token, key);
            this.h.log.info({ proxy: p.token, nodes: addrs }, 'cluster façade nodes pushed');
          } catch (e) {
            this.h.log.warn({ proxy: p.token, err: (e as Error).message }, 'cluster façade nodes push failed');
          }
        }),
    );
  }
}
