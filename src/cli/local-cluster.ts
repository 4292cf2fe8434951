// Brings up a local Shardis cluster on this machine for `shardis up`: redis groups (a master plus
// replicas, replication running), a dashboard on the filesystem coordinator that owns the topology,
// proxies registered with it and serving an even slot layout — all on loopback ports, with every
// address written to <dir>/cluster.json. Stops everything it started. With `tls`, everything runs on
// TLS with a throwaway CA (util/tls-certs.ts): TLS-only redis-servers and sentinels (client
// certificates required, replication and MIGRATE over TLS), the dashboard on HTTPS reaching them with
// TLS, proxies with a TLS listener (client certificates optional) beside the plain one.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { startRedisServer, rawCommand, tlsCommand, type RedisServer } from '../util/redis-server.js';
import { makeTestPki, type TestPki } from '../util/tls-certs.js';
import { waitFor, type Spawned } from '../util/processes.js';
import { freePort } from '../util/free-port.js';
import { startDashboardProcess, startProxyProcess } from '../util/shardis-process.js';
import { startRedisSentinel, type RedisSentinel } from '../util/redis-sentinel.js';
import { httpJson, replyError } from '../util/http-json.js';
import { defaultAdminToken } from '../models/auth.js';

export interface LocalClusterOptions {
  groups: number;
  replicas: number;
  proxies: number;
  dir: string;
  basePort: number;
  host: string;
  product: string;
  /** redis-sentinel processes the dashboard configures to watch every group (0 = no HA). */
  sentinels?: number;
  /** Extra `shardis dashboard` flags (e.g. --sentinel-down-after 2s). */
  dashboardArgs?: string[];
  /** Extra `shardis proxy` flags. */
  proxyArgs?: string[];
  /** Run everything on TLS with a throwaway CA made in <dir>/tls (see the header). */
  tls?: boolean;
}

export interface ClusterInfo {
  product: string;
  dir: string;
  coordinator: string;
  dashboard: { addr: string; admin_token: string; pid: number };
  proxies: Array<{ addr: string; admin: string; pid: number; tls_addr?: string }>;
  groups: Array<{ id: number; master: string; replicas: string[] }>;
  sentinels: string[];
  /** With --tls: the throwaway CA and a client certificate it signed (the dashboard is then HTTPS). */
  tls?: { ca: string; client_cert: string; client_key: string };
}

export interface LocalCluster {
  info: ClusterInfo;
  /** The redis servers, in group order (master first), for tests that kill and restart them. */
  servers: RedisServer[];
  redisSentinels: RedisSentinel[];
  /** The dashboard and proxy processes (dashboard first). */
  procs: Spawned[];
  stop(): Promise<void>;
}

