// CLIENT PAUSE / CLIENT UNPAUSE at the proxy: pauses this proxy's client sessions (not other proxies,
// not the backends, whose other clients go on). As Redis 7.0 does for its clients: with ALL every
// command waits until the pause ends; with WRITE only commands that may write — the `write` flag, and
// PUBLISH, SPUBLISH, EVAL, EVALSHA, FCALL, PFCOUNT and EXEC (Redis's "may replicate") — while reads go
// on. A later pause extends the end time and can widen WRITE to ALL; UNPAUSE ends it. A paused request
// is held in its session (later requests of the session wait behind it, in order) and dispatched when
// the pause ends.
import type { CommandSpec } from '../commands/keys.js';

const MAX_TIMER_MS = 2 ** 31 - 1;
const MAY_REPLICATE: ReadonlySet<string> = new Set(['publish', 'spublish', 'eval', 'evalsha', 'fcall', 'pfcount', 'exec']);

export class ClientPause {
  /** End of the pause (ms since epoch); 0 = not paused. */
  until = 0;
  all = false;
  private readonly waiters = new Set<() => void>();
  private timer: NodeJS.Timeout | null = null;

  /** Pauses for `ms` from now (ALL when `all`, else WRITE). */
  pause(ms: number, all: boolean): void {
    const now = Date.now();
    if (this.until <= now) {
      this.until = now + ms;
      this.all = all;
    } else {
      this.until = Math.max(this.until, now + ms);
      this.all ||= all;
    }
    this.arm();
  }

  /** Ends the pause at `until` (in steps: a Node timer cannot wait more than 2^31-1 ms). */
  private arm(): void {
    if (this.timer) clearTimeout(this.timer);
    const left = this.until - Date.now();
    this.timer = setTimeout(() => (Date.now() >= this.until ? this.unpause() : this.arm()), Math.min(MAX_TIMER_MS, Math.max(0, left)));
    this.timer.unref();
  }

  unpause(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.until = 0;
    this.all = false;
    const w = [...this.waiters];
    this.waiters.clear();
    for (const f of w) f();
  }

  /** True when `spec` must wait for the end of the current pause. */
  holds(spec: CommandSpec): boolean {
    if (this.until === 0) return false;
    if (Date.now() >= this.until) {
      this.unpause();
      return false;
    }
    return this.all || spec.flags.has('write') || MAY_REPLICATE.has(spec.name);
  }

  /** Resolves when the pause ends (UNPAUSE or its end time). */
  wait(): Promise<void> {
    if (this.until === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.add(resolve));
  }

  close(): void {
    this.unpause();
  }
}
