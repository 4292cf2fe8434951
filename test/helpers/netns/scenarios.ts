// The fault scenarios of issue 16, each on a fresh 3-host cluster (layout.ts) with a client workload
// running in the clients' namespace, and every acknowledged write read back key by key at the end.
// Each returns a `ScenarioResult` (what the tests assert on and the bench report tabulates): the
// unavailability window of the affected writes, acknowledged writes lost, and the checks made.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { startMultiHostCluster, type CoordinatorKind, type HostName, type MultiHostCluster } from './layout.js';
import { startWorkload, verifyAcks, longestGap, type Ack, type RunningWorkload } from './workload.js';
import { slotOf } from '../../../src/slots/hash.js';
import { httpJson, replyError } from '../../../src/util/http-json.js';
import { waitFor } from '../../../src/util/processes.js';
import { slotPath } from '../../../src/coordinator/index.js';

export interface ScenarioResult {
  fault: string;
  coordinator: CoordinatorKind;
  acked: number;
  lost: Ack[];
  /** Longest stretch without an acknowledged write of the affected keys, from the fault until the end. */
  unavailableMs: number;
  /** Named facts the scenario established (times in ms after the fault, counts, booleans). */
  facts: Record<string, number | string | boolean>;
  notes: string[];
}

export interface ScenarioOptions {
  coordinator: CoordinatorKind;
  dir?: string;
  /** Extra dashboard flags (e.g. `--group-min-replicas-to-write 0` to show the unbounded case). */
  dashboardArgs?: string[];
  log?: (msg: string) => void;
  /** Replicas per group (default 2). */
  replicas?: 1 | 2;
}

/** Group of a key under the initial even layout of 3 groups. */
export const groupOfKey = (key: string): number => Math.floor((slotOf(key) * 3) / 1024) + 1;

async function withCluster<T>(o: ScenarioOptions, extraDashArgs: string[], fn: (c: MultiHostCluster) => Promise<T>): Promise<T> {
  const c = await startMultiHostCluster({
    coordinator: o.coordinator,
    dir: o.dir,
    dashboardArgs: [...extraDashArgs, ...(o.dashboardArgs ?? [])],
    ...(o.replicas ? { replicas: o.replicas } : {}),
  });
  let result: T;
  try {
    result = await fn(c);
  } catch (e) {
    await c.stop(true); // keep the logs of a failed run
    throw new Error(`${(e as Error).message} (logs: ${c.dir})`, { cause: e });
  }
  await c.stop();
  return result;
}

const proxyAddrs = (c: MultiHostCluster, hosts?: HostName[]): string[] =>
  [...c.proxies.entries()].filter(([h]) => !hosts || hosts.includes(h)).map(([, p]) => p.addr);

/** Dashboard log lines (pino JSON) whose msg matches `re`, with their time. */
function logTimes(c: MultiHostCluster, host: HostName, re: RegExp): number[] {
  let text = '';
  try {
    text = readFileSync(join(c.dir, `dashboard-${host}.log`), 'utf8');
  } catch {
    return [];
  }
  const out: number[] = [];
  for (const line of text.split('\n')) {
    if (!line.startsWith('{')) continue;
    try {
      const j = JSON.parse(line) as { time?: number; msg?: string };
      if (typeof j.time === 'number' && re.test(j.msg ?? '')) out.push(j.time);
    } catch {
      /* not a log record */
    }
  }
  return out;
}

async function waitActiveDashboard(c: MultiHostCluster, want: (addr: string | null) => boolean, timeoutMs: number): Promise<string> {
  let got: string | null = null;
  await waitFor(
    'a dashboard holding the product lock',
    async () => {
      got = await c.activeDashboard();
      return want(got);
    },
    timeoutMs,
    200,
  );
  return got!;
}

async function dashboardHealth(addr: string): Promise<{ status: string; reason?: string }> {
  const r = await httpJson('GET', addr, '/health', { timeoutMs: 2000 });
  return r.json as { status: string; reason?: string };
}

