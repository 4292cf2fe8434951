// `shardis proxy`: loads the TOML config and flags, an optional --fillslots file, and runs the proxy.
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { PROXY_OPTIONS, CODIS_IGNORED_PROXY_KEYS, toProxyConfig } from '../proxy/config.js';
import { applyFlags, defaults, loadToml, renderDefaultToml } from '../util/options.js';
import { parseSlots, type Slot } from '../models/slot.js';
import { runProxy } from '../proxy/run.js';
import { makeLogger } from '../util/log.js';
import { addOptionFlags, flagOverrides, type CliValue } from './option-flags.js';

export function proxyCommand(): Command {
  const cmd = new Command('proxy')
    .description('run the Redis-protocol proxy (routes 1024 slots to redis groups)')
    .option('--config <file>', 'TOML config file (Codis proxy.toml keys accepted)')
    .option('--fillslots <file>', 'slot table JSON (Codis []Slot) to serve at start, without a dashboard')
    .option('--dashboard <addr>', 'register with this dashboard (same as --dashboard-addr)')
    .option('--default-config', 'print a commented config with every option at its default and exit')
    .option('--nutcracker <file>', 'Twemproxy mode: serve every pool of this nutcracker.yml (see `shardis nutcracker`)')
    .option(
      '--nutcracker-stats <addr>',
      'with --nutcracker: host:port of nutcracker\'s stats port ("" for none; nutcracker binds 0.0.0.0, Shardis loopback)',
      '127.0.0.1:22222',
    );
  addOptionFlags(cmd, PROXY_OPTIONS);
  cmd.action(async (opts: Record<string, CliValue>) => {
    if (opts.defaultConfig) {
      process.stdout.write(renderDefaultToml('shardis proxy config', PROXY_OPTIONS));
      return;
    }
    const warnings: string[] = [];
    const base = opts.config
      ? loadToml(PROXY_OPTIONS, String(opts.config), defaults(PROXY_OPTIONS), CODIS_IGNORED_PROXY_KEYS, (m) => warnings.push(m))
      : defaults(PROXY_OPTIONS);
    if (opts.dashboard !== undefined) opts.dashboardAddr = opts.dashboard;
    const config = toProxyConfig(applyFlags(PROXY_OPTIONS, base, flagOverrides(PROXY_OPTIONS, opts)));
    if (opts.nutcracker !== undefined) {
      if (config.workers > 1)
        throw new Error('--workers is not supported with --nutcracker yet (run one process per core on its own listen ports)');
      const { runProxyNutcracker } = await import('./nutcracker-command.js');
      await runProxyNutcracker(String(opts.nutcracker), config, String(opts.nutcrackerStats ?? ''));
      return;
    }
    let slots: Slot[] | null = null;
    if (opts.fillslots) {
      const file = String(opts.fillslots);
      try {
        slots = parseSlots(JSON.parse(readFileSync(file, 'utf8')));
      } catch (e) {
        throw new Error(`${file}: ${(e as Error).message}`);
      }
    }
    const log = makeLogger('proxy', config.logLevel);
    for (const w of warnings) log.warn(w);
    const p = await runProxy(config, slots, log);
    log.info({ proxy: p.proxyPort, admin: p.adminPort, workers: config.workers, slots: slots?.length ?? 0 }, 'proxy listening');
    // A line for scripts and tests that wait for readiness.
    process.stdout.write(`shardis proxy ready proxy_port=${p.proxyPort} admin_port=${p.adminPort}\n`);
    await p.done;
    process.exit(0);
  });
  return cmd;
}
