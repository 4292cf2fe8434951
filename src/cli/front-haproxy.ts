// `shardis up --front haproxy`: a real HAProxy (Debian's haproxy 2.6) in front of the local cluster's
// proxies, from the same generated config an operator gets (`shardis admin frontdoor haproxy`), kept
// in sync with the dashboard's proxy list by the Runtime API agent running in this process.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnTracked, waitFor } from '../util/processes.js';
import { freePort } from '../util/free-port.js';
import { dashboardDirectory } from '../client/proxy-directory.js';
import { defaultHaproxyOptions, renderHaproxyConfig, serverKeywords } from '../frontdoor/haproxy-config.js';
import { runtimeCommand } from '../frontdoor/haproxy-runtime.js';
import { startHaproxySync } from '../frontdoor/haproxy-sync.js';
import type { ClusterInfo } from './local-cluster.js';

export interface FrontDoor {
  addr: string;
  stats: string;
  runtimeApi: string;
  config: string;
  pid: number;
  stop(): Promise<void>;
}

export async function startFrontHaproxy(info: ClusterInfo, o: { host: string; basePort: number }): Promise<FrontDoor> {
  const port = o.basePort > 0 ? o.basePort + 100 : await freePort(o.host);
  const statsPort = o.basePort > 0 ? o.basePort + 101 : await freePort(o.host);
  const runtimeApi = join(info.dir, 'haproxy-admin.sock');
  const opts = {
    ...defaultHaproxyOptions(),
    bind: `${o.host}:${port}`,
    statsBind: `${o.host}:${statsPort}`,
    runtimeApi,
    product: info.product,
    maxconn: 2000,
  };
  const directory = dashboardDirectory(info.dashboard.addr, { token: info.dashboard.admin_token });
  const proxies = (await directory.list()).filter((p) => p.state === 'online');
  const config = join(info.dir, 'haproxy.cfg');
  writeFileSync(config, renderHaproxyConfig(proxies, opts), { mode: 0o600 });
  const haproxy = spawnTracked('haproxy', ['-db', '-f', config], { logFile: join(info.dir, 'haproxy.log') });
  try {
    await waitFor(
      'HAProxy to start (see haproxy.log)',
      async () => {
        if (haproxy.child.exitCode !== null)
          throw new Error(`haproxy exited with ${haproxy.child.exitCode} (see ${join(info.dir, 'haproxy.log')})`);
        return (await runtimeCommand(runtimeApi, 'show info', 1000)).includes('Pid:');
      },
      15000,
      100,
    );
  } catch (e) {
    await haproxy.stop();
    throw e;
  }
  const agent = startHaproxySync({
    directory,
    runtimeApi,
    backend: opts.backend,
    keywords: serverKeywords(opts),
    intervalMs: 1000,
    drainWaitMs: 10000,
  });
  return {
    addr: `${o.host}:${port}`,
    stats: `${o.host}:${statsPort}`,
    runtimeApi,
    config,
    pid: haproxy.pid,
    stop: async () => {
      await agent.stop();
      await haproxy.stop();
    },
  };
}