/** The dashboard holding the product lock now (the h1 one while none does). */
async function currentDashboard(c: MultiHostCluster): Promise<string> {
  return (await c.activeDashboard().catch(() => null)) ?? c.dashboards.get('h1')!.addr;
}

/** Waits until the dashboard at `dash` reports group `gid`'s master on a host other than `notOn`. */
async function waitFailover(
  c: MultiHostCluster,
  dash: () => Promise<string>,
  gid: number,
  notOn: HostName,
  timeoutMs: number,
): Promise<string> {
  let master = '';
  await waitFor(
    `group ${gid} to fail over away from ${notOn}`,
    async () => {
      const g = (await c.dashboardGroups(await dash())).find((x) => x.id === gid);
      master = g?.servers[0]?.server ?? '';
      return master !== '' && c.hostOf(master) !== notOn;
    },
    timeoutMs,
    250,
  );
  return master;
}

async function finish(
  c: MultiHostCluster,
  w: RunningWorkload,
  faultAt: number,
  affected: (a: Ack) => boolean,
  verifyVia: HostName,
): Promise<{ acked: number; lost: Ack[]; unavailableMs: number; acks: Ack[] }> {
  const rec = await w.stop();
  const end = Date.now() - rec.startedAt;
  const { lost } = await verifyAcks(c.proxies.get(verifyVia)!.addr, rec.acks);
  return { acked: rec.acks.length, lost, unavailableMs: longestGap(rec.acks.filter(affected), faultAt, end), acks: rec.acks };
}

/** The kinds of client errors after `sinceMs` (first words of the message), with the first time and a count. */
function errorKinds(errors: RunningWorkload['record']['errors'], sinceMs: number): string {
  const kinds = new Map<string, { first: number; n: number }>();
  for (const e of errors) {
    if (e.atMs <= sinceMs) continue;
    const k = e.message.split(' ').slice(0, 3).join(' ');
    const cur = kinds.get(k);
    if (cur) cur.n++;
    else kinds.set(k, { first: e.atMs - sinceMs, n: 1 });
  }
  return [...kinds].map(([k, v]) => `"${k}" ${v.first} ms ×${v.n}`).join(', ') || 'none';
}

/** Waits until `n` writes of group `gid` were acknowledged after `sinceMs`. */
async function waitGroupWrites(w: RunningWorkload, gid: number, sinceMs: number, n: number, timeoutMs: number): Promise<number> {
  let first = -1;
  await waitFor(
    `${n} acknowledged writes to group ${gid}`,
    () => {
      const l = w.record.acks.filter((a) => a.atMs > sinceMs && groupOfKey(a.key) === gid);
      if (l.length > 0 && first < 0) first = l[0]!.atMs;
      return l.length >= n;
    },
    timeoutMs,
    100,
  );
  return first - sinceMs;
}

/**
 * Kill -9 every process on h3 (master of group 3, a replica of the others, a sentinel, a proxy, a
 * coordinator member). Expect: group 3 fails over; writes acknowledged more than `lagWindowMs` before
 * the kill all survive (only what async replication had not shipped yet may be lost).
 */
export async function killMasterHost(o: ScenarioOptions): Promise<ScenarioResult> {
  return withCluster(o, [], async (c) => {
    const w = startWorkload(c.net, 'clients', { proxies: proxyAddrs(c), pauseMs: 2 });
    await w.waitAcks(300);
    const faultAt = Date.now() - w.record.startedAt;
    o.log?.('kill -9 host h3');
    await c.net.killHost('h3');
    // With ZooKeeper the active dashboard may lose its lock too (its session was on h3's server).
    const newMaster = await waitFailover(c, () => currentDashboard(c), 3, 'h3', 60000);
    const firstWriteMs = await waitGroupWrites(w, 3, faultAt, 50, 60000);
    const r = await finish(c, w, faultAt, (a) => groupOfKey(a.key) === 3, 'h1');
    return {
      fault: "kill -9 a master's host",
      coordinator: o.coordinator,
      acked: r.acked,
      lost: r.lost,
      unavailableMs: r.unavailableMs,
      facts: {
        newMaster,
        firstGroupWriteAfterFaultMs: firstWriteMs,
        lostAckedBeforeFaultMs: Math.max(0, ...r.lost.map((a) => faultAt - a.atMs)),
      },
      notes: [],
    };
  });
}

