// Replica reads (Codis's replica groups, topom/context.go toReplicaGroups): for each proxy, the servers
// of a group flagged `replica_group`, in priority order — same host as the proxy (and same
// datacenter), then same datacenter, then any. There are none while the group is promoting, has a
// single server, or for a slot that is migrating or locked. Proxies use them only with
// backend_primary_only=false (see src/proxy/replica-reads.ts for the session rule).
import { isPromoting, type Group } from '../models/group.js';
import type { ProxyModel } from '../models/proxy.js';
import type { Slot } from '../models/slot.js';
import { hostOf } from '../util/address.js';

/** The replica groups of `g` as seen from `proxy` (priority order, empty groups dropped). */
export function replicaGroupsFor(
  g: Group | undefined,
  proxy: Pick<ProxyModel, 'admin_addr' | 'proxy_addr' | 'datacenter'> | null,
): string[][] {
  if (!g || isPromoting(g) || g.servers.length <= 1) return [];
  const host = proxy ? hostOf(proxy.proxy_addr || proxy.admin_addr) : '';
  const dc = proxy?.datacenter ?? '';
  const sameHost: string[] = [],
    sameDatacenter: string[] = [],
    elsewhere: string[] = [];
  for (const s of g.servers) {
    if (!s.replica_group) continue;
    const sameDc = s.datacenter === dc;
    if (sameDc && host !== '' && hostOf(s.server) === host) sameHost.push(s.server);
    else if (sameDc) sameDatacenter.push(s.server);
    else elsewhere.push(s.server);
  }
  return [sameHost, sameDatacenter, elsewhere].filter((t) => t.length > 0);
}

/** The table for one proxy: `table` with replica_groups filled in for settled slots. */
export function withReplicaGroups(table: readonly Slot[], groups: ReadonlyMap<number, Group>, proxy: ProxyModel | null): Slot[] {
  const cache = new Map<number, string[][]>();
  return table.map((s) => {
    if (!s.backend_addr || !s.backend_addr_group_id || s.migrate_from || s.locked) return s;
    let rg = cache.get(s.backend_addr_group_id);
    if (rg === undefined) {
      rg = replicaGroupsFor(groups.get(s.backend_addr_group_id), proxy);
      cache.set(s.backend_addr_group_id, rg);
    }
    return rg.length ? { ...s, replica_groups: rg } : s;
  });
}
