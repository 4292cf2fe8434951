// `shardis fe`: runs the multi-product web console (see src/fe/fe-server.ts) until SIGINT/SIGTERM.
// Prints `shardis fe listening url=<url>` once it serves, so scripts and tests can wait on it.
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
    .action(async (o: { coordinator?: string; dashboardList?: string; listen: string; logLevel: string }) => {
      const log = makeLogger('fe', o.logLevel);
      const fe = await startFeServer({ listen: o.listen, coordinator: o.coordinator, dashboardListFile: o.dashboardList, log });
      process.stdout.write(`shardis fe listening url=${fe.url}\n`);
      await new Promise<void>((resolve) => {
        process.once('SIGINT', resolve);
        process.once('SIGTERM', resolve);
      });
      await fe.close();
      process.exit(0);
    });
}
