// `shardis dashboard`: loads the TOML config and flags and runs the dashboard for one product.
// Prints `shardis dashboard standby` while another dashboard holds the product lock and
// `shardis dashboard ready admin_port=<port>` once active, so scripts and tests can wait on it.
// SIGTERM/SIGINT release the lock and exit 0.
import { Command } from 'commander';
import { DASHBOARD_OPTIONS, toDashboardConfig } from '../dashboard/config.js';
import { runDashboard } from '../dashboard/run.js';
import { applyFlags, defaults, loadToml, renderDefaultToml } from '../util/options.js';
import { makeLogger } from '../util/log.js';
import { addOptionFlags, flagOverrides, type CliValue } from './option-flags.js';

export function dashboardCommand(): Command {
  const cmd = new Command('dashboard')
    .description('run the control plane of one product (groups, proxies, slot tables; one active per product, others stand by)')
    .option('--config <file>', 'TOML config file (Codis dashboard.toml keys accepted)')
    .option('--default-config', 'print a commented config with every option at its default and exit');
  addOptionFlags(cmd, DASHBOARD_OPTIONS);
  cmd.action(async (opts: Record<string, CliValue>) => {
    if (opts.defaultConfig) {
      process.stdout.write(renderDefaultToml('shardis dashboard config', DASHBOARD_OPTIONS));
      return;
    }
    const base = opts.config ? loadToml(DASHBOARD_OPTIONS, String(opts.config)) : defaults(DASHBOARD_OPTIONS);
    const config = toDashboardConfig(applyFlags(DASHBOARD_OPTIONS, base, flagOverrides(DASHBOARD_OPTIONS, opts)));
    const log = makeLogger('dashboard', config.logLevel);
    const d = await runDashboard(config, log);
    log.info({ product: config.productName, admin: d.adminAddr, coordinator: config.coordinator }, 'dashboard API listening');
    d.onState((s) => {
      if (s === 'active') process.stdout.write(`shardis dashboard ready admin_port=${d.adminPort}\n`);
      else if (s === 'standby') process.stdout.write(`shardis dashboard standby admin_port=${d.adminPort}\n`);
    });
    const onSignal = (sig: string): void => {
      log.info({ signal: sig }, 'signal received; releasing the product lock');
      void d.stop();
    };
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
    await d.done;
    log.info('dashboard stopped');
    process.exit(0);
  });
  return cmd;
}
