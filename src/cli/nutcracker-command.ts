// `shardis nutcracker -c FILE`: a drop-in for twemproxy's nutcracker binary, with its flags
// (-c -s -a -i -o -t -d -p, and -v -m -D accepted), and the runner `shardis proxy --nutcracker FILE`
// shares. The whole file is validated before anything listens; errors name the file line.
import { spawn } from 'node:child_process';
import { openSync, writeFileSync, unlinkSync } from 'node:fs';
import { resolve } from 'node:path';
import { Command } from 'commander';
import pino from 'pino';
import { defaultProxyConfig, type ProxyConfig } from '../proxy/config.js';
import { parseAddr } from '../util/address.js';
import { readNutcrackerConfig } from '../twemproxy/config.js';
import { runTwemproxy } from '../twemproxy/run.js';
import { POOL_FIELDS, SERVER_FIELDS } from '../twemproxy/stats-json.js';

export interface NutcrackerRunArgs {
  file: string;
  base: ProxyConfig;
  stats: { host: string; port: number } | null;
  adminAddr: string;
  /** Bearer token of the admin paths ('' = none, loopback admin address only). */
  adminToken: string;
  logFile: string;
  logLevel: string;
  pidFile: string;
}

/** Reads the file, starts every pool, prints the ready line, and runs until SIGTERM/SIGINT. */
export async function runNutcrackerFile(a: NutcrackerRunArgs): Promise<void> {
  const pools = readNutcrackerConfig(a.file);
  const logger = pino(
    { name: 'twemproxy', level: a.logLevel, base: { pid: process.pid } },
    a.logFile ? pino.destination({ dest: a.logFile, append: true, mkdir: true }) : pino.destination(2),
  );
  const log = (msg: string, fields?: Record<string, unknown>): void => logger.info(fields ?? {}, msg);
  const running = await runTwemproxy({ pools, base: a.base, stats: a.stats, adminAddr: a.adminAddr, adminToken: a.adminToken, log });
  if (a.pidFile) writeFileSync(a.pidFile, `${process.pid}\n`);
  const listen = running.servers
    .map((s) => `${s.pool.name}=${s.pool.listen.kind === 'tcp' ? running.ports.get(s.pool.name) : s.pool.listen.path}`)
    .join(',');
  logger.info(
    { pools: Object.fromEntries(running.ports), stats_port: running.statsPort, admin_port: running.adminPort },
    'twemproxy mode listening',
  );
  process.stdout.write(`shardis nutcracker ready stats_port=${running.statsPort} admin_port=${running.adminPort} pools=${listen}\n`);
  await new Promise<void>((done) => {
    const stop = (): void => {
      void running
        .shutdown()
        .catch(() => {
          /* exiting anyway */
        })
        .finally(() => {
          if (a.pidFile) {
            try {
              unlinkSync(a.pidFile);
            } catch {
              /* already gone */
            }
          }
          done();
        });
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
}

function describeStats(): string {
  return ['pool stats:', ...POOL_FIELDS.map((f) => `  ${f}`), '', 'server stats:', ...SERVER_FIELDS.map((f) => `  ${f}`), ''].join('\n');
}

export function nutcrackerCommand(): Command {
  const cmd = new Command('nutcracker')
    .description(
      'run as a drop-in for twemproxy (nutcracker): every pool of a nutcracker.yml, same placement and stats, Sentinel-aware pools',
    )
    .option('-c, --conf-file <file>', 'configuration file', 'conf/nutcracker.yml')
    .option('-s, --stats-port <port>', 'stats monitoring port', '22222')
    .option(
      '-a, --stats-addr <addr>',
      'stats monitoring ip (nutcracker: 0.0.0.0; here loopback, since the stats name every server)',
      '127.0.0.1',
    )
    .option('-i, --stats-interval <ms>', 'stats aggregation interval in msec (accepted; Shardis stats are always current)', '30000')
    .option('-o, --output <file>', 'log file (default stderr)')
    .option('-t, --test-conf', 'test the configuration file for syntax errors and exit')
    .option('-d, --daemonize', 'run as a daemon')
    .option('-p, --pid-file <file>', 'pid file')
    .option('-v, --verbose <n>', 'log level 0..11 (accepted; 6 and above log debug)', '5')
    .option('-m, --mbuf-size <n>', 'mbuf chunk size (accepted and ignored: Shardis has no mbufs)')
    .option('-D, --describe-stats', 'print stats description and exit')
    .option('--admin-addr <addr>', 'HTTP address for /metrics, /stats, /sentinels and /health (default: none)', '')
    .option(
      '--admin-token <token>',
      'bearer token for the admin paths but /health (needed when --admin-addr is not loopback; default $SHARDIS_ADMIN_TOKEN)',
      process.env['SHARDIS_ADMIN_TOKEN'] ?? '',
    );
  cmd.action(async (o: Record<string, string | boolean | undefined>) => {
    if (o.describeStats) {
      process.stdout.write(describeStats());
      return;
    }
    const file = String(o.confFile);
    if (o.testConf) {
      readNutcrackerConfig(file); // throws with file:line on any error
      process.stdout.write(`nutcracker: configuration file '${file}' syntax is ok\n`);
      return;
    }
    const statsPort = Number(o.statsPort);
    if (!Number.isInteger(statsPort) || statsPort < 0 || statsPort > 65535) throw new Error(`-s ${String(o.statsPort)}: not a port`);
    if (o.daemonize) {
      readNutcrackerConfig(file); // fail in the foreground, not in a detached child
      const args = process.argv.slice(1).filter((x) => x !== '-d' && x !== '--daemonize');
      const out = o.output ? openSync(String(o.output), 'a') : 'ignore';
      const child = spawn(process.execPath, [...process.execArgv, ...args], { detached: true, stdio: ['ignore', out, out] });
      child.unref();
      process.stdout.write(`shardis nutcracker daemonized pid=${child.pid ?? 0}\n`);
      return;
    }
    const verbose = Number(o.verbose);
    await runNutcrackerFile({
      file: resolve(file),
      base: defaultProxyConfig(),
      stats: { host: String(o.statsAddr), port: statsPort },
      adminAddr: String(o.adminAddr ?? ''),
      adminToken: String(o.adminToken ?? ''),
      logFile: o.output ? String(o.output) : '',
      logLevel: verbose >= 6 ? 'debug' : 'info',
      pidFile: o.pidFile ? String(o.pidFile) : '',
    });
    process.exit(0);
  });
  return cmd;
}

/** `shardis proxy --nutcracker FILE`: the proxy's own options as defaults for every pool. */
export async function runProxyNutcracker(file: string, base: ProxyConfig, statsAddr: string): Promise<void> {
  const stats = statsAddr ? parseAddr(statsAddr, { allowEmptyHost: true, allowPortZero: true }) : null;
  await runNutcrackerFile({
    file: resolve(file),
    base,
    stats,
    adminAddr: base.adminAddr,
    adminToken: process.env['SHARDIS_ADMIN_TOKEN'] ?? '',
    logFile: '',
    logLevel: base.logLevel,
    pidFile: '',
  });
  process.exit(0);
}
