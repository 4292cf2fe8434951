// Asks the product's sentinels whether a majority of them reach a group master right now (it answers
// their pings, none flags it down, none is failing it over). Write safety (write-safety.ts) relaxes a
// master whose replicas stopped acknowledging only on that answer: promotions need a sentinel
// majority, so while one reaches the master, the writes it takes are not thrown away by a failover.
// A master cut off with the dashboard (a minority side) cannot get that answer.
import { masterName, pairs, redisCall } from '../ha/sentinels.js';

/** A sentinel counts if its last good ping reply from the master is at most this old. */
export const FRESH_PING_MS = 2000;

/** Does one sentinel's `SENTINEL MASTER` reply show `master` as reachable now? */
export function seesMaster(reply: Record<string, string>, master: string): boolean {
  if (`${reply.ip}:${reply.port}` !== master) return false;
  if (/s_down|o_down|failover/.test(reply.flags ?? '')) return false;
  const ping = Number(reply['last-ok-ping-reply']);
  return Number.isFinite(ping) && ping <= FRESH_PING_MS;
}

/** True if more than half of `sentinels` (all configured ones, not only those that answer) see `master` as group `gid`'s master, reachable. */
export async function majoritySeesMaster(
  sentinels: readonly string[],
  product: string,
  gid: number,
  master: string,
  timeoutMs: number,
): Promise<boolean> {
  if (sentinels.length === 0) return false;
  const name = masterName(product, gid);
  const votes = await Promise.all(
    sentinels.map(async (s) => {
      try {
        return seesMaster(pairs(await redisCall(s, timeoutMs, ['SENTINEL', 'MASTER', name])), master);
      } catch {
        return false;
      }
    }),
  );
  return votes.filter(Boolean).length * 2 > sentinels.length;
}
