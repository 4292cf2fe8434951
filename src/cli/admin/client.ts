// HTTP client of the admin CLI: finds the dashboard (--dashboard, or the Topom record in the
// coordinator), derives the admin token, calls the API and turns failures into the CLI's exit codes:
// 1 = the API refused or failed, 2 = usage error, 3 = the dashboard could not be reached.
import { defaultAdminToken } from '../../models/auth.js';
import { httpJson, replyError, type HttpReply } from '../../util/http-json.js';

export class AdminCliError extends Error {
  override readonly name = 'AdminCliError';
  constructor(
    readonly exitCode: 1 | 2 | 3,
    message: string,
    readonly body?: unknown,
  ) {
    super(message);
  }
}

export const usageError = (m: string): AdminCliError => new AdminCliError(2, m);

export interface GlobalOptions {
  dashboard?: string;
  token?: string;
  product?: string;
  productAuth?: string;
  coordinator?: string;
  json?: boolean;
  timeout?: string;
}

export class DashboardClient {
  private token: string | null;

  constructor(
    readonly addr: string,
    private readonly opts: GlobalOptions,
    readonly timeoutMs: number,
  ) {
    this.token = opts.token ?? process.env.SHARDIS_ADMIN_TOKEN ?? null;
    if (!this.token && opts.product) this.token = defaultAdminToken(opts.product, opts.productAuth ?? '');
  }

  /** One call; the admin token (when known) goes along as a bearer token, which every read needs. */
  async request<T = unknown>(method: 'GET' | 'PUT', path: string, body?: unknown): Promise<T> {
    let r: HttpReply;
    const headers: Record<string, string> = this.token ? { authorization: `Bearer ${this.token}` } : {};
    try {
      r = await httpJson(method, this.addr, path, { timeoutMs: this.timeoutMs, body, headers });
    } catch (e) {
      throw new AdminCliError(3, `cannot reach the dashboard at ${this.addr}: ${(e as Error).message}`);
    }
    if (r.status < 200 || r.status >= 300) throw new AdminCliError(1, replyError(r), r.json);
    return r.json as T;
  }

  /** The admin token: given, or derived from the product (asked from the dashboard if not given). */
  async adminToken(): Promise<string> {
    if (this.token) return this.token;
    // The console's public info names the product (the model needs the token).
    const info = await this.request<{ product?: string }>('GET', '/api/topom/console/info');
    if (!info?.product) throw new AdminCliError(1, `the dashboard at ${this.addr} did not report its product name; pass --token`);
    this.token = defaultAdminToken(info.product, this.opts.productAuth ?? '');
    return this.token;
  }

  /** PUT /api/topom/<path with {token}>. */
  async put<T = Record<string, unknown>>(pathWithToken: string, body?: unknown): Promise<T> {
    const token = await this.adminToken();
    return this.request<T>('PUT', pathWithToken.replace('{token}', encodeURIComponent(token)), body);
  }

  /** GET with the token in the path's {token} (if any) and as a bearer token. */
  async get<T = unknown>(pathWithToken: string): Promise<T> {
    const token = await this.adminToken();
    return this.request<T>('GET', pathWithToken.replace('{token}', encodeURIComponent(token)));
  }
}
