// The `shardis` command: one entry with subcommands (proxy, up, ...). Worker processes forked by
// `shardis proxy --workers N` also start here and go straight to the proxy worker loop.
import cluster from 'node:cluster';
import { Command } from 'commander';
import { VERSION } from '../version.js';
import { proxyCommand } from './proxy-command.js';
import { upCommand } from './up-command.js';
import { dashboardCommand } from './dashboard-command.js';
import { adminCommand } from './admin-command.js';
import { runProxyWorker } from '../proxy/run.js';

async function main(): Promise<void> {
  if (cluster.isWorker && process.env.SHARDIS_PROXY_WORKER) {
    await runProxyWorker(JSON.parse(process.env.SHARDIS_PROXY_CONFIG ?? '{}'));
    return;
  }
  const program = new Command('shardis')
    .version(VERSION)
    .description('Shardis: Redis sharding proxy and control plane on stock Redis 7')
    .addCommand(proxyCommand())
    .addCommand(upCommand())
    .addCommand(dashboardCommand())
    .addCommand(adminCommand());
  await program.parseAsync(process.argv);
}

main().catch((e: Error) => {
  process.stderr.write(`shardis: ${e.message}\n`);
  process.exit(1);
});
