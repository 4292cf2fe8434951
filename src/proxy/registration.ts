// How a proxy joins its cluster: it finds the dashboard (given, or read from the coordinator's
// /codis3/<product>/topom), asks it to bring the proxy online (the dashboard then pushes the slot
// table), and keeps retrying in the background while the dashboard or coordinator is away — the proxy
// serves with its last table meanwhile. With a coordinator it also keeps a discovery entry at
// /jodis/<product>/proxy-<token> (Codis's jodis) for clients that pick live proxies themselves.
import { openStore, parseCoordinatorAuth, topomPath, jodisPath, type Store, type EphemeralHandle } from '../coordinator/index.js';
import { defaultAdminToken } from '../models/auth.js';
import type { ProxyModel } from '../models/proxy.js';
import { httpJson, replyError } from '../util/http-json.js';
import type { ProxyConfig } from './config.js';
import type { Logger } from '../util/log.js';

export interface Registration {
  /** Resolves after the first successful registration. */
  readonly registered: Promise<void>;
  /** Rewrites the discovery entry's state ("online" / "draining"); discovery clients use only online ones. */
  setState(state: 'online' | 'draining'): Promise<void>;
  close(): Promise<void>;
}

export function startRegistration(config: ProxyConfig, model: () => ProxyModel, log: Logger): Registration {
  const token = config.adminToken || defaultAdminToken(config.productName, config.productAuth);
  let store: Store | null = null;
  let jodis: EphemeralHandle | null = null;
  let closed = false;
  let state: 'online' | 'draining' = 'online';
  let timer: NodeJS.Timeout | null = null;
  let resolveRegistered!: () => void;
  const registered = new Promise<void>((r) => {
    resolveRegistered = r;
  });

  const dashboardAddr = async (): Promise<string> => {
    if (config.dashboardAddr) return config.dashboardAddr;
    store ??= await openStore(config.coordinator, {
      ephemeralTtlMs: config.jodisTimeout,
      auth: parseCoordinatorAuth(config.coordinatorAuth),
    });
    const raw = await store.read(topomPath(config.productName));
    if (raw === null) throw new Error(`no dashboard is running for product ${config.productName} (${store.describe} has no topom)`);
    const addr = (JSON.parse(raw.toString()) as { admin_addr?: string }).admin_addr;
    if (!addr) throw new Error('the topom record has no admin_addr');
    return config.dashboardHttps && !/^https?:\/\//i.test(addr) ? `https://${addr}` : addr;
  };

  const jodisEntry = (): Buffer => {
    const m = model();
    return Buffer.from(JSON.stringify({ addr: m.proxy_addr, admin: m.admin_addr, start: m.start_time, token: m.token, state }, null, 4));
  };

  const attempt = async (): Promise<void> => {
    const addr = await dashboardAddr();
    const r = await httpJson('PUT', addr, `/api/topom/proxy/online/${token}/${model().admin_addr}`, { timeoutMs: 15000 });
    if (r.status !== 200) throw new Error(`dashboard ${addr}: ${replyError(r)}`);
    log.info({ dashboard: addr }, 'registered with the dashboard');
    if (config.coordinator && jodis === null) {
      store ??= await openStore(config.coordinator, {
        ephemeralTtlMs: config.jodisTimeout,
        auth: parseCoordinatorAuth(config.coordinatorAuth),
      });
      jodis = await store.createEphemeral(jodisPath(config.productName, model().token), jodisEntry());
      jodis.onLost((e) => log.warn({ err: e.message }, 'discovery entry lost; it is re-created when the coordinator is back'));
    }
  };

  // Retry until the dashboard has taken us in; after that it re-pushes tables itself (auto re-online).
  let failures = 0;
  const loop = async (): Promise<void> => {
    if (closed) return;
    try {
      await attempt();
      resolveRegistered();
      return;
    } catch (e) {
      failures++;
      const next = Math.min(5000, 250 * 2 ** Math.min(failures, 5));
      if (failures === 1 || failures % 10 === 0)
        log.warn(
          { err: (e as Error).message, retryMs: next },
          'cannot register with the dashboard yet; serving with the current slot table',
        );
      if (!closed) timer = setTimeout(() => void loop(), next);
    }
  };

  void loop();
  return {
    registered,
    setState: async (s) => {
      state = s;
      if (jodis) await jodis.update(jodisEntry());
    },
    close: async () => {
      closed = true;
      if (timer) clearTimeout(timer);
      if (jodis) await jodis.remove().catch(() => {});
      if (store) await store.close().catch(() => {});
    },
  };
}
