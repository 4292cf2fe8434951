// Owns keeping one HAProxy backend equal to the live proxy list at run time (`shardis frontdoor sync`,
// one agent beside each HAProxy): a proxy that comes online is added through the Runtime API; one
// that is draining or gone from the list is drained (weight 0, its sessions end or time out) and then
// deleted. Never reloads HAProxy. Only servers named proxy-* (haproxyServerName) are managed.
import type { ProxyDirectory, ProxyEntry } from '../client/proxy-directory.js';
import { haproxyServerName } from './haproxy-config.js';
import { addServer, drainAndRemove, restoreServer, showServers } from './haproxy-runtime.js';
import type { Logger } from '../util/log.js';

export interface SyncOptions {
  directory: ProxyDirectory;
  runtimeApi: string;
  backend: string;
  /** Keywords for `add server` (serverKeywords()). */
  keywords: string;
  intervalMs: number;
  /** How long a drained server may keep sessions before it is removed anyway. */
  drainWaitMs: number;
  log?: Logger;
}

export interface HaproxySync {
  /** One pass now (also run every intervalMs); resolves with what it changed. */
  syncOnce(): Promise<{ added: string[]; draining: string[] }>;
  /** Drains that are still running. */
  readonly pendingDrains: ReadonlySet<string>;
  stop(): Promise<void>;
}

export function startHaproxySync(o: SyncOptions): HaproxySync {
  const drains = new Map<string, Promise<void>>();
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<{ added: string[]; draining: string[] }> | null = null;

  const pass = async (): Promise<{ added: string[]; draining: string[] }> => {
    const entries = await o.directory.list();
    const servers = await showServers(o.runtimeApi, o.backend);
    const byName = new Map(servers.map((s) => [s.name, s]));
    const wanted = new Map<string, ProxyEntry>();
    const leaving = new Set<string>();
    for (const e of entries) {
      const name = haproxyServerName(e);
      if (e.state === 'online') wanted.set(name, e);
      else if (e.state === 'draining') leaving.add(name);
      // 'down': the health check already keeps it out; it is removed once it leaves the list.
    }
    const known = new Set(entries.map(haproxyServerName));
    const added: string[] = [];
    for (const [name, e] of wanted) {
      const s = byName.get(name);
      if (!s) {
        await addServer(o.runtimeApi, o.backend, name, e.addr, o.keywords);
        added.push(name);
        o.log?.info({ server: name, addr: e.addr }, 'proxy added to HAProxy');
      } else if (!drains.has(name) && (s.weight === 0 || (s.adminState & 0x29) !== 0)) {
        await restoreServer(o.runtimeApi, o.backend, name);
        o.log?.info({ server: name }, 'proxy back in service');
      }
    }
    // A proxy gone from the list is drained too — unless the list is empty, which is more likely a
    // coordinator problem than every proxy leaving (the health check still guards those servers).
    if (entries.length > 0) for (const s of servers) if (s.name.startsWith('proxy-') && !known.has(s.name)) leaving.add(s.name);
    const draining: string[] = [];
    for (const name of leaving) {
      if (!byName.has(name) || drains.has(name)) continue;
      draining.push(name);
      o.log?.info({ server: name }, 'draining proxy out of HAProxy');
      drains.set(
        name,
        drainAndRemove(o.runtimeApi, o.backend, name, { waitMs: o.drainWaitMs, removeDeadlineMs: 60000 })
          .then((r) => {
            o.log?.info({ server: name, ...r }, r.removed ? 'proxy removed from HAProxy' : 'proxy still has sessions; will retry');
          })
          .catch((e: Error) => {
            o.log?.warn({ server: name, err: e.message }, 'drain failed; will retry');
          })
          .finally(() => {
            drains.delete(name);
          }),
      );
    }
    return { added, draining };
  };

  const syncOnce = (): Promise<{ added: string[]; draining: string[] }> => {
    running ??= pass().finally(() => {
      running = null;
    });
    return running;
  };
  const tick = (): void => {
    if (stopped) return;
    syncOnce()
      .catch((e: Error) => {
        o.log?.warn({ err: e.message }, 'front-door sync pass failed');
      })
      .finally(() => {
        if (!stopped) timer = setTimeout(tick, o.intervalMs);
      });
  };
  timer = setTimeout(tick, 0);
  return {
    syncOnce,
    get pendingDrains() {
      return new Set(drains.keys());
    },
    stop: async () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running?.catch(() => undefined);
      await Promise.allSettled([...drains.values()]);
    },
  };
}
