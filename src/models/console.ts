// What the web console receives from the dashboard besides the Codis stats: ops/s and p99 samples of
// the last 15 minutes, the event history (failovers, promotions, migrations, membership changes) and
// per-slot request rates. Pure types, shared by the dashboard (src/dashboard/console-*.ts) and the
// page (src/ui/).

/** One point of the overview charts. */
export interface ConsoleSample {
  /** Unix time in ms. */
  t: number;
  /** Client requests per second over all proxies. */
  ops: number;
  /** p99 latency over all proxies and commands in the last window, in µs (bucket upper bound); null = no requests / unknown. */
  p99_us: number | null;
}

export type ConsoleEventKind =
  'failover' | 'switch-master' | 'promotion' | 'migration' | 'group' | 'server' | 'proxy' | 'sentinel' | 'dashboard';

export interface ConsoleEvent {
  /** Increasing within one dashboard process. */
  id: number;
  /** Unix time in ms. */
  t: number;
  kind: ConsoleEventKind;
  /** What happened, in one line. */
  text: string;
  /** The group concerned, if any. */
  gid?: number;
}

/** One message of `GET /api/topom/console/live/:token` (server-sent events) or `/console/snapshot/:token`. */
export interface ConsoleLive {
  product: string;
  /** Unix time in ms on the dashboard. */
  t: number;
  /** True when the caller gave the admin token; false in read-only viewing. */
  authed: boolean;
  /** Set while the dashboard is standby (no stats then). */
  standby?: string;
  /** Who answers: the dashboard's address, its coordinator and version. */
  dashboard?: { addr: string; coordinator: string; version: string };
  /** The dashboard's `/api/topom/stats` (Codis Stats + Shardis fields). */
  stats?: unknown;
  /** The full 15 minutes on the first message, then only the new samples. */
  samples: ConsoleSample[];
  /** All kept events on the first message, then only the new ones. */
  events: ConsoleEvent[];
  /** Requests/s per slot (1024 entries) summed over the proxies that report per-slot counters; null = none does. */
  slot_ops: number[] | null;
  /** True on the first message of a stream (samples and events are complete). */
  full: boolean;
}

/** `GET /api/topom/console/info` (no token). */
export interface ConsoleInfo {
  product: string;
  version: string;
  /** The dashboard lets the console show data without the admin token (`console_read_only`). */
  read_only: boolean;
  active: boolean;
}
