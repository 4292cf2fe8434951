// Waiting for a group to settle after a sentinel failover, shared by the HA tests: with a 1 s
// down-after on a loaded machine the sentinels sometimes fail a fresh master over once more (back to
// back), so a test follows the group until the dashboard, every live sentinel and the server itself
// agree for a while, instead of assuming one failover; and waits until every proxy routes the group there.
import { redisCall, roleOf } from '../../src/ha/sentinels.js';
import { httpJson } from '../../src/util/http-json.js';
import { masterOf, type HaCluster } from './ha-cluster.js';
import { eventually } from './poll.js';

/**
 * Waits until group `gid` has a master other than `not` that the dashboard records, answers ROLE as
 * master, and every live sentinel (at least 2) names with no other flag, unchanged for `stableMs`. Returns every
 * master the dashboard recorded on the way (more than one after a back-to-back sentinel failover).
 */
export async function waitSettledMaster(h: HaCluster, gid: number, not: string, stableMs = 3000, timeoutMs = 40000): Promise<string[]> {
  const seen: string[] = [];
  let since = 0;
  let last = '';
  await eventually(
    `group ${gid} to settle on a new master other than ${not}`,
    async () => {
      const m = await masterOf(h, gid);
      if (m === not) return false;
      if (seen.at(-1) !== m) {
        seen.push(m);
        since = 0;
      }
      const views: string[] = [];
      const agree = await Promise.all(
        h.c.redisSentinels.map(async (s) => {
          const r = await redisCall(s.addr, 1000, ['SENTINEL', 'MASTER', `${h.c.info.product}-${gid}`]).catch(() => null);
          if (!Array.isArray(r)) return null; // a sentinel a test stopped
          const f = new Map<string, string>();
          for (let i = 0; i + 1 < r.length; i += 2) f.set(String(r[i]), String(r[i + 1]));
          views.push(`${s.addr}: ${f.get('ip')}:${f.get('port')} [${f.get('flags')}] epoch ${f.get('config-epoch')}`);
          return `${f.get('ip')}:${f.get('port')}` === m && f.get('flags') === 'master';
        }),
      );
      const answered = agree.filter((a) => a !== null);
      const role = await roleOf(m, 1000).catch((e: Error) => e.message);
      last = `dashboard master ${m} (ROLE ${role}); sentinels: ${views.join('; ')}`;
      if (answered.length < 2 || !answered.every(Boolean) || role !== 'master') {
        since = 0;
        return false;
      }
      since ||= Date.now();
      return Date.now() - since >= stableMs;
    },
    timeoutMs,
    200,
  ).catch((e: Error) => {
    throw new Error(`${e.message}; last seen: ${last}`);
  });
  return seen;
}

/** Every proxy routes every slot of `gid` to `master`. */
export async function waitProxiesRoute(h: HaCluster, gid: number, master: string, timeoutMs = 10000): Promise<void> {
  for (const p of h.c.info.proxies) {
    await eventually(
      `proxy ${p.admin} to route group ${gid} to ${master}`,
      async () => {
        const r = await httpJson('GET', p.admin, '/proxy/slots', { timeoutMs: 2000, headers: { authorization: `Bearer ${h.token}` } });
        const slots = r.json as Array<{ backend_addr?: string; backend_addr_group_id?: number }>;
        return slots.filter((s) => s.backend_addr_group_id === gid).every((s) => s.backend_addr === master);
      },
      timeoutMs,
      100,
    );
  }
}