/**
 * Isolate h1 (active dashboard, master of group 1, a proxy, a sentinel, a coordinator member) while a
 * slot migration (group 2 -> 3, throttled) is in flight. Expect: the h1 dashboard reports the lease
 * lost before the h2 standby becomes active; group 1 fails over; after healing the old dashboard
 * stays standby and the new one finishes the migration; no write acknowledged after the cut is lost.
 */
export async function isolateDashboardHost(o: ScenarioOptions): Promise<ScenarioResult> {
  return withCluster(o, ['--migration-parallel-slots', '2'], async (c) => {
    const w = startWorkload(c.net, 'clients', { proxies: proxyAddrs(c), pauseMs: 2 });
    await w.waitAcks(300);
    const h1 = c.dashboards.get('h1')!.addr;
    const h2 = c.dashboards.get('h2')!.addr;
    const put = async (path: string, addr: string): Promise<void> => {
      const r = await httpJson('PUT', addr, path.replace('{token}', c.token), { timeoutMs: 20000 });
      if (r.status !== 200) throw new Error(`${path}: ${replyError(r)}`);
    };
    // Group 2 owns slots 342..682; move 12 of them to group 3, 2 at a time, 300 ms apart, at full
    // speed otherwise (by default the executor yields to client traffic and would take minutes).
    const [beg, end] = [400, 411];
    await put('/api/topom/slots/action/interval/{token}/300000', h1);
    await put('/api/topom/slots/action/busy/{token}/100', h1);
    await put(`/api/topom/slots/action/create-range/{token}/${beg}/${end}/3`, h1);
    const store = await c.store();
    const slotState = async (): Promise<{ done: number; pending: number }> => {
      let done = 0;
      let pending = 0;
      for (let s = beg; s <= end; s++) {
        const raw = await store.read(slotPath(c.product, s));
        const m = raw ? (JSON.parse(raw.toString()) as { group_id: number; action?: { state?: string } }) : null;
        if (m && m.group_id === 3 && !m.action?.state) done++;
        else pending++;
      }
      return { done, pending };
    };
    let before = { done: 0, pending: 0 };
    await waitFor(
      'the migration to be under way',
      async () => {
        before = await slotState();
        return before.done >= 2;
      },
      60000,
      200,
    );
    const faultAt = Date.now() - w.record.startedAt;
    const cutWall = Date.now();
    o.log?.(`isolate host h1 (migration ${before.done}/${before.done + before.pending} slots done)`);
    await c.net.isolate('h1');
    await waitActiveDashboard(c, (a) => a === h2, 60000);
    const takeoverWall = Date.now();
    await waitFailover(c, async () => h2, 1, 'h1', 60000);
    await waitGroupWrites(w, 1, faultAt, 30, 60000);
    // A migration step needs every proxy's acknowledgement; the isolated proxy on h1 cannot give it
    // (and is not fenced out automatically: it may still serve clients on its side), so the
    // migration waits until the partition heals.
    // (The test's own coordinator session may have been on h1's member: retried until it moved.)
    let duringPartition = { done: 0, pending: 0 };
    await waitFor(
      'the slot states',
      async () => {
        duringPartition = await slotState();
        return true;
      },
      60000,
      300,
    );
    o.log?.(`heal (migration ${duringPartition.done}/${duringPartition.done + duringPartition.pending} slots done)`);
    await c.net.heal();
    await waitFor('the old dashboard to answer as standby', async () => (await dashboardHealth(h1)).status === 'standby', 30000, 200);
    await waitFor('the migration to finish under the new dashboard', async () => (await slotState()).pending === 0, 120000, 300);
    await w.waitAcks(200);
    const lostAt = logTimes(c, 'h1', /product lock lost/).filter((t) => t >= cutWall - 1000);
    const activeAt = logTimes(c, 'h2', /^active: holding the product lock/);
    const r = await finish(c, w, faultAt, (a) => groupOfKey(a.key) === 1, 'h2');
    const lostFirst = lostAt[0] ?? Number.NaN;
    const activeFirst = activeAt[0] ?? Number.NaN;
    return {
      fault: "isolate the active dashboard's host",
      coordinator: o.coordinator,
      acked: r.acked,
      lost: r.lost,
      unavailableMs: r.unavailableMs,
      facts: {
        oldLeaseLostAfterCutMs: lostFirst - cutWall,
        standbyActiveAfterCutMs: activeFirst - cutWall,
        stoppedBeforeTakeover: lostFirst < activeFirst,
        takeoverSeenByTestMs: takeoverWall - cutWall,
        migrationSlotsDoneAtCut: before.done,
        migrationSlotsDoneBeforeHeal: duringPartition.done,
        lostAckedAfterCut: r.lost.filter((a) => a.atMs > faultAt).length,
        lostAckedBeforeFaultMs: Math.max(0, ...r.lost.map((a) => faultAt - a.atMs)),
      },
      notes: [],
    };
  });
}

