// Reads the dashboard's stats JSON (Codis Stats + Shardis fields) into the typed view the panels
// render. Every field is read defensively: a missing or differently shaped field gives an empty
// value, never an exception, so the page survives dashboards of other versions.

type Obj = Record<string, unknown>;
export const obj = (v: unknown): Obj => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});
export const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
export const num = (v: unknown): number | undefined => {
  if (typeof v === 'number' && Number.isFinite(v)) return v;
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  return undefined;
};
export const str = (v: unknown): string => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '');

export interface ServerView {
  addr: string;
  datacenter: string;
  replicaGroup: boolean;
  actionState: string;
  actionIndex: number | undefined;
  isMaster: boolean;
  /** INFO role as the server reports it ('' unknown). */
  role: string;
  linkStatus: string;
  /** The master this server replicates from (replicas), as it reports it. */
  replicatesFrom: string;
  linkDownSeconds: number | undefined;
  /** Replicas: bytes of the master's replication stream not yet applied (master_repl_offset − slave_repl_offset). */
  lagBytes: number | undefined;
  usedMemory: number | undefined;
  maxMemory: number | undefined;
  keys: Array<{ db: string; keys: number }>;
  error: string;
  /** Something is wrong with replication for this server (wrong master, link down, master role on a replica). */
  replicationProblem: string;
}

export interface GroupView {
  id: number;
  servers: ServerView[];
  master: string;
  promoting: string;
  outOfSync: boolean;
  slots: number;
  /** The master the sentinels' majority names, when it differs from the group's. */
  sentinelMismatch: string;
}

export interface ProxyView {
  id: number;
  token: string;
  proxyAddr: string;
  adminAddr: string;
  datacenter: string;
  error: string;
  opsPerSec: number;
  opsTotal: number;
  fails: number;
  sessionsAlive: number;
  sessionsTotal: number;
  backends: Array<[string, number]>;
  needsResync: boolean;
  lastPushError: string;
  online: boolean;
  primaryOnly: boolean | undefined;
}

export interface SlotView {
  id: number;
  gid: number;
  state: string;
  target: number;
  index: number | undefined;
}

export interface ActionView {
  disabled: boolean;
  intervalUs: number;
  busyPercent: number;
  busyNow: number | undefined;
  status: string;
  state: string;
  done: number;
  total: number;
  pending: number;
  inProgress: number;
  keysMoved: number;
  keysPerSec: number;
  errors: number;
  lastError: string;
  waitingFor: string;
  elapsedMs: number;
}

export interface SentinelView {
  servers: string[];
  outOfSync: boolean;
  perServer: Map<string, { error: string; masters: number; down: number }>;
  masters: Map<number, string>;
  disagreements: string[];
}

export interface Cluster {
  closed: boolean;
  groups: GroupView[];
  proxies: ProxyView[];
  slots: SlotView[];
  action: ActionView;
  sentinels: SentinelView;
  totals: {
    groups: number;
    servers: number;
    serversUp: number;
    proxies: number;
    proxiesUp: number;
    opsPerSec: number;
    sessions: number;
    memory: number;
    keys: number;
    slotsAssigned: number;
    slotsMigrating: number;
    slotsOffline: number;
  };
}

function keysOf(s: Obj): Array<{ db: string; keys: number }> {
  const out: Array<{ db: string; keys: number }> = [];
  for (const [db, k] of Object.entries(obj(s.dbs))) {
    const n = num(k);
    if (n !== undefined) out.push({ db, keys: n });
  }
  return out.sort((a, b) => Number(a.db) - Number(b.db));
}

