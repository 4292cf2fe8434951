// The `shardis` command: one entry with subcommands (proxy, up, ...). Worker processes forked by
// `shardis proxy --workers N` also start here and go straight to the proxy worker loop.
import cluster from 'node:cluster';
import { Command } from 'commander';
import { VERSION } from '../version.js';
import type { ProxyConfig } from '../proxy/config.js';

/** Subcommands, loaded on demand so a process only loads what it runs (a proxy does not need the dashboard). */
const SUBCOMMANDS: Record<string, () => Promise<Command>> = {
  proxy: async () => (await import('./proxy-command.js')).proxyCommand(),
  up: async () => (await import('./up-command.js')).upCommand(),
  dashboard: async () => (await import('./dashboard-command.js')).dashboardCommand(),
  admin: async () => (await import('./admin-command.js')).adminCommand(),
  fe: async () => (await import('./fe-command.js')).feCommand(),
  nutcracker: async () => (await import('./nutcracker-command.js')).nutcrackerCommand(),
  frontdoor: async () => (await import('./frontdoor-command.js')).frontdoorCommand(),
};

async function main(): Promise<void> {
  if (cluster.isWorker && process.env.SHARDIS_PROXY_WORKER) {
    const { runProxyWorker } = await import('../proxy/run.js');
    await runProxyWorker(JSON.parse(process.env.SHARDIS_PROXY_CONFIG ?? '{}') as ProxyConfig);
    return;
  }
  const program = new Command('shardis').version(VERSION).description('Shardis: Redis sharding proxy and control plane on stock Redis 7');
  const wanted = process.argv[2] !== undefined && process.argv[2] in SUBCOMMANDS ? [process.argv[2]] : Object.keys(SUBCOMMANDS);
  for (const name of wanted) {
    const make = SUBCOMMANDS[name];
    if (make) program.addCommand(await make());
  }
  await program.parseAsync(process.argv);
}

main().catch((e: Error) => {
  process.stderr.write(`shardis: ${e.message}\n`);
  process.exit(1);
});