/** The dashboard flag value the layout runs with, or the default, in seconds. */
function maxLagSec(o: ScenarioOptions): number {
  const args = o.dashboardArgs ?? [];
  const i = args.lastIndexOf('--group-min-replicas-max-lag');
  const v = i >= 0 ? args[i + 1] : '3s';
  return Number(/^(\d+)s$/.exec(v ?? '')?.[1] ?? 3);
}

function minReplicasOff(o: ScenarioOptions): boolean {
  const args = o.dashboardArgs ?? [];
  const i = args.lastIndexOf('--group-min-replicas-to-write');
  return i >= 0 && args[i + 1] === '0';
}

/**
 * Partition h1 (master of group 1, the active dashboard, a proxy, a sentinel, a coordinator member)
 * together with the clients away from h2 and h3 (the majority, where the test process stays). The
 * clients can only write through h1's proxy, so group 1's old master keeps taking their writes until
 * min-replicas-to-write stops it; the majority promotes a replica. After healing, the old master
 * rejoins as a replica and whatever it acknowledged on the minority side is gone. Expect: every lost
 * write was acknowledged within min_replicas_max_lag + 1 s (+ slack) of the cut.
 */
export async function isolateMasterHost(o: ScenarioOptions): Promise<ScenarioResult> {
  return withCluster(o, [], async (c) => {
    const w = startWorkload(c.net, 'clients', { proxies: proxyAddrs(c, ['h1']), pauseMs: 2 });
    await w.waitAcks(300);
    const faultAt = Date.now() - w.record.startedAt;
    o.log?.('split {h1, clients} from {h2, h3}');
    await c.net.split(['h1', 'clients']);
    const h2 = c.dashboards.get('h2')!.addr;
    await waitActiveDashboard(c, (a) => a === h2, 60000);
    const newMaster = await waitFailover(c, async () => h2, 1, 'h1', 60000);
    const lag = maxLagSec(o);
    let refusedAtMs = -1;
    if (!minReplicasOff(o)) {
      await waitFor(
        'the minority master to refuse writes (NOREPLICAS)',
        () => {
          const e = w.record.errors.find((x) => x.atMs > faultAt && /NOREPLICAS/.test(x.message));
          if (e) refusedAtMs = e.atMs - faultAt;
          return e !== undefined;
        },
        60000,
        100,
      );
    }
    // Let the minority side run a while longer (a few more seconds of attempts) before healing.
    const hold = Date.now() - w.record.startedAt + (lag + 3) * 1000;
    await waitFor('the partition to have lasted max-lag + 3 s', () => Date.now() - w.record.startedAt >= hold, 60000, 100);
    const minorityAcks = w.record.acks.filter((a) => a.atMs > faultAt && groupOfKey(a.key) === 1);
    const lastMinorityAckMs = minorityAcks.length ? minorityAcks.at(-1)!.atMs - faultAt : 0;
    o.log?.('heal');
    const healAt = Date.now() - w.record.startedAt;
    await c.net.heal();
    const old = c.groups[0]!.master.addr;
    await waitFor(
      `the old master ${old} to rejoin as a replica`,
      async () => {
        const { rawCommand } = await import('../../../src/util/redis-server.js');
        const [host, port] = [old.slice(0, old.lastIndexOf(':')), Number(old.slice(old.lastIndexOf(':') + 1))];
        return /role:slave/.test(await rawCommand(host, port, 'INFO replication'));
      },
      60000,
      250,
    );
    await waitGroupWrites(w, 1, healAt, 30, 60000);
    const r = await finish(c, w, faultAt, (a) => groupOfKey(a.key) === 1, 'h2');
    const lostAfterCut = r.lost.filter((a) => a.atMs > faultAt);
    return {
      fault: "partition a master's host (+ clients) from the majority",
      coordinator: o.coordinator,
      acked: r.acked,
      lost: r.lost,
      unavailableMs: r.unavailableMs,
      facts: {
        minReplicasToWrite: minReplicasOff(o) ? 0 : 1,
        maxLagSec: lag,
        newMaster,
        minorityRefusedAfterMs: refusedAtMs,
        lastMinorityAckAfterCutMs: lastMinorityAckMs,
        minorityAcksOfGroup1: minorityAcks.length,
        lostAckedAfterCut: lostAfterCut.length,
        lostLatestAfterCutMs: Math.max(0, ...lostAfterCut.map((a) => a.atMs - faultAt)),
        boundMs: (lag + 1) * 1000,
        lostAckedBeforeCut: r.lost.length - lostAfterCut.length,
        lostAckedBeforeFaultMs: Math.max(0, ...r.lost.map((a) => faultAt - a.atMs)),
      },
      notes: [`client errors after the cut (first time in ms, count): ${errorKinds(w.record.errors, faultAt)}`],
    };
  });
}