export function parseCluster(stats: unknown): Cluster {
  const s = obj(stats);
  const group = obj(s.group);
  const sstats = obj(group.stats);
  const slotCounts = obj(s.slot_counts);
  const sent = obj(s.sentinels);
  const sentMasters = new Map<number, string>();
  for (const [g, a] of Object.entries(obj(sent.masters))) sentMasters.set(Number(g), str(a));

  const groups: GroupView[] = [];
  let servers = 0;
  let serversUp = 0;
  let memory = 0;
  let keys = 0;
  for (const g of arr(group.models)) {
    const go = obj(g);
    const id = num(go.id) ?? 0;
    const list = arr(go.servers).map(obj);
    const master = str(list[0]?.server);
    const masterOffset = num(obj(obj(sstats[master]).stats).master_repl_offset);
    const views: ServerView[] = list.map((sv, i) => {
      const addr = str(sv.server);
      const st = obj(sstats[addr]);
      const info = obj(st.stats);
      const error = str(st.error) || (st.timeout === true ? 'timeout' : '');
      const role = str(info.role);
      const replicatesFrom = str(info.master_addr);
      const linkStatus = str(info.master_link_status);
      let problem = '';
      if (!error && role) {
        if (i === 0 && role !== 'master') problem = `expected master, but it replicates from ${replicatesFrom || '?'}`;
        else if (i > 0 && role === 'master') problem = 'expected replica of ' + master + ', but it is a master';
        else if (i > 0 && replicatesFrom && replicatesFrom !== master)
          problem = `replicates from ${replicatesFrom}, not the group master ${master}`;
        else if (i > 0 && linkStatus && linkStatus !== 'up') problem = `replication link ${linkStatus}`;
      }
      servers++;
      if (!error && Object.keys(info).length > 0) serversUp++;
      const ks = keysOf(st);
      if (i === 0) {
        memory += num(info.used_memory) ?? 0;
        keys += ks.reduce((a, b) => a + b.keys, 0);
      }
      const action = obj(sv.action);
      return {
        addr,
        datacenter: str(sv.datacenter),
        replicaGroup: sv.replica_group === true,
        actionState: str(action.state),
        actionIndex: num(action.index),
        isMaster: i === 0,
        role,
        linkStatus,
        replicatesFrom,
        linkDownSeconds: num(info.master_link_down_since_seconds),
        lagBytes:
          i > 0 && masterOffset !== undefined && num(info.slave_repl_offset) !== undefined
            ? Math.max(0, masterOffset - num(info.slave_repl_offset)!)
            : undefined,
        usedMemory: num(info.used_memory),
        maxMemory: num(info.maxmemory),
        keys: ks,
        error,
        replicationProblem: problem,
      };
    });
    const sm = sentMasters.get(id);
    groups.push({
      id,
      servers: views,
      master,
      promoting: str(obj(go.promoting).state),
      outOfSync: go.out_of_sync === true,
      slots: num(slotCounts[String(id)]) ?? 0,
      sentinelMismatch: sm && master && sm !== master ? sm : '',
    });
  }
  groups.sort((a, b) => a.id - b.id);

  const proxy = obj(s.proxy);
  const pstats = obj(proxy.stats);
  let proxiesUp = 0;
  let opsPerSec = 0;
  let sessions = 0;
  const proxies: ProxyView[] = arr(proxy.models)
    .map(obj)
    .map((p) => {
      const token = str(p.token);
      const r = obj(pstats[token]);
      const ps = obj(r.stats);
      const error = str(r.error) || (r.timeout === true ? 'timeout' : '');
      const ops = obj(ps.ops);
      const sess = obj(ps.sessions);
      const byState = new Map<string, number>();
      for (const b of arr(ps.backends)) {
        const st = str(obj(b).state) || '?';
        byState.set(st, (byState.get(st) ?? 0) + 1);
      }
      const view: ProxyView = {
        id: num(p.id) ?? 0,
        token,
        proxyAddr: str(p.proxy_addr),
        adminAddr: str(p.admin_addr),
        datacenter: str(p.datacenter),
        error,
        opsPerSec: num(r.ops_per_sec) ?? num(ops.qps) ?? 0,
        opsTotal: num(ops.total) ?? 0,
        fails: num(ops.fails) ?? 0,
        sessionsAlive: num(sess.alive) ?? 0,
        sessionsTotal: num(sess.total) ?? 0,
        backends: [...byState.entries()].sort(),
        needsResync: r.needs_resync === true,
        lastPushError: str(obj(r.last_push).error),
        online: ps.online !== false && !error && Object.keys(ps).length > 0,
        primaryOnly: typeof ps.primary_only === 'boolean' ? ps.primary_only : undefined,
      };
      if (!error && Object.keys(ps).length > 0) proxiesUp++;
      opsPerSec += view.opsPerSec;
      sessions += view.sessionsAlive;
      return view;
    })
    .sort((a, b) => a.id - b.id);

  let slotsAssigned = 0;
  let slotsMigrating = 0;
  const slots: SlotView[] = arr(s.slots)
    .map(obj)
    .map((m, i) => {
      const a = obj(m.action);
      const v = { id: num(m.id) ?? i, gid: num(m.group_id) ?? 0, state: str(a.state), target: num(a.target_id) ?? 0, index: num(a.index) };
      if (v.gid) slotsAssigned++;
      if (v.state) slotsMigrating++;
      return v;
    });

  const sa = obj(s.slot_action);
  const pr = obj(sa.progress);
  const action: ActionView = {
    disabled: sa.disabled === true,
    intervalUs: num(sa.interval) ?? 0,
    busyPercent: num(sa.busy_percent) ?? 100,
    busyNow: num(sa.busy_percent_now),
    status: str(pr.status),
    state: str(pr.state),
    done: num(pr.slots_done) ?? 0,
    total: num(pr.slots_total) ?? 0,
    pending: num(pr.slots_pending) ?? 0,
    inProgress: num(pr.slots_in_progress) ?? 0,
    keysMoved: num(pr.keys_moved) ?? 0,
    keysPerSec: num(pr.keys_per_sec) ?? 0,
    errors: num(pr.errors) ?? 0,
    lastError: str(pr.last_error),
    waitingFor: str(pr.waiting_for),
    elapsedMs: num(pr.elapsed_ms) ?? 0,
  };

  const perServer = new Map<string, { error: string; masters: number; down: number }>();
  const sstat = obj(sent.stats);
  const model = obj(sent.model);
  const sentServers = arr(model.servers).map(str).filter(Boolean);
  for (const addr of sentServers) {
    const st = obj(sstat[addr]);
    const masters = Object.values(obj(st.masters)).map(obj);
    perServer.set(addr, { error: str(st.error), masters: masters.length, down: masters.filter((m) => /down/.test(str(m.flags))).length });
  }

  return {
    closed: s.closed === true,
    groups,
    proxies,
    slots,
    action,
    sentinels: {
      servers: sentServers,
      outOfSync: model.out_of_sync === true,
      perServer,
      masters: sentMasters,
      disagreements: arr(sent.disagreements).map(str),
    },
    totals: {
      groups: groups.length,
      servers,
      serversUp,
      proxies: proxies.length,
      proxiesUp,
      opsPerSec: Math.round(opsPerSec),
      sessions,
      memory,
      keys,
      slotsAssigned,
      slotsMigrating,
      slotsOffline: slots.length - slotsAssigned,
    },
  };
}

export function fmtBytes(n: number | undefined): string {
  if (n === undefined) return '?';
  const u = ['B', 'KB', 'MB', 'GB', 'TB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < u.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v < 10 && i > 0 ? v.toFixed(1) : Math.round(v)} ${u[i]}`;
}

export function fmtNum(n: number): string {
  return n.toLocaleString('en-US');
}

/** A distinct, readable colour per group id (golden-angle hues). */
export function groupColor(gid: number): string {
  if (gid <= 0) return '#9aa0a6';
  return `hsl(${(gid * 137.508) % 360} 62% 48%)`;
}
