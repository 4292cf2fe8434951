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

/**
 * True if more than half of `sentinels` (all configured ones, not only those that answer) see `master`
 * as group `gid`'s master, reachable. Answers as soon as the outcome is decided (a cut-off sentinel
 * only costs its timeout when its vote matters).
 */
export function majoritySeesMaster(
  sentinels: readonly string[],
  product: string,
  gid: number,
  master: string,
  timeoutMs: number,
): Promise<boolean> {
  const n = sentinels.length;
  if (n === 0) return Promise.resolve(false);
  const name = masterName(product, gid);
  return new Promise((resolve) => {
    let yes = 0;
    let no = 0;
    const vote = (v: boolean): void => {
      if (v) yes++;
      else no++;
      if (yes * 2 > n) resolve(true);
      else if (no * 2 >= n || yes + no === n) resolve(false);
    };
    for (const s of sentinels)
      redisCall(s, timeoutMs, ['SENTINEL', 'MASTER', name]).then(
        (r) => vote(seesMaster(pairs(r), master)),
        () => vote(false),
      );
  });
}
