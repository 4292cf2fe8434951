// Proxy counters: operations, errors, per-command calls/latency (with fixed histogram buckets, cheap
// to update on the hot path), sessions. Read by INFO, the admin API and /metrics.
import { LatencyMonitor } from './latency-monitor.js';
import { SlowLog } from './slowlog.js';

/** Length of StatsSnapshot.slotOps: one counter per slot. */
const SLOT_OPS_LEN = 1024;

export const LATENCY_BUCKETS_US = [100, 250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 1000000];

export class CommandStats {
  calls = 0;
  usecs = 0;
  errors = 0;
  /** buckets[i] counts latencies <= LATENCY_BUCKETS_US[i]; the last slot is +Inf. */
  readonly buckets = new Float64Array(LATENCY_BUCKETS_US.length + 1);
  constructor(readonly name: string) {}

  record(us: number, isError: boolean): void {
    this.calls++;
    this.usecs += us;
    if (isError) this.errors++;
    let i = 0;
    while (i < LATENCY_BUCKETS_US.length && us > (LATENCY_BUCKETS_US[i] ?? Infinity)) i++;
    this.buckets[i] = (this.buckets[i] ?? 0) + 1; // i <= LATENCY_BUCKETS_US.length: always a bucket
  }
}

export class ProxyStats {
  readonly startTime = Date.now();
  readonly slowlog: SlowLog;
  /** LATENCY LATEST/HISTORY/RESET/DOCTOR: the event "command" (latency-monitor.ts). */
  readonly latency = new LatencyMonitor();
  constructor(slowlogMaxLen = 128) {
    this.slowlog = new SlowLog(slowlogMaxLen);
  }
  opsTotal = 0;
  opsErrors = 0;
  sessionsTotal = 0;
  sessionsAlive = 0;
  protocolErrors = 0;
  rejectedConnections = 0;
  netInputBytes = 0;
  /** TLS handshakes that failed (bad or missing client certificate, wrong protocol, ...). */
  tlsHandshakeErrors = 0;
  /** Clients disconnected for exceeding session_max_querybuf. */
  queryBufferOverflows = 0;
  /** Requests refused with NOPERM (ACL). */
  aclDenied = 0;
  /**
   * Requests routed to each slot (incremented by the dispatcher where a request goes to its slot;
   * each key of a split command counts one). Float64: exact far beyond 2^32, no wrap-around.
   */
  readonly slotOps = new Float64Array(SLOT_OPS_LEN);
  readonly commands = new Map<string, CommandStats>();

  command(name: string): CommandStats {
    let c = this.commands.get(name);
    if (c === undefined) {
      c = new CommandStats(name);
      this.commands.set(name, c);
    }
    return c;
  }

  reset(): void {
    this.opsTotal = 0;
    this.opsErrors = 0;
    this.protocolErrors = 0;
    this.rejectedConnections = 0;
    this.netInputBytes = 0;
    this.commands.clear();
    this.slotOps.fill(0);
  }
}

/** A plain-data copy of the counters, mergeable across worker processes. */
export interface StatsSnapshot {
  startTime: number;
  opsTotal: number;
  opsErrors: number;
  sessionsTotal: number;
  sessionsAlive: number;
  protocolErrors: number;
  rejectedConnections: number;
  commands: Array<{ name: string; calls: number; usecs: number; errors: number; buckets: number[] }>;
  backends: Array<{ addr: string; db: number; proto: number; state: string; inflight: number; sent: number; lastError: string }>;
  rss: number;
  /** Requests on migrating slots: key-move script calls, keys moved, requests run in place on the source, waits, errors. */
  migration: MigrationCounters;
  /** Requests routed to each of the 1024 slots since start (cumulative; keys of split commands count one each). */
  slotOps: number[];
}

export interface MigrationCounters {
  calls: number;
  keysMoved: number;
  inPlace: number;
  waits: number;
  errors: number;
}

export function snapshotOf(s: ProxyStats, backends: StatsSnapshot['backends'], migration: MigrationCounters): StatsSnapshot {
  return {
    startTime: s.startTime,
    opsTotal: s.opsTotal,
    opsErrors: s.opsErrors,
    sessionsTotal: s.sessionsTotal,
    sessionsAlive: s.sessionsAlive,
    protocolErrors: s.protocolErrors,
    rejectedConnections: s.rejectedConnections,
    commands: [...s.commands.values()].map((c) => ({
      name: c.name,
      calls: c.calls,
      usecs: c.usecs,
      errors: c.errors,
      buckets: [...c.buckets],
    })),
    backends,
    rss: process.memoryUsage().rss,
    migration: { ...migration },
    slotOps: Array.from(s.slotOps),
  };
}

export function mergeSnapshots(list: StatsSnapshot[]): StatsSnapshot {
  const cmds = new Map<string, StatsSnapshot['commands'][number]>();
  const out: StatsSnapshot = {
    startTime: Math.min(...list.map((x) => x.startTime)),
    opsTotal: 0,
    opsErrors: 0,
    sessionsTotal: 0,
    sessionsAlive: 0,
    protocolErrors: 0,
    rejectedConnections: 0,
    commands: [],
    backends: [],
    rss: 0,
    migration: { calls: 0, keysMoved: 0, inPlace: 0, waits: 0, errors: 0 },
    slotOps: new Array<number>(SLOT_OPS_LEN).fill(0),
  };
  for (const s of list) {
    out.opsTotal += s.opsTotal;
    out.opsErrors += s.opsErrors;
    out.sessionsTotal += s.sessionsTotal;
    out.sessionsAlive += s.sessionsAlive;
    out.protocolErrors += s.protocolErrors;
    out.rejectedConnections += s.rejectedConnections;
    out.rss += s.rss;
    out.backends.push(...s.backends);
    for (const k of Object.keys(out.migration) as Array<keyof MigrationCounters>) out.migration[k] += s.migration[k];
    for (let i = 0; i < SLOT_OPS_LEN; i++) out.slotOps[i] = (out.slotOps[i] ?? 0) + (s.slotOps[i] ?? 0);
    for (const c of s.commands) {
      const cur = cmds.get(c.name);
      if (!cur) cmds.set(c.name, { ...c, buckets: [...c.buckets] });
      else {
        cur.calls += c.calls;
        cur.usecs += c.usecs;
        cur.errors += c.errors;
        c.buckets.forEach((b, i) => {
          cur.buckets[i] = (cur.buckets[i] ?? 0) + b;
        });
      }
    }
  }
  out.commands = [...cmds.values()].sort((a, b) => a.name.localeCompare(b.name));
  return out;
}