/**
 * kill -9 the coordinator members on h2 and h3 (quorum lost; h1's member stays up). Expect: proxies
 * keep serving with their last tables; both dashboards stop acting and say why (/health 503 with a
 * reason; a mutation is refused); after the members restart a dashboard is active again and a
 * mutation succeeds.
 */
export async function loseCoordinatorQuorum(o: ScenarioOptions): Promise<ScenarioResult> {
  return withCluster(o, [], async (c) => {
    const w = startWorkload(c.net, 'clients', { proxies: proxyAddrs(c), pauseMs: 2 });
    await w.waitAcks(300);
    const h1 = await currentDashboard(c);
    const faultAt = Date.now() - w.record.startedAt;
    o.log?.(`kill -9 the coordinator members on h2 and h3 (active dashboard ${h1})`);
    await Promise.all(['h2', 'h3'].map((h) => c.coordinatorMembers.get(h as HostName)!.kill9()));
    let reason = '';
    await waitFor(
      'the active dashboard to stop acting',
      async () => {
        const hl = await dashboardHealth(h1).catch(() => ({ status: 'unreachable', reason: '' }));
        reason = hl.reason ?? '';
        return hl.status === 'standby';
      },
      60000,
      200,
    );
    const stoppedAfterMs = Date.now() - w.record.startedAt - faultAt;
    const refused = await httpJson('PUT', h1, `/api/topom/group/create/${c.token}/4`, { timeoutMs: 10000 });
    await w.waitAcks(500, 60000); // proxies keep serving with their last tables
    const gapDuring = longestGap(w.record.acks, faultAt, Date.now() - w.record.startedAt);
    o.log?.('restart the coordinator members');
    await Promise.all(['h2', 'h3'].map((h) => c.coordinatorMembers.get(h as HostName)!.restart()));
    await waitActiveDashboard(c, (a) => a !== null, 90000);
    let mutated = false;
    let lastRefusal = '';
    await waitFor(
      'a mutation to succeed again',
      async () => {
        // Ask whichever dashboard holds the lock now (the lock node of the one that lost it can linger
        // for a session timeout after the quorum is back).
        const r = await httpJson('PUT', await currentDashboard(c), `/api/topom/group/create/${c.token}/4`, { timeoutMs: 10000 });
        lastRefusal = r.status === 200 ? '' : `${r.status} ${replyError(r)}`;
        // A create whose reply was lost may have been applied: "already exists" is a success too.
        mutated = r.status === 200 || /exist/i.test(lastRefusal);
        return mutated;
      },
      90000,
      500,
    ).catch((e: Error) => {
      throw new Error(`${e.message} (last answer: ${lastRefusal})`);
    });
    const resumedAfterMs = Date.now() - w.record.startedAt - faultAt;
    await w.waitAcks(200);
    const r = await finish(c, w, faultAt, () => true, 'h1');
    return {
      fault: 'lose coordinator quorum (2 of 3 members killed, then restarted)',
      coordinator: o.coordinator,
      acked: r.acked,
      lost: r.lost,
      unavailableMs: r.unavailableMs,
      facts: {
        dashboardStoppedAfterMs: stoppedAfterMs,
        standbyReason: reason.slice(0, 160),
        mutationRefusedStatus: refused.status,
        longestAckGapWithoutQuorumMs: gapDuring,
        mutationSucceededAgain: mutated,
        resumedAfterMs,
      },
      notes: [],
    };
  });
}

