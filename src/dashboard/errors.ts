// The dashboard's error value: an HTTP status plus a message a person can act on. The API turns it
// into `{"error": message}` with that status.
export class DashboardError extends Error {
  override readonly name = 'DashboardError';
  constructor(readonly status: number, message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export const badRequest = (m: string): DashboardError => new DashboardError(400, m);
export const notFound = (m: string): DashboardError => new DashboardError(404, m);
export const conflict = (m: string): DashboardError => new DashboardError(409, m);
/** A server or proxy the dashboard had to talk to failed or did not answer. */
export const badGateway = (m: string, cause?: unknown): DashboardError => new DashboardError(502, m, { cause });
export const unavailable = (m: string): DashboardError => new DashboardError(503, m);

/** The short reason of a network error: `connect ECONNREFUSED 127.0.0.1:1`, not `fetch failed`. */
export function describeNetError(e: unknown): string {
  let cur: unknown = e;
  for (let i = 0; i < 4 && cur; i++) {
    const c = cur as { code?: string; message?: string; cause?: unknown; name?: string };
    if (c.name === 'TimeoutError' || c.name === 'AbortError') return 'timed out';
    if (typeof c.code === 'string' && c.code.startsWith('E')) return c.message ?? c.code;
    if (!c.cause) return c.message ?? (typeof cur === 'string' ? cur : JSON.stringify(cur));
    cur = c.cause;
  }
  return String((e as Error)?.message ?? e);
}
