// Which members of a multi-member etcd cluster the client should use. A member cut off by a network
// partition does not refuse connections, it just never answers: every call or stream the client
// happens to send there hangs until a timeout, and a watch stream opened on it never connects. So for
// a cluster of several members the store checks each member's /health (HTTP, on its client URL) every
// second — false while it is unreachable or has no leader (the minority side of a partition) — and a
// per-member breaker makes the client skip unhealthy members, and for a while members whose last call
// timed out. When every member looks unhealthy nothing is skipped (the calls then fail on their own).
import { GRPCDeadlineExceededError, GRPCUnavailableError } from 'etcd3';

type Execute = <T>(fn: (ctx: { signal: AbortSignal; attempt: number }) => Promise<T> | T) => Promise<T>;

export class MemberHealth {
  private readonly bad = new Map<string, boolean>();
  private readonly timer: NodeJS.Timeout;
  private running = false;

  constructor(
    private readonly endpoints: string[],
    everyMs = 1000,
  ) {
    for (const e of endpoints) this.bad.set(MemberHealth.key(e), false);
    this.timer = setInterval(() => {
      void this.check();
    }, everyMs);
    this.timer.unref();
  }

  /** `host:port` of an endpoint given as `host:port` or `http(s)://host:port`. */
  static key(endpoint: string): string {
    return endpoint.replace(/^https?:\/\//, '').replace(/\/$/, '');
  }

  private async check(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      await Promise.all(
        this.endpoints.map(async (e) => {
          const url = `${/^https:\/\//.test(e) ? 'https' : 'http'}://${MemberHealth.key(e)}/health`;
          let ok = false;
          try {
            const res = await fetch(url, { signal: AbortSignal.timeout(1000) });
            ok = ((await res.json()) as { health?: unknown }).health === 'true';
          } catch {
            /* unreachable or not answering: unhealthy */
          }
          this.bad.set(MemberHealth.key(e), !ok);
        }),
      );
    } finally {
      this.running = false;
    }
  }

  /** True if `endpoint` failed its last health check while some other member passed its own. */
  shouldSkip(endpoint: string): boolean {
    if (!this.bad.get(MemberHealth.key(endpoint))) return false;
    return [...this.bad.values()].some((b) => !b);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** The etcd3 per-host policy for `endpoint`. */
  policyFor(endpoint: string): { execute: Execute } {
    return new HostBreaker(endpoint, this);
  }
}

/**
 * Skips a member that is unhealthy, or whose last call timed out or found it unavailable (for 1 s,
 * doubling up to 16 s while that repeats; one success resets it). The pool then tries the next member.
 */
class HostBreaker {
  private openUntil = 0;
  private backoffMs = 1000;

  constructor(
    private readonly endpoint: string,
    private readonly health: MemberHealth,
  ) {}

  execute: Execute = async (fn) => {
    if (Date.now() < this.openUntil || this.health.shouldSkip(this.endpoint)) {
      throw new Error(`etcd member ${this.endpoint} skipped: unhealthy or failed recently`);
    }
    try {
      const r = await fn({ signal: new AbortController().signal, attempt: 0 });
      this.backoffMs = 1000;
      return r;
    } catch (e) {
      // Only signs of an unreachable member: etcd3 also counts e.g. a cancelled stream as recoverable.
      if (e instanceof GRPCDeadlineExceededError || e instanceof GRPCUnavailableError) {
        this.openUntil = Date.now() + this.backoffMs;
        this.backoffMs = Math.min(16000, this.backoffMs * 2);
      }
      throw e;
    }
  };
}