// (Longer than ~60 lines on purpose: one start sequence, each step using the processes started
// before it, with one cleanup path for all of them on failure.)
export async function startLocalCluster(o: LocalClusterOptions): Promise<LocalCluster> {
  const dir = resolve(o.dir);
  mkdirSync(dir, { recursive: true });
  let nextPort = o.basePort;
  const port = (): number => (o.basePort > 0 ? nextPort++ : 0);
  const servers: RedisServer[] = [];
  const sentinels: RedisSentinel[] = [];
  const procs: Spawned[] = [];
  const stop = async (): Promise<void> => {
    await Promise.all(
      procs
        .slice()
        .reverse()
        .map((p) => p.stop()),
    );
    await Promise.all(sentinels.map((s) => s.stop()));
    await Promise.all(servers.map((s) => s.stop()));
  };
  try {
    // Ports in a fixed order so --base-port gives predictable addresses: proxies, their admin APIs,
    // the dashboard, then the redis servers.
    const proxyPorts = Array.from({ length: o.proxies }, () => port());
    const proxyAdminPorts = Array.from({ length: o.proxies }, () => port());
    const dashboardPort = port();
    const groups: ClusterInfo['groups'] = [];
    const pki: TestPki | null = o.tls ? makeTestPki(join(dir, 'tls'), { names: [o.host] }) : null;
    // TLS-only servers: the port is their tls-port; the dashboard and proxies present the client certificate.
    const serverTls = pki
      ? {
          cert: pki.serverCert,
          key: pki.serverKey,
          ca: pki.caCert,
          authClients: 'yes' as const,
          only: true,
          clientCert: pki.clientCert,
          clientKey: pki.clientKey,
        }
      : undefined;
    const tlsClient = pki ? { ca: pki.caCert, cert: pki.clientCert, key: pki.clientKey } : null;
    for (let g = 1; g <= o.groups; g++) {
      const master = await startRedisServer({ host: o.host, port: port() || undefined, dir: join(dir, `group-${g}-0`), tls: serverTls });
      servers.push(master);
      const replicas: string[] = [];
      for (let r = 1; r <= o.replicas; r++) {
        const rep = await startRedisServer({
          host: o.host,
          port: port() || undefined,
          dir: join(dir, `group-${g}-${r}`),
          config: [`replicaof ${master.host} ${master.port}`],
          tls: serverTls,
        });
        servers.push(rep);
        replicas.push(rep.addr);
      }
      groups.push({ id: g, master: master.addr, replicas });
    }
    for (const s of servers) {
      await waitFor(
        `replication on ${s.addr}`,
        async () => {
          const info = tlsClient
            ? await tlsCommand(s.host, s.port, 'INFO replication', tlsClient)
            : await rawCommand(s.host, s.port, 'INFO replication');
          return info.includes('role:master') || info.includes('master_link_status:up');
        },
        15000,
        100,
      );
    }

    for (let i = 0; i < (o.sentinels ?? 0); i++) {
      sentinels.push(
        await startRedisSentinel({
          host: o.host,
          port: port() || undefined,
          dir: join(dir, `sentinel-${i + 1}`),
          tls: pki
            ? { cert: pki.serverCert, key: pki.serverKey, ca: pki.caCert, clientCert: pki.clientCert, clientKey: pki.clientKey }
            : undefined,
        }),
      );
    }

    const coordinator = `filesystem:${join(dir, 'coordinator')}`;
    // With TLS: HTTPS API and console, TLS to servers and sentinels with the client certificate.
    const dashTls = pki
      ? [
          ...['--admin-tls', 'true', '--tls-cert-file', pki.serverCert, '--tls-key-file', pki.serverKey],
          ...['--backend-tls', 'true', '--backend-tls-ca-cert-file', pki.caCert],
          ...['--backend-tls-cert-file', pki.clientCert, '--backend-tls-key-file', pki.clientKey],
          ...['--proxy-admin-tls', 'true'],
        ]
      : [];
    // Child processes (proxies registering with the HTTPS dashboard) trust the throwaway CA.
    if (pki) process.env.NODE_EXTRA_CA_CERTS = pki.caCert;
    const dash = await startDashboardProcess(
      [
        '--coordinator',
        coordinator,
        '--product-name',
        o.product,
        '--admin-addr',
        `${o.host}:${dashboardPort}`,
        ...dashTls,
        ...(o.dashboardArgs ?? []),
      ],
      join(dir, 'dashboard.log'),
    );
    procs.push(dash.proc);
    const dashAddr = `${o.host}:${dash.adminPort}`;
    // How this process and the proxies call the dashboard (https:// with TLS; this process passes the CA).
    const dashUrl = pki ? `https://${dashAddr}` : dashAddr;
    const ca = pki ? readFileSync(pki.caCert) : undefined;
    const token = defaultAdminToken(o.product, '');
    const put = async (path: string): Promise<void> => {
      const r = await httpJson('PUT', dashUrl, `/api/topom/${path.replace('{token}', token)}`, { timeoutMs: 15000, ca });
      if (r.status !== 200) throw new Error(`dashboard ${path.replace('{token}', '…')}: ${replyError(r)}`);
    };
    // Topology, as an operator would set it up: groups, their servers (master first), even slots.
    const existing = await httpJson('GET', dashUrl, `/api/topom/stats/${token}`, { timeoutMs: 5000, ca });
    const known = JSON.stringify(existing.json ?? {});
    for (const g of groups) {
      if (!known.includes(`"${g.master}"`)) {
        await put(`group/create/{token}/${g.id}`).catch(() => {
          /* already there after a restart */
        });
        await put(`group/add/{token}/${g.id}/${g.master}`);
        for (const r of g.replicas) await put(`group/add/{token}/${g.id}/${r}`);
      }
    }
    await put('slots/init-even/{token}').catch((e: Error) => {
      if (!/already assigned/.test(e.message)) throw e;
    });

    // Sentinels: the dashboard makes each one monitor every group master as <product>-<gid>.
    const knownSentinels =
      (existing.json as { sentinels?: { model?: { servers?: string[] } } } | undefined)?.sentinels?.model?.servers ?? [];
    for (const s of sentinels) if (!knownSentinels.includes(s.addr)) await put(`sentinels/add/{token}/${s.addr}`);

    const info: ClusterInfo = {
      product: o.product,
      dir,
      coordinator,
      dashboard: { addr: dashAddr, admin_token: token, pid: dash.proc.pid },
      proxies: [],
      groups,
      sentinels: sentinels.map((s) => s.addr),
      ...(pki ? { tls: { ca: pki.caCert, client_cert: pki.clientCert, client_key: pki.clientKey } } : {}),
    };
    // TLS listeners of the proxies: ports after everything else (the plain ones keep their numbers).
    const proxyTlsPorts = pki ? Array.from({ length: o.proxies }, () => port()) : [];
    for (let i = 0; i < o.proxies; i++) {
      const tlsPort = pki ? proxyTlsPorts[i] || (await freePort(o.host)) : 0;
      const proxyTls = pki
        ? [
            ...['--proxy-tls-addr', `${o.host}:${tlsPort}`, '--tls-cert-file', pki.serverCert, '--tls-key-file', pki.serverKey],
            ...['--tls-ca-cert-file', pki.caCert, '--tls-auth-clients', 'optional'],
            ...['--backend-tls', 'true', '--backend-tls-ca-cert-file', pki.caCert],
            ...['--backend-tls-cert-file', pki.clientCert, '--backend-tls-key-file', pki.clientKey],
            ...['--admin-tls', 'true'],
          ]
        : [];
      const p = await startProxyProcess(
        [
          '--dashboard',
          dashUrl,
          '--product-name',
          o.product,
          '--proxy-addr',
          `${o.host}:${proxyPorts[i]}`,
          '--admin-addr',
          `${o.host}:${proxyAdminPorts[i]}`,
          ...proxyTls,
          ...(o.proxyArgs ?? []),
        ],
        join(dir, `proxy-${i + 1}.log`),
      );
      procs.push(p.proc);
      // With TLS the admin API is HTTPS too: cluster.json names it https://.
      const admin = pki ? `https://${o.host}:${p.adminPort}` : `${o.host}:${p.adminPort}`;
      await waitFor(
        `proxy ${admin} to receive its slot table`,
        async () => {
          const r = await httpJson('GET', admin, '/health', { timeoutMs: 2000, ca });
          return (r.json as { online?: boolean }).online === true;
        },
        20000,
        100,
      );
      info.proxies.push({ addr: `${o.host}:${p.port}`, admin, pid: p.proc.pid, ...(pki ? { tls_addr: `${o.host}:${tlsPort}` } : {}) });
    }
    writeFileSync(join(dir, 'cluster.json'), JSON.stringify(info, null, 2) + '\n');
    return { info, servers, redisSentinels: sentinels, procs, stop };
  } catch (e) {
    await stop();
    throw e;
  }
}
