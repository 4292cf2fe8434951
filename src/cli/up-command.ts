// `shardis up`: one command that starts a complete local cluster and stops it on Ctrl-C.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Command } from 'commander';
import { startLocalCluster } from './local-cluster.js';
import { startFeServer } from '../fe/fe-server.js';
import { hostOf, portTextOf } from '../util/address.js';
import { startFrontHaproxy, type FrontDoor } from './front-haproxy.js';

const int = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`"${v}" is not a non-negative integer`);
  return n;
};

export function upCommand(): Command {
  return new Command('up')
    .description('bring up a local cluster (redis groups with replicas, a dashboard, proxies) on loopback; Ctrl-C stops it')
    .option('--groups <n>', 'redis groups (each a master plus replicas)', int, 2)
    .option('--replicas <n>', 'replicas per group', int, 1)
    .option('--proxies <n>', 'proxy processes', int, 2)
    .option('--dir <dir>', 'where data, logs and cluster.json go', '.shardis')
    .option('--base-port <port>', 'first port to use (then consecutive); 0 picks free ports', int, 19000)
    .option('--host <host>', 'loopback address to bind', '127.0.0.1')
    .option('--product <name>', 'product (cluster) name', 'shardis-demo')
    .option('--sentinels <n>', 'redis-sentinel processes watching every group (0 = no automatic failover)', int, 3)
    .option('--sentinel-down-after <duration>', 'how long a master must be unreachable before the sentinels fail it over', '5s')
    .option(
      '--codis-compat',
      "let the unchanged codis-admin and codis-fe operate the dashboard and read the proxies (codis_compat_xauth and codis_compat_reads on: Codis's token, derived from the product name alone, and Codis's unauthenticated reads; for demos)",
    )
    .option(
      '--tls',
      'everything on TLS with a throwaway CA made with openssl in <dir>/tls: TLS-only redis-servers and sentinels, the dashboard and console on HTTPS, proxies with a TLS listener',
    )
    .option('--console-listen <addr>', 'address of the web console (shardis fe) started with the cluster; default <host>:0 (a free port)')
    .option(
      '--front <kind>',
      'front door in front of the proxies: haproxy (one address for all proxies, on --base-port + 100), or none',
      'none',
    )
    .action(
      async (o: {
        groups: number;
        replicas: number;
        proxies: number;
        dir: string;
        basePort: number;
        host: string;
        product: string;
        sentinels: number;
        sentinelDownAfter: string;
        codisCompat?: boolean;
        tls?: boolean;
        consoleListen?: string;
        front: string;
      }) => {
        if (o.groups < 1) throw new Error('--groups must be at least 1');
        if (o.front !== 'haproxy' && o.front !== 'none') throw new Error(`--front must be haproxy or none, got "${o.front}"`);
        if (o.proxies < 1) throw new Error('--proxies must be at least 1');
        if (o.tls && o.front !== 'none') throw new Error('--tls does not combine with --front yet');
        if (o.tls && o.codisCompat) throw new Error("--tls does not combine with --codis-compat (Codis's tools speak plain HTTP)");
        const c = await startLocalCluster({
          ...o,
          dashboardArgs: [
            ...(o.sentinels > 0
              ? ['--sentinel-down-after', o.sentinelDownAfter, '--sentinel-quorum', String(Math.floor(o.sentinels / 2) + 1)]
              : []),
            ...(o.codisCompat ? ['--codis-compat-xauth', 'true'] : []),
          ],
          // codis-admin --proxy=ADDR reads the proxy overview without a token.
          proxyArgs: o.codisCompat ? ['--codis-compat-reads', 'true'] : [],
        });
        const i = c.info;
        const tls = i.tls;
        const fe = await startFeServer({
          listen: o.consoleListen ?? `${o.host}:0`,
          coordinator: i.coordinator,
          ...(tls
            ? {
                dashboardTls: { ca: readFileSync(tls.ca) },
                tls: { certFile: join(i.dir, 'tls', 'server.crt'), keyFile: join(i.dir, 'tls', 'server.key') },
              }
            : {}),
        }).catch(async (e: Error) => {
          await c.stop();
          throw e;
        });
        let front: FrontDoor | null = null;
        if (o.front === 'haproxy') {
          try {
            front = await startFrontHaproxy(i, o);
          } catch (e) {
            await fe.close();
            await c.stop();
            throw e;
          }
        }
        const lines = [
          `Web console: ${fe.url}?token=${i.dashboard.admin_token}#${i.product}`,
          '',
          ...(front
            ? [
                `Front door (HAProxy, pid ${front.pid}): redis-cli -h ${front.addr.split(':')[0]} -p ${front.addr.split(':')[1]}    stats: http://${front.stats}/   config: ${front.config}`,
                '',
              ]
            : []),
          `Shardis cluster "${i.product}" is up (data and logs in ${i.dir}).`,
          '',
          'Connect with any Redis client to a proxy:',
          ...i.proxies.map(
            (p, n) =>
              `  proxy ${n + 1}: redis-cli -h ${hostOf(p.addr)} -p ${portTextOf(p.addr)}    admin API: ${adminUrl(p.admin)}/proxy (token: Authorization: Bearer <admin token>)   metrics: ${adminUrl(p.admin)}/metrics`,
          ),
          ...(tls
            ? [
                '',
                `TLS (throwaway CA ${tls.ca}; client certificate ${tls.client_cert} / ${tls.client_key}, optional on the proxies):`,
                ...i.proxies.map(
                  (p, n) =>
                    `  proxy ${n + 1} TLS: redis-cli --tls --cacert ${tls.ca} -h ${hostOf(p.tls_addr ?? '')} -p ${portTextOf(p.tls_addr ?? '')}`,
                ),
                `  ioredis: new Redis({ host: '${hostOf(i.proxies[0]?.tls_addr ?? '')}', port: ${portTextOf(i.proxies[0]?.tls_addr ?? '')}, tls: { ca: fs.readFileSync('${tls.ca}') } })`,
                `  redis-servers and sentinels are TLS-only (client certificate required): redis-cli --tls --cacert ${tls.ca} --cert ${tls.client_cert} --key ${tls.client_key} -p PORT`,
              ]
            : []),
          '',
          `Dashboard: ${tls ? 'https' : 'http'}://${i.dashboard.addr}/topom   (admin token ${i.dashboard.admin_token})`,
          `  manage it: ${tls ? `NODE_EXTRA_CA_CERTS=${tls.ca} ` : ''}npx shardis admin --dashboard ${tls ? 'https://' : ''}${i.dashboard.addr} --token ${i.dashboard.admin_token} overview`,
          `Coordinator: ${i.coordinator}`,
          ...(o.codisCompat
            ? [
                `Codis tools (codis_compat_xauth on): codis-admin --dashboard=${i.dashboard.addr} --list-group   codis-fe --filesystem=${i.coordinator.replace(/^filesystem:/, '')} --listen=127.0.0.1:9090`,
              ]
            : []),
          '',
          'Redis groups:',
          ...i.groups.map((g) => `  group ${g.id}: master ${g.master}${g.replicas.length ? `, replicas ${g.replicas.join(', ')}` : ''}`),
          '',
          i.sentinels.length
            ? `Sentinels (each monitors every group as ${i.product}-<gid>; down-after ${o.sentinelDownAfter}): ${i.sentinels.join(', ')}`
            : 'Sentinels: none (--sentinels 0): no automatic failover',
          '',
          `Addresses as JSON: ${i.dir}/cluster.json`,
          'Press Ctrl-C to stop everything.',
        ];
        process.stdout.write(lines.join('\n') + '\n');
        await new Promise<void>((resolve) => {
          process.once('SIGINT', resolve);
          process.once('SIGTERM', resolve);
        });
        process.stdout.write('stopping...\n');
        await front?.stop();
        await fe.close();
        await c.stop();
        process.stdout.write('stopped.\n');
        process.exit(0);
      },
    );
}

/** A proxy admin address as a URL (cluster.json names HTTPS ones with their scheme). */
function adminUrl(admin: string): string {
  return /^https?:\/\//.test(admin) ? admin : `http://${admin}`;
}
