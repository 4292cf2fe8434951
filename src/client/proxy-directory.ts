// Owns "which proxies are there right now" for everything that sits in front of the proxies (the
// discovery client, the HAProxy sync agent, the config generators): reads the coordinator's
// /jodis/<product>/proxy-<token> entries (what each proxy registers, ephemeral, Codis's jodis) or the
// dashboard's proxy list (GET /topom/stats, each proxy's /health asked for online/draining).
import { openStore, jodisDir, type Store } from '../coordinator/index.js';
import { httpJson } from '../util/http-json.js';

/** One proxy as seen by a front door. */
export interface ProxyEntry {
  /** The proxy token (stable per product + addresses); names the server in HAProxy. */
  token: string;
  /** Client address host:port. */
  addr: string;
  /** Admin API address host:port ('' if unknown). */
  admin: string;
  /** online: serve it; draining: take it out gracefully; down: the dashboard cannot reach it. */
  state: 'online' | 'draining' | 'down';
}

export interface ProxyDirectory {
  readonly describe: string;
  list(): Promise<ProxyEntry[]>;
  close(): Promise<void>;
}

const ADDR_RE = /^[^\s/]+:\d{1,5}$/;

/** Parses one jodis entry ({addr, admin, token, state}); null when it is not usable. */
export function parseJodisEntry(name: string, raw: Buffer): ProxyEntry | null {
  let j: { addr?: unknown; admin?: unknown; token?: unknown; state?: unknown };
  try {
    j = JSON.parse(raw.toString()) as typeof j;
  } catch {
    return null;
  }
  if (typeof j.addr !== 'string' || !ADDR_RE.test(j.addr)) return null;
  const token = typeof j.token === 'string' && j.token ? j.token : name.replace(/^proxy-/, '');
  const state = j.state === 'draining' ? 'draining' : j.state === undefined || j.state === 'online' ? 'online' : 'down';
  return { token, addr: j.addr, admin: typeof j.admin === 'string' ? j.admin : '', state };
}

/** Reads /jodis/<product> from a coordinator (filesystem:DIR, etcd:HOST:PORT, zookeeper:HOST:PORT or an open Store). */
export async function jodisDirectory(coordinator: string | Store, product: string): Promise<ProxyDirectory> {
  const owned = typeof coordinator === 'string';
  const store = typeof coordinator === 'string' ? await openStore(coordinator) : coordinator;
  const dir = jodisDir(product);
  return {
    describe: `${store.describe} ${dir}`,
    async list() {
      const names = await store.list(dir).catch((e: { code?: string }) => {
        if (e.code === 'BAD_PATH') throw e;
        return [] as string[];
      });
      const entries = await Promise.all(
        names.map(async (n) => {
          const full = n.startsWith('/') ? n : `${dir}/${n}`; // Store.list gives full paths
          const raw = await store.read(full).catch(() => null);
          return raw ? parseJodisEntry(full.slice(full.lastIndexOf('/') + 1), raw) : null;
        }),
      );
      return entries.filter((e): e is ProxyEntry => e !== null).sort((a, b) => a.addr.localeCompare(b.addr));
    },
    async close() {
      if (owned) await store.close();
    },
  };
}

interface DashboardStats {
  proxy?: {
    models?: Array<{ token?: string; proxy_addr?: string; admin_addr?: string }>;
    stats?: Record<string, { error?: string; stats?: { online?: boolean } }>;
  };
}

/**
 * Reads the proxy list from a dashboard (HOST:PORT; the stats need its admin token `token`) and asks
 * each proxy's /health whether it is draining.
 */
export function dashboardDirectory(dashboard: string, o: { timeoutMs?: number; token?: string } = {}): ProxyDirectory {
  if (!ADDR_RE.test(dashboard)) throw new Error(`dashboard "${dashboard}" is not HOST:PORT`);
  const timeoutMs = o.timeoutMs ?? 3000;
  const headers: Record<string, string> = o.token ? { authorization: `Bearer ${o.token}` } : {};
  return {
    describe: `dashboard ${dashboard}`,
    async list() {
      const r = await httpJson('GET', dashboard, '/topom/stats', { timeoutMs, headers });
      if (r.status === 401 || r.status === 403)
        throw new Error(`dashboard ${dashboard}: HTTP ${r.status}: the proxy list needs its admin token`);
      if (r.status !== 200) throw new Error(`dashboard ${dashboard}: HTTP ${r.status}`);
      const p = (r.json as DashboardStats).proxy;
      const out = await Promise.all(
        (p?.models ?? []).map(async (m): Promise<ProxyEntry | null> => {
          if (!m.token || !m.proxy_addr || !ADDR_RE.test(m.proxy_addr)) return null;
          const admin = m.admin_addr ?? '';
          let state: ProxyEntry['state'] = p?.stats?.[m.token]?.error ? 'down' : 'online';
          if (admin) {
            try {
              const h = await httpJson('GET', admin, '/health', { timeoutMs });
              const j = h.json as { online?: boolean; draining?: boolean } | undefined;
              state = j?.draining ? 'draining' : j?.online === false ? 'down' : 'online';
            } catch {
              state = 'down';
            }
          }
          return { token: m.token, addr: m.proxy_addr, admin, state };
        }),
      );
      return out.filter((e): e is ProxyEntry => e !== null).sort((a, b) => a.addr.localeCompare(b.addr));
    },
    async close() {
      /* nothing held */
    },
  };
}

/** A fixed list (from --proxy flags): every entry online. */
export function staticDirectory(addrs: string[]): ProxyDirectory {
  for (const a of addrs) if (!ADDR_RE.test(a)) throw new Error(`proxy "${a}" is not HOST:PORT`);
  const list = addrs.map((addr) => ({ token: addr.replace(/[^\w]/g, '_'), addr, admin: '', state: 'online' as const }));
  return { describe: 'the --proxy list', list: async () => list, close: async () => {} };
}