/**
 * Isolate h3 (its proxy, and also group 3's master, a sentinel and a coordinator member). The clients
 * use a list of all proxies and move on when theirs stops answering (what a discovery client does; no
 * front door here). Expect: the worker that used h3's proxy acknowledges writes to the other groups
 * again within its timeout plus a reconnect; group 3 after its failover.
 */
export async function isolateProxyHost(o: ScenarioOptions): Promise<ScenarioResult> {
  return withCluster(o, [], async (c) => {
    const proxies = proxyAddrs(c, ['h1', 'h2', 'h3']);
    const w = startWorkload(c.net, 'clients', { proxies, workers: 3, pauseMs: 2 });
    await w.waitAcks(300);
    const faultAt = Date.now() - w.record.startedAt;
    o.log?.('isolate host h3');
    await c.net.isolate('h3');
    // Worker 2 started on proxies[2], h3's proxy.
    const moved = (a: Ack): boolean => a.key.startsWith('w:2:') && a.atMs > faultAt && groupOfKey(a.key) !== 3;
    await waitFor("the client on h3's proxy to write through another proxy", () => w.record.acks.some(moved), 60000, 100);
    const movedAfterMs = w.record.acks.find(moved)!.atMs - faultAt;
    await waitFailover(c, () => currentDashboard(c), 3, 'h3', 60000);
    await waitGroupWrites(w, 3, faultAt, 30, 60000);
    o.log?.('heal');
    await c.net.heal();
    await w.waitAcks(200);
    const r = await finish(c, w, faultAt, (a) => groupOfKey(a.key) === 3, 'h1');
    return {
      fault: "isolate a proxy's host",
      coordinator: o.coordinator,
      acked: r.acked,
      lost: r.lost,
      unavailableMs: r.unavailableMs,
      facts: {
        clientMovedAfterMs: movedAfterMs,
        lostAckedBeforeFaultMs: Math.max(0, ...r.lost.map((a) => faultAt - a.atMs)),
        lostAckedAfterCut: r.lost.filter((a) => a.atMs > faultAt).length,
      },
      notes: [
        'clients pick proxies from a list and move on a timeout (1.5 s); the HAProxy front door / discovery client of another branch would do the same for unmodified clients',
      ],
    };
  });
}

