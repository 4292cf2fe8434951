// `shardis fe`: runs the multi-product web console (see src/fe/fe-server.ts) until SIGINT/SIGTERM.
// Prints `shardis fe listening url=<url>` once it serves, so scripts and tests can wait on it.
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { startFeServer } from '../fe/fe-server.js';
import { makeLogger } from '../util/log.js';

export function feCommand(): Command {
  return new Command('fe')
    .description(
      "serve the web console for every product of a coordinator (like codis-fe); API calls are forwarded to each product's dashboard",
    )
    .option(
      '--coordinator <spec>',
      'coordinator to find products in (/codis3/*/topom): filesystem:DIR, etcd:HOST:PORT, zookeeper:HOST:PORT',
    )
    .option('--dashboard-list <file>', 'JSON file [{"name": product, "dashboard": "host:port"}] instead of a coordinator')
    .option('--listen <addr>', 'address to serve on', '127.0.0.1:9090')
    .option('--log-level <level>', 'debug, info, warn, error', 'info')
    .option('--dashboard-tls', 'the dashboards serve HTTPS (admin_tls): forward over TLS')
    .option('--dashboard-ca-file <file>', "PEM CA the dashboards' certificates are signed by (default: the system CAs)")
    .option('--tls-cert-file <file>', 'serve the console over HTTPS with this PEM certificate (and --tls-key-file)')
    .option('--tls-key-file <file>', 'PEM private key of --tls-cert-file')
    .action(
      async (o: {
        coordinator?: string;
        dashboardList?: string;
        listen: string;
        logLevel: string;
        dashboardTls?: boolean;
        dashboardCaFile?: string;
        tlsCertFile?: string;
        tlsKeyFile?: string;
      }) => {
        const log = makeLogger('fe', o.logLevel);
        if (Boolean(o.tlsCertFile) !== Boolean(o.tlsKeyFile)) throw new Error('--tls-cert-file and --tls-key-file go together');
        const fe = await startFeServer({
          listen: o.listen,
          coordinator: o.coordinator,
          dashboardListFile: o.dashboardList,
          log,
          ...(o.dashboardTls || o.dashboardCaFile
            ? { dashboardTls: o.dashboardCaFile ? { ca: readFileSync(o.dashboardCaFile) } : {} }
            : {}),
          ...(o.tlsCertFile && o.tlsKeyFile ? { tls: { certFile: o.tlsCertFile, keyFile: o.tlsKeyFile } } : {}),
        });
        process.stdout.write(`shardis fe listening url=${fe.url}\n`);
        await new Promise<void>((resolve) => {
          process.once('SIGINT', resolve);
          process.once('SIGTERM', resolve);
        });
        await fe.close();
        process.exit(0);
      },
    );
}
