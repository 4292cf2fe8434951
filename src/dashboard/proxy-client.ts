// HTTP client for one proxy's admin API (src/proxy/admin-api.ts, Codis paths): model, xping, stats,
// slot table, fillslots, start, shutdown, sentinel list, cluster façade nodes. Every call has a
// deadline; failures throw ProxyCallError saying whether the proxy was unreachable, too slow, or
// answered with an error.
import { proxyXAuth, type ProxyModel } from '../models/proxy.js';
import type { Slot } from '../models/slot.js';
import { httpJson, HttpCallError, replyError, type HttpReply } from '../util/http-json.js';

export type ProxyFailure = 'unreachable' | 'timeout' | 'rejected';

export class ProxyCallError extends Error {
  override readonly name = 'ProxyCallError';
  constructor(
    readonly kind: ProxyFailure,
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

/** What `/api/proxy/stats/:xauth` answers (the fields the dashboard reads; the rest is passed on). */
export interface ProxyStatsReply {
  online?: boolean;
  closed?: boolean;
  ops?: { total?: number; qps?: number; [k: string]: unknown };
  [k: string]: unknown;
}

let proxyAdminScheme = '';

/**
 * proxy_admin_tls: this process calls every proxy admin API over HTTPS (proxies with admin_tls; their
 * CA trusted through the system store or NODE_EXTRA_CA_CERTS). One setting per dashboard process.
 */
export function setProxyAdminHttps(on: boolean): void {
  proxyAdminScheme = on ? 'https://' : '';
}

/** The address to call a proxy admin API at (`https://` with proxy_admin_tls). */
export const proxyAdminUrl = (adminAddr: string): string => `${proxyAdminScheme}${adminAddr}`;

async function call<T>(method: 'GET' | 'PUT', adminAddr: string, path: string, timeoutMs: number, body?: unknown): Promise<T> {
  let r: HttpReply;
  try {
    r = await httpJson(method, proxyAdminUrl(adminAddr), path, { timeoutMs, body });
  } catch (e) {
    if (e instanceof HttpCallError) throw new ProxyCallError(e.kind, e.message);
    throw new ProxyCallError('unreachable', (e as Error).message);
  }
  if (r.status < 200 || r.status >= 300) {
    throw new ProxyCallError(
      'rejected',
      `${method} ${path.replace(/\/api\/proxy\/([a-z]+)\/[0-9a-f]+/, '/api/proxy/$1/…')}: HTTP ${r.status} ${replyError(r)}`,
      r.status,
    );
  }
  return r.json as T;
}

/** Fetches a proxy's model from its admin address (no auth needed). */
export function fetchProxyModel(adminAddr: string, timeoutMs: number): Promise<ProxyModel> {
  return call<ProxyModel>('GET', adminAddr, '/api/proxy/model', timeoutMs);
}

export class ProxyClient {
  readonly xauth: string;
  constructor(
    readonly adminAddr: string,
    product: string,
    productAuth: string,
    token: string,
    readonly timeoutMs: number,
  ) {
    this.xauth = proxyXAuth(product, productAuth, token);
  }

  model(): Promise<ProxyModel> {
    return fetchProxyModel(this.adminAddr, this.timeoutMs);
  }
  async xping(): Promise<void> {
    await call('GET', this.adminAddr, `/api/proxy/xping/${this.xauth}`, this.timeoutMs);
  }
  stats(timeoutMs = this.timeoutMs): Promise<ProxyStatsReply> {
    return call('GET', this.adminAddr, `/api/proxy/stats/${this.xauth}`, timeoutMs);
  }
  slots(timeoutMs = this.timeoutMs): Promise<Slot[]> {
    return call('GET', this.adminAddr, `/api/proxy/slots/${this.xauth}`, timeoutMs);
  }
  async fillSlots(slots: Slot[]): Promise<void> {
    await call('PUT', this.adminAddr, `/api/proxy/fillslots/${this.xauth}`, this.timeoutMs, slots);
  }
  async start(): Promise<void> {
    await call('PUT', this.adminAddr, `/api/proxy/start/${this.xauth}`, this.timeoutMs);
  }
  async shutdown(): Promise<void> {
    await call('PUT', this.adminAddr, `/api/proxy/shutdown/${this.xauth}`, this.timeoutMs);
  }
  async setSentinels(servers: string[]): Promise<void> {
    await call('PUT', this.adminAddr, `/api/proxy/sentinels/${this.xauth}`, this.timeoutMs, { servers });
  }
  /** The live façade proxies' client addresses (the proxy's CLUSTER SLOTS nodes). */
  /** The client users (ACL lines) the proxy adds to its own. */
  async setAcl(lines: string[]): Promise<void> {
    await call('PUT', this.adminAddr, `/api/proxy/acl/${this.xauth}`, this.timeoutMs, { lines });
  }

  async setClusterNodes(addrs: string[]): Promise<void> {
    await call('PUT', this.adminAddr, `/api/proxy/cluster-nodes/${this.xauth}`, this.timeoutMs, { addrs });
  }
}
