// The proxy's latency monitor, answered by LATENCY LATEST / HISTORY / RESET / DOCTOR in Redis 7.0's
// reply shapes. One event, "command": a client command whose time at the proxy (parse to reply ready,
// backend time included) reached the slow-log threshold (slowlog_log_slower_than, which CONFIG GET
// shows as latency-monitor-threshold in ms). As Redis: one sample per second (the highest), the last
// 160 samples kept, plus the all-time maximum. The backends keep their own monitors.

const MAX_SAMPLES = 160;

/** The monitor's threshold in ms (0 = disabled, as in Redis): the slow-log threshold in µs, rounded up to whole ms. */
export const latencyThresholdMs = (slowerThanUs: number): number => (slowerThanUs < 0 ? 0 : Math.max(1, Math.ceil(slowerThanUs / 1000)));

interface Sample {
  /** Unix time, seconds. */
  time: number;
  ms: number;
}

interface Series {
  samples: Sample[];
  max: number;
}

export class LatencyMonitor {
  private readonly events = new Map<string, Series>();

  /** Records `ms` for `event` at `now` (Unix seconds). */
  add(event: string, ms: number, now = Math.floor(Date.now() / 1000)): void {
    let s = this.events.get(event);
    if (s === undefined) {
      s = { samples: [], max: 0 };
      this.events.set(event, s);
    }
    const v = Math.round(ms);
    const last = s.samples.at(-1);
    if (last !== undefined && last.time === now) last.ms = Math.max(last.ms, v);
    else {
      s.samples.push({ time: now, ms: v });
      if (s.samples.length > MAX_SAMPLES) s.samples.shift();
    }
    s.max = Math.max(s.max, v);
  }

  /** LATENCY LATEST: [event, time of the latest sample, its latency, the maximum] per event. */
  latest(): Array<[string, number, number, number]> {
    const out: Array<[string, number, number, number]> = [];
    for (const [name, s] of this.events) {
      const l = s.samples.at(-1);
      if (l !== undefined) out.push([name, l.time, l.ms, s.max]);
    }
    return out;
  }

  /** LATENCY HISTORY event: [time, latency] per sample, oldest first. */
  history(event: string): Array<[number, number]> {
    return (this.events.get(event)?.samples ?? []).map((x) => [x.time, x.ms]);
  }

  /** LATENCY RESET [event ...]: drops those events (all when none named); returns how many existed. */
  reset(events: string[]): number {
    if (events.length === 0) {
      const n = this.events.size;
      this.events.clear();
      return n;
    }
    let n = 0;
    for (const e of new Set(events)) if (this.events.delete(e)) n++;
    return n;
  }

  /** Per event: sample count, average and maximum (LATENCY DOCTOR). */
  summary(): Array<{ event: string; samples: number; avg: number; max: number; latest: Sample }> {
    const out = [];
    for (const [event, s] of this.events) {
      const latest = s.samples.at(-1);
      if (latest === undefined) continue;
      const avg = s.samples.reduce((a, x) => a + x.ms, 0) / s.samples.length;
      out.push({ event, samples: s.samples.length, avg, max: s.max, latest });
    }
    return out;
  }
}
