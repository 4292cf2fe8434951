// Test fixtures for the dashboard: an in-process dashboard (runDashboard) on a filesystem
// coordinator, a dashboard as a real child process (`node bin/shardis.js dashboard`), a hung TCP
// peer, and small JSON HTTP / polling helpers. (In-process proxies: dashboard-proxies.ts.)
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import { runDashboard, type RunningDashboard } from '../../src/dashboard/run.js';
import { DASHBOARD_OPTIONS, toDashboardConfig, type DashboardConfig } from '../../src/dashboard/config.js';
import { applyFlags, defaults } from '../../src/util/options.js';
import { makeLogger } from '../../src/util/log.js';
import type { Spawned } from '../../src/util/processes.js';
import { startShardisProcess, SHARDIS_BIN } from '../../src/util/shardis-process.js';
import { httpJson } from '../../src/util/http-json.js';

export { SHARDIS_BIN };

export const tempDir = (prefix: string): string => mkdtempSync(join(tmpdir(), prefix));

export function dashboardConfig(over: Record<string, string>): DashboardConfig {
  return toDashboardConfig(
    applyFlags(DASHBOARD_OPTIONS, defaults(DASHBOARD_OPTIONS), { admin_addr: '127.0.0.1:0', log_level: 'warn', ...over }),
  );
}

export interface TestDashboard {
  d: RunningDashboard;
  addr: string;
  config: DashboardConfig;
  token: string;
  stop(): Promise<void>;
}

/** Starts a dashboard in this process; waits until it is active unless `waitActive` is false. */
export async function startDashboard(over: Record<string, string>, waitActive = true): Promise<TestDashboard> {
  const config = dashboardConfig(over);
  const d = await runDashboard(config, makeLogger('dashboard-test', config.logLevel));
  if (waitActive) await waitState(d, 'active');
  return { d, addr: `127.0.0.1:${d.adminPort}`, config, token: config.adminToken, stop: () => d.stop() };
}

/** Waits until the in-process dashboard reached `state`. */
export function waitState(d: RunningDashboard, state: string, timeoutMs = 10000): Promise<void> {
  return new Promise((res, rej) => {
    const t = setTimeout(() => rej(new Error(`dashboard did not become ${state} within ${timeoutMs} ms (now ${d.state()})`)), timeoutMs);
    d.onState((s) => {
      if (s === state) {
        clearTimeout(t);
        res();
      }
    });
  });
}

// Replies default to `any`: tests read many reply shapes; the eslint override for test/integration says why.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export interface ApiReply<T = any> {
  status: number;
  body: T;
}

/** JSON call to a dashboard; never throws for HTTP errors. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see ApiReply
export async function call<T = any>(
  method: 'GET' | 'PUT',
  addr: string,
  path: string,
  body?: unknown,
  headers?: Record<string, string>,
): Promise<ApiReply<T>> {
  const r = await httpJson(method, addr, path, { timeoutMs: 30000, body, headers });
  return { status: r.status, body: r.json as T };
}

export interface DashboardProcess {
  proc: Spawned;
  adminPort: number;
  addr: string;
  /** Resolves once the process printed its ready line (maybe after being standby); rejects if it exits first or after `timeoutMs`. */
  waitReady(timeoutMs: number): Promise<void>;
  /** Resolves once it printed its standby line; rejects if it exits first or after `timeoutMs`. */
  waitStandby(timeoutMs: number): Promise<void>;
  lines: string[];
}

/**
 * The one helper that runs `node bin/shardis.js dashboard ARGS` for tests and benches; resolves once it
 * printed its admin port (ready or standby), within `startMs`. The process is stopped if that fails.
 */
export async function startDashboardProcess(args: string[], logFile: string, startMs = 30000): Promise<DashboardProcess> {
  const p = startShardisProcess('dashboard', args, logFile);
  let adminPort: number;
  try {
    adminPort = Number((await p.waitLine(/admin_port=(\d+)/, startMs))[1]);
  } catch (e) {
    await p.proc.kill9();
    throw e;
  }
  const seen = async (re: RegExp, timeoutMs: number): Promise<void> => {
    await p.waitLine(re, timeoutMs);
  };
  return {
    proc: p.proc,
    adminPort,
    addr: `127.0.0.1:${adminPort}`,
    lines: p.lines,
    waitReady: (ms) => seen(/^shardis dashboard ready/, ms),
    waitStandby: (ms) => seen(/^shardis dashboard standby/, ms),
  };
}

/** A TCP server that accepts connections and never answers (a hung proxy). */
export async function startBlackhole(): Promise<{ addr: string; close(): Promise<void> }> {
  const socks = new Set<net.Socket>();
  const srv = net.createServer((s) => {
    socks.add(s);
    s.on('error', () => {});
    s.on('close', () => socks.delete(s));
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const a = srv.address() as net.AddressInfo;
  return {
    addr: `127.0.0.1:${a.port}`,
    close: () =>
      new Promise<void>((r) => {
        for (const s of socks) s.destroy();
        srv.close(() => r());
      }),
  };
}
