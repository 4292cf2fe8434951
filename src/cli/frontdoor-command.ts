// `shardis frontdoor sync`: the agent that runs beside one HAProxy and keeps its backend equal to the
// live proxy list through the Runtime API (src/frontdoor/haproxy-sync.ts). Ctrl-C / SIGTERM stops it.
import type { CliValue } from './option-flags.js';
import { Command } from 'commander';
import { FRONTDOOR_SYNC_OPTIONS, toFrontdoorSyncConfig } from '../frontdoor/sync-config.js';
import { startHaproxySync } from '../frontdoor/haproxy-sync.js';
import { serverKeywords } from '../frontdoor/haproxy-config.js';
import { dashboardDirectory, jodisDirectory } from '../client/proxy-directory.js';
import { showServers } from '../frontdoor/haproxy-runtime.js';
import { applyFlags, defaults, loadToml, renderDefaultToml } from '../util/options.js';
import { makeLogger } from '../util/log.js';
import { addOptionFlags, flagOverrides } from './option-flags.js';

export function frontdoorCommand(): Command {
  const fd = new Command('frontdoor').description('front-door agents (see `shardis admin frontdoor` for the config generators)');
  const sync = fd
    .command('sync')
    .description('keep one HAProxy backend in sync with the live proxies through the Runtime API (adds, drains, removes; never reloads)')
    .option('--config <file>', 'TOML config file')
    .option('--default-config', 'print a commented config with every option at its default and exit');
  addOptionFlags(sync, FRONTDOOR_SYNC_OPTIONS);
  sync.action(async (opts: Record<string, CliValue>) => {
    if (opts.defaultConfig) {
      process.stdout.write(renderDefaultToml('shardis frontdoor sync config', FRONTDOOR_SYNC_OPTIONS));
      return;
    }
    const base = opts.config ? loadToml(FRONTDOOR_SYNC_OPTIONS, String(opts.config)) : defaults(FRONTDOOR_SYNC_OPTIONS);
    const cfg = toFrontdoorSyncConfig(applyFlags(FRONTDOOR_SYNC_OPTIONS, base, flagOverrides(FRONTDOOR_SYNC_OPTIONS, opts)));
    const log = makeLogger('frontdoor', cfg.logLevel);
    await showServers(cfg.runtimeApi, cfg.backend); // fail fast on a wrong socket or backend
    const directory = cfg.dashboardAddr
      ? dashboardDirectory(cfg.dashboardAddr, { token: cfg.dashboardToken })
      : await jodisDirectory(cfg.coordinator, cfg.productName);
    const agent = startHaproxySync({
      directory,
      runtimeApi: cfg.runtimeApi,
      backend: cfg.backend,
      intervalMs: cfg.syncIntervalMs,
      drainWaitMs: cfg.drainWaitMs,
      log,
      keywords: serverKeywords({
        checkInterMs: cfg.checkInterMs,
        fall: cfg.checkFall,
        rise: cfg.checkRise,
        maxconnPerServer: cfg.maxconnPerServer,
      }),
    });
    await agent.syncOnce().catch((e: Error) => log.warn({ err: e.message }, 'first sync pass failed; retrying'));
    process.stdout.write(`shardis frontdoor sync ready backend=${cfg.backend} source=${directory.describe.replace(/\s/g, '_')}\n`);
    await new Promise<void>((r) => {
      process.once('SIGINT', r);
      process.once('SIGTERM', r);
    });
    await agent.stop();
    await directory.close();
    process.exit(0);
  });
  return fd;
}
