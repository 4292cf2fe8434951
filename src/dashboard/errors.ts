// The dashboard's error value: an HTTP status plus a message a person can act on. The API turns it
// into `{"error": message}` with that status.
export class DashboardError extends Error {
  override readonly name = 'DashboardError';
  constructor(
    readonly status: number,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export const badRequest = (m: string): DashboardError => new DashboardError(400, m);
export const notFound = (m: string): DashboardError => new DashboardError(404, m);
export const conflict = (m: string): DashboardError => new DashboardError(409, m);
/** A server or proxy the dashboard had to talk to failed or did not answer. */
export const badGateway = (m: string, cause?: unknown): DashboardError => new DashboardError(502, m, { cause });
export const unavailable = (m: string): DashboardError => new DashboardError(503, m);