interface GroupSafety {
  degraded?: boolean;
  applied?: number;
  reason?: string;
}

async function groupSafety(addr: string, gid: number, token: string): Promise<GroupSafety | undefined> {
  const r = await httpJson('GET', addr, `/api/topom/stats/${token}`, { timeoutMs: 3000 });
  return (r.json as { write_safety?: { groups?: Record<string, GroupSafety> } }).write_safety?.groups?.[String(gid)];
}

/**
 * One replica per group; isolate h2 (group 1's only replica, group 2's master, a proxy, a sentinel, a
 * coordinator member). Group 1's master on h1 still counts the cut-off replica as connected (until
 * repl-timeout, 60 s) and refuses writes after max-lag + 1 s; the dashboard (h1, majority side) sees a
 * sentinel majority reach that master and lowers min-replicas-to-write (degraded), so group 1 takes
 * writes again; after healing the replica follows again and the setting is restored. Expect: no
 * acknowledged write of group 1 lost; group 1's gap far below repl-timeout.
 */
export async function isolateReplicaHost(o: ScenarioOptions): Promise<ScenarioResult> {
  return withCluster({ ...o, replicas: 1 }, [], async (c) => {
    const w = startWorkload(c.net, 'clients', { proxies: proxyAddrs(c), workers: 3, pauseMs: 2 });
    await w.waitAcks(300);
    const dash = await currentDashboard(c);
    await waitFor(
      'group 1 to run with min-replicas-to-write 1',
      async () => (await groupSafety(dash, 1, c.token))?.applied === 1,
      30000,
      200,
    );
    const faultAt = Date.now() - w.record.startedAt;
    const cutWall = Date.now();
    o.log?.("isolate host h2 (group 1's only replica)");
    await c.net.isolate('h2');
    let reason = '';
    await waitFor(
      'group 1 to be degraded (relaxed on the sentinel majority)',
      async () => {
        const g = await groupSafety(await currentDashboard(c), 1, c.token).catch(() => undefined);
        reason = g?.reason ?? '';
        return g?.degraded === true && g.applied === 0;
      },
      60000,
      200,
    );
    const degradedAfterMs = Date.now() - cutWall;
    await waitGroupWrites(w, 1, Date.now() - w.record.startedAt, 30, 60000);
    o.log?.('heal');
    await c.net.heal();
    const healWall = Date.now();
    await waitFor(
      'group 1 to be restored after healing',
      async () => {
        const g = await groupSafety(await currentDashboard(c), 1, c.token).catch(() => undefined);
        return g?.degraded === false && g.applied === 1;
      },
      90000,
      250,
    );
    const restoredAfterHealMs = Date.now() - healWall;
    await w.waitAcks(200);
    const r = await finish(c, w, faultAt, (a) => groupOfKey(a.key) === 1, 'h1');
    const noreplicas = w.record.errors.filter((e) => e.atMs > faultAt && /NOREPLICAS/.test(e.message)).length;
    return {
      fault: "isolate a host holding a group's only replica",
      coordinator: o.coordinator,
      acked: r.acked,
      lost: r.lost,
      unavailableMs: r.unavailableMs,
      facts: {
        degradedAfterCutMs: degradedAfterMs,
        reason: reason.slice(0, 90),
        noreplicasErrors: noreplicas,
        restoredAfterHealMs,
        lostAckedOfGroup1: r.lost.filter((a) => groupOfKey(a.key) === 1).length,
        lostAckedAfterCut: r.lost.filter((a) => a.atMs > faultAt).length,
      },
      notes: [],
    };
  });
}
