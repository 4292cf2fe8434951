// Failed-authentication handling shared by the dashboard API and the proxy admin API: reads the
// bearer token of a request, logs every refused token, and rate-limits refusals per client address
// (a token bucket: `burst` failures at once, refilled at `refillPerSec`). While an address's bucket
// is empty every token it sends is refused with 429 without being checked (the right one too), so
// guessing cannot go faster than the refill rate; other addresses are not affected.
/** Where refusals are logged: a pino logger, or anything with the same warn(fields, msg). */
export interface WarnLog {
  warn(fields: Record<string, unknown>, msg: string): void;
}

/** The token of an `Authorization: Bearer <token>` header, or '' without one. */
export function bearerToken(header: string | string[] | undefined): string {
  const h = Array.isArray(header) ? header[0] : header;
  return (h && /^Bearer\s+(\S+)\s*$/i.exec(h)?.[1]) || '';
}

export interface AuthGuardOptions {
  /** Failures one address may have at once before it is refused. Default 20. */
  burst?: number;
  /** Failures forgiven per second. Default 1. */
  refillPerSec?: number;
  /** Addresses remembered (the oldest are forgotten past this). Default 4096. */
  maxAddresses?: number;
}

interface Bucket {
  tokens: number;
  at: number;
  /** Refusals while locked out since the last log line about it. */
  refused: number;
}

/** An error with the HTTP status Fastify answers with. */
export class AuthError extends Error {
  constructor(
    readonly statusCode: 401 | 403 | 429,
    message: string,
    readonly retryAfterSec = 0,
  ) {
    super(message);
  }
}

export class AuthGuard {
  private readonly buckets = new Map<string, Bucket>();
  private readonly burst: number;
  private readonly refill: number;
  private readonly max: number;

  constructor(
    private readonly log: WarnLog,
    private readonly what: string,
    o: AuthGuardOptions = {},
  ) {
    this.burst = o.burst ?? 20;
    this.refill = o.refillPerSec ?? 1;
    this.max = o.maxAddresses ?? 4096;
  }

  private bucket(ip: string, now: number): Bucket {
    let b = this.buckets.get(ip);
    if (!b) {
      b = { tokens: this.burst, at: now, refused: 0 };
      if (this.buckets.size >= this.max) {
        const oldest = this.buckets.keys().next().value;
        if (oldest !== undefined) this.buckets.delete(oldest);
      }
      this.buckets.set(ip, b);
      return b;
    }
    b.tokens = Math.min(this.burst, b.tokens + ((now - b.at) / 1000) * this.refill);
    b.at = now;
    return b;
  }

  /** Throws 429 when `ip` used up its failures; call before checking a token. */
  checkNotLocked(ip: string, method: string, route: string): void {
    const b = this.bucket(ip, Date.now());
    if (b.tokens >= 1) return;
    b.refused++;
    // One line per lock-out period and per 100 refusals, not one per request.
    if (b.refused === 1 || b.refused % 100 === 0)
      this.log.warn(
        { ip, method, route, refused: b.refused },
        `${this.what}: too many failed admin-token attempts from this address; refusing its calls`,
      );
    const wait = Math.ceil((1 - b.tokens) / this.refill);
    throw new AuthError(429, `too many failed admin-token attempts from ${ip}: retry in ${wait} s`, wait);
  }

  /** Records a refused token from `ip` (and logs it). */
  failed(ip: string, method: string, route: string, why: string): void {
    const b = this.bucket(ip, Date.now());
    b.tokens = Math.max(0, b.tokens - 1);
    if (b.tokens >= 1) b.refused = 0;
    this.log.warn({ ip, method, route, why }, `${this.what}: admin token refused`);
  }
}
