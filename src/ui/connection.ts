// How the page talks to a dashboard: directly (page served by the dashboard at /console/) or through
// `shardis fe` (every call carries ?forward=<product>). Holds the per-product admin token in
// sessionStorage (only once the user gave it), makes the mutating calls (Bearer token) and keeps the
// live stream (server-sent events) open, reconnecting while the dashboard is down.
import type { ConsoleInfo, ConsoleLive } from '../models/console.js';

export interface Site {
  /** True when served by `shardis fe` (several products). */
  fe: boolean;
  products: string[];
}

export function apiUrl(site: Site, product: string, path: string, query: Record<string, string> = {}): string {
  const q = new URLSearchParams(query);
  if (site.fe) q.set('forward', product);
  const qs = q.toString();
  return `${path}${qs ? `?${qs}` : ''}`;
}

const tokenKey = (product: string): string => `shardis-token:${product}`;
export const getToken = (product: string): string | null => sessionStorage.getItem(tokenKey(product));
export const setToken = (product: string, token: string): void => sessionStorage.setItem(tokenKey(product), token);
export const dropToken = (product: string): void => sessionStorage.removeItem(tokenKey(product));

export type CallResult = { ok: true; body: Record<string, unknown> } | { ok: false; status: number; error: string };

async function readReply(r: Response): Promise<CallResult> {
  const text = await r.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* plain text */
  }
  if (r.ok) return { ok: true, body: body !== null && typeof body === 'object' ? (body as Record<string, unknown>) : { reply: body } };
  const err =
    body !== null && typeof body === 'object' && typeof (body as { error?: unknown }).error === 'string'
      ? (body as { error: string }).error
      : text;
  return { ok: false, status: r.status, error: err || `HTTP ${r.status}` };
}

/** A call with the admin token as Bearer; `path` has `_` where Codis puts the token. */
export async function call(site: Site, product: string, method: 'GET' | 'PUT', path: string, token: string | null): Promise<CallResult> {
  try {
    const r = await fetch(apiUrl(site, product, path), { method, headers: token ? { authorization: `Bearer ${token}` } : {} });
    return await readReply(r);
  } catch (e) {
    return { ok: false, status: 0, error: `the dashboard did not answer: ${(e as Error).message}` };
  }
}

export async function fetchInfo(site: Site, product: string): Promise<ConsoleInfo | { error: string }> {
  const r = await call(site, product, 'GET', '/api/topom/console/info', null);
  return r.ok ? (r.body as unknown as ConsoleInfo) : { error: r.error };
}

/** Finds out where the page is served from: `shardis fe` answers /list, a dashboard does not. */
export async function detectSite(): Promise<Site> {
  try {
    const r = await fetch('/list', { headers: { accept: 'application/json' } });
    if (r.ok) {
      const v: unknown = await r.json();
      if (Array.isArray(v)) return { fe: true, products: v.filter((x): x is string => typeof x === 'string') };
    }
  } catch {
    /* not fe */
  }
  const r = await fetch('/api/topom/console/info');
  const info = (await r.json()) as ConsoleInfo;
  return { fe: false, products: [info.product] };
}

export type FeedState = { kind: 'connecting' } | { kind: 'live'; since: number } | { kind: 'down'; since: number; error: string };

/** The live stream; reconnects every `interval` while the dashboard is unreachable. */
export class LiveFeed {
  private es: EventSource | null = null;
  private retry: ReturnType<typeof setTimeout> | null = null;
  private closed = false;
  private downSince = 0;

  constructor(
    private readonly url: () => string,
    private readonly intervalMs: number,
    private readonly onMessage: (m: ConsoleLive) => void,
    private readonly onState: (s: FeedState) => void,
  ) {}

  start(): void {
    if (this.closed) return;
    this.onState(this.downSince ? { kind: 'down', since: this.downSince, error: 'reconnecting…' } : { kind: 'connecting' });
    const es = new EventSource(this.url());
    this.es = es;
    es.onmessage = (ev: MessageEvent<string>) => {
      let m: ConsoleLive;
      try {
        m = JSON.parse(ev.data) as ConsoleLive;
      } catch {
        return;
      }
      if (this.downSince || m.full) this.onState({ kind: 'live', since: Date.now() });
      this.downSince = 0;
      this.onMessage(m);
    };
    es.onerror = () => {
      es.close();
      if (this.es !== es || this.closed) return;
      this.es = null;
      if (!this.downSince) this.downSince = Date.now();
      this.onState({ kind: 'down', since: this.downSince, error: 'the dashboard (or the fe) does not answer' });
      this.retry = setTimeout(
        () => {
          this.retry = null;
          this.start();
        },
        Math.max(1000, this.intervalMs),
      );
    };
  }

  stop(): void {
    this.closed = true;
    this.es?.close();
    this.es = null;
    if (this.retry) clearTimeout(this.retry);
  }
}
