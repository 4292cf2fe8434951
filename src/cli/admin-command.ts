// `shardis admin`: every dashboard operation as a subcommand (groups, servers, proxies, slot
// assignment, overview, reload, shutdown) over the dashboard HTTP API, plus coordinator-direct tools
// (list-products, remove-lock). Tables for people by default, `--json` for scripts. Exit codes:
// 0 ok, 1 the dashboard refused or failed the operation, 2 usage error, 3 dashboard unreachable.
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { listProducts, openStore, topomPath, type Store } from '../coordinator/index.js';
import { parseTopom } from '../models/topom.js';
import { MAX_SLOT_NUM } from '../slots/hash.js';
import { isValidAddr } from '../util/address.js';
import { AdminCliError, DashboardClient, usageError, type GlobalOptions } from './admin/client.js';
import type { CliValue } from './option-flags.js';
import { formatGroups, formatOverview, formatProxies, formatSlots, pushLines, table, type StatsReply } from './admin/format.js';
import type { PushReport } from '../dashboard/push-report.js';
import { addMigrationCommands } from './admin/migration.js';
import { addHaCommands } from './admin/ha-commands.js';
import { addMaintenanceCommands } from './admin/maintenance-commands.js';
import { addFrontdoorCommands } from './admin/frontdoor.js';

type Opts = GlobalOptions & Record<string, CliValue>;

function out(opts: Opts, json: unknown, human: () => string): void {
  process.stdout.write(opts.json ? JSON.stringify(json, null, 2) + '\n' : human());
}

function warnPush(opts: Opts, push: PushReport | undefined): string {
  if (opts.json) return '';
  const lines = pushLines(push);
  if (push?.failed.length) process.stderr.write(lines.slice(1).join('\n') + '\n');
  return lines.length ? lines[0] + '\n' : '';
}

function timeoutMs(opts: Opts): number {
  const t = Number(opts.timeout ?? 30000);
  if (!Number.isInteger(t) || t <= 0) throw usageError(`--timeout must be a positive number of milliseconds, got "${opts.timeout}"`);
  return t;
}

async function withStore<T>(opts: Opts, fn: (s: Store) => Promise<T>): Promise<T> {
  if (!opts.coordinator) throw usageError('--coordinator SPEC is required (filesystem:DIR, etcd:HOST:PORT or zookeeper:HOST:PORT)');
  let store: Store;
  try {
    store = await openStore(opts.coordinator, { timeoutMs: Math.min(timeoutMs(opts), 10000) });
  } catch (e) {
    const m = (e as Error).message;
    throw new AdminCliError(
      /BAD_PATH|expected|unknown coordinator|not host:port/.test(m) || (e as { code?: string }).code === 'BAD_PATH' ? 2 : 3,
      `coordinator ${opts.coordinator}: ${m}`,
    );
  }
  try {
    return await fn(store);
  } finally {
    await store.close().catch(() => undefined);
  }
}

async function dashboardAddr(opts: Opts): Promise<string> {
  const addr = opts.dashboard ?? process.env.SHARDIS_DASHBOARD;
  if (addr) {
    // https://HOST:PORT for a dashboard with admin_tls (its CA trusted by the system or NODE_EXTRA_CA_CERTS).
    if (!isValidAddr(addr.replace(/^https?:\/\//i, ''))) throw usageError(`--dashboard "${addr}" is not HOST:PORT or https://HOST:PORT`);
    return addr;
  }
  if (opts.coordinator && opts.product) {
    const product = opts.product;
    return withStore(opts, async (s) => {
      const b = await s.read(topomPath(product));
      const t = b ? parseTopom(JSON.parse(b.toString())) : null;
      if (!t?.admin_addr) throw new AdminCliError(3, `no active dashboard for product "${product}" in ${opts.coordinator}`);
      // The coordinator holds HOST:PORT without a scheme (as Codis writes it).
      return opts['dashboardHttps'] === true ? `https://${t.admin_addr}` : t.admin_addr;
    });
  }
  throw usageError('--dashboard HOST:PORT is required (or --coordinator SPEC with --product NAME to find it, or SHARDIS_DASHBOARD)');
}

async function client(opts: Opts): Promise<DashboardClient> {
  return new DashboardClient(await dashboardAddr(opts), opts, timeoutMs(opts));
}

/** Wraps an action: global options, errors → stderr + exit code. */
function action(fn: (opts: Opts, args: Array<string | undefined>) => Promise<void>): (...a: unknown[]) => Promise<void> {
  return async (...a: unknown[]) => {
    const cmd = a[a.length - 1] as Command;
    const opts = cmd.optsWithGlobals() as Opts;
    const args = a.slice(0, -2).map((x) => (x === undefined ? undefined : String(x as string)));
    try {
      await fn(opts, args);
    } catch (e) {
      const code = e instanceof AdminCliError ? e.exitCode : 1;
      process.stderr.write(`shardis admin: ${(e as Error).message}\n`);
      process.exit(code);
    }
  };
}

function intArg(v: string, what: string, min: number, max: number): number {
  if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max)
    throw usageError(`${what} must be an integer from ${min} to ${max}, got "${v}"`);
  return Number(v);
}

/** "0-511", "7", "0-9,12,20-29" → ids. */
export function parseSlotRanges(spec: string): number[] {
  const ids = new Set<number>();
  for (const part of spec
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean)) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    const first = m?.[1];
    if (!m || first === undefined) throw usageError(`bad slot range "${part}" (examples: 0-511, 7, 0-9,12)`);
    const beg = intArg(first, 'slot', 0, MAX_SLOT_NUM - 1);
    const end = m[2] === undefined ? beg : intArg(m[2], 'slot', 0, MAX_SLOT_NUM - 1);
    if (beg > end) throw usageError(`bad slot range "${part}": the first slot is after the last`);
    for (let i = beg; i <= end; i++) ids.add(i);
  }
  if (ids.size === 0) throw usageError('no slots given');
  return [...ids].sort((a, b) => a - b);
}

async function stats(opts: Opts): Promise<StatsReply> {
  return (await client(opts)).get<StatsReply>('/api/topom/stats/{token}');
}

export function adminCommand(): Command {
  const admin = new Command('admin')
    .description('operate a dashboard (groups, servers, proxies, slots) or inspect a coordinator')
    .option('--dashboard <host:port>', 'dashboard API address (env SHARDIS_DASHBOARD)')
    .option('--token <token>', 'dashboard admin token (env SHARDIS_ADMIN_TOKEN); default: derived from --product and --product-auth')
    .option('--product <name>', 'product name (to derive the admin token, or to find the dashboard in --coordinator)')
    .option('--product-auth <password>', 'product_auth, to derive the default admin token')
    .option(
      '--coordinator <spec>',
      'coordinator for list-products / remove-lock / finding the dashboard: filesystem:DIR, etcd:HOST:PORT, zookeeper:HOST:PORT',
    )
    .option(
      '--dashboard-https',
      'the dashboard found through --coordinator serves HTTPS (admin_tls; its CA trusted by the system or NODE_EXTRA_CA_CERTS)',
    )
    .option('--json', 'print the API replies as JSON')
    .option('--timeout <ms>', 'HTTP timeout in milliseconds', '30000')
    .showSuggestionAfterError(true)
    .exitOverride((err: CommanderError) => {
      process.exit(err.code === 'commander.helpDisplayed' || err.code === 'commander.version' ? 0 : 2);
    });
  addDashboardCommands(admin);
  const group = addGroupCommands(admin);
  addHaCommands(admin, group, { action, client, out });
  addMaintenanceCommands(admin, { action, withStore, out });
  addProxyCommands(admin);
  addSlotCommands(admin);
  addCoordinatorCommands(admin);
  return admin;
}

/** overview, model, xping, reload, shutdown. */
function addDashboardCommands(admin: Command): void {
  admin
    .command('overview')
    .description('product, groups with server stats, proxies, slot counts')
    .action(
      action(async (opts) => {
        const c = await client(opts);
        const o = await c.get<Parameters<typeof formatOverview>[0]>('/api/topom/overview/{token}');
        out(opts, o, () => formatOverview(o));
      }),
    );
  admin
    .command('model')
    .description("the active dashboard's Topom record")
    .action(
      action(async (opts) => {
        const m = await (await client(opts)).get('/topom/model');
        out(opts, m, () => JSON.stringify(m, null, 2) + '\n');
      }),
    );
  admin
    .command('xping')
    .description('check the dashboard is reachable and the admin token is accepted')
    .action(
      action(async (opts) => {
        await (await client(opts)).get('/api/topom/xping/{token}');
        out(opts, { ok: true }, () => 'OK\n');
      }),
    );
  admin
    .command('reload')
    .description('re-read all metadata from the coordinator (after external edits)')
    .action(
      action(async (opts) => {
        const r = await (await client(opts)).put<{ groups: number; proxies: number; assigned: number }>('/api/topom/reload/{token}');
        out(opts, r, () => `reloaded: ${r.groups} groups, ${r.proxies} proxies, ${r.assigned} slots assigned\n`);
      }),
    );
  admin
    .command('shutdown')
    .description('stop the dashboard (it releases the product lock)')
    .action(
      action(async (opts) => {
        const r = await (await client(opts)).put('/api/topom/shutdown/{token}');
        out(opts, r, () => 'dashboard shutting down\n');
      }),
    );
}

/** `group ...`: list, create, remove, add-server, del-server, resync; returns the `group` command. */
function addGroupCommands(admin: Command): Command {
  const group = admin.command('group').description('server groups: list, create, remove, add-server, del-server, resync');
  group
    .command('list')
    .description('groups and their servers with stats')
    .action(
      action(async (opts) => {
        const s = await stats(opts);
        out(opts, s.group, () => formatGroups(s));
      }),
    );
  group
    .command('create <gid>')
    .description('create an empty group (1..9999)')
    .action(
      action(async (opts, [gid]) => {
        const id = intArg(gid!, 'group id', 1, 9999);
        const r = await (await client(opts)).put(`/api/topom/group/create/{token}/${id}`);
        out(opts, r, () => `group ${id} created\n`);
      }),
    );
  group
    .command('remove <gid>')
    .description('remove an empty group')
    .action(
      action(async (opts, [gid]) => {
        const id = intArg(gid!, 'group id', 1, 9999);
        const r = await (await client(opts)).put(`/api/topom/group/remove/{token}/${id}`);
        out(opts, r, () => `group ${id} removed\n`);
      }),
    );
  group
    .command('add-server <gid> <addr>')
    .description('add a redis server (the first one becomes the master); it is probed first')
    .option('--datacenter <dc>', 'datacenter label')
    .action(
      action(async (opts, [gid, addr]) => {
        const id = intArg(gid!, 'group id', 1, 9999);
        const dc = typeof opts.datacenter === 'string' && opts.datacenter ? `/${encodeURIComponent(opts.datacenter)}` : '';
        const r = await (
          await client(opts)
        ).put<{ role: string; redis_version: string; push?: PushReport }>(
          `/api/topom/group/add/{token}/${id}/${encodeURIComponent(addr!)}${dc}`,
        );
        out(opts, r, () => `server ${addr} added to group ${id} as ${r.role} (redis ${r.redis_version})\n` + warnPush(opts, r.push));
      }),
    );
  group
    .command('del-server <gid> <addr>')
    .description('remove a server from a group')
    .action(
      action(async (opts, [gid, addr]) => {
        const id = intArg(gid!, 'group id', 1, 9999);
        const r = await (await client(opts)).put(`/api/topom/group/del/{token}/${id}/${encodeURIComponent(addr!)}`);
        out(opts, r, () => `server ${addr} removed from group ${id}\n`);
      }),
    );
  group
    .command('resync [gid]')
    .description('push the slot tables to every proxy again (one group, or all)')
    .action(
      action(async (opts, [gid]) => {
        const path = gid ? `/api/topom/group/resync/{token}/${intArg(gid, 'group id', 1, 9999)}` : '/api/topom/group/resync-all/{token}';
        const r = await (await client(opts)).put<{ push: PushReport }>(path);
        out(opts, r, () => warnPush(opts, r.push));
      }),
    );
  return group;
}

/** `proxy ...`: list, create, online, reinit, remove. */
function addProxyCommands(admin: Command): void {
  const proxy = admin.command('proxy').description('proxies: list, create, online, reinit, remove');
  proxy
    .command('list')
    .description('registered proxies with their status')
    .action(
      action(async (opts) => {
        const s = await stats(opts);
        out(opts, s.proxy, () => formatProxies(s));
      }),
    );
  for (const [name, mode] of [
    ['create', 'register a new proxy (fails if registered)'],
    ['online', 'register or refresh a proxy and push its table'],
  ] as const) {
    proxy
      .command(`${name} <admin-addr>`)
      .description(`${mode}, by its admin API address`)
      .action(
        action(async (opts, [addr]) => {
          const r = await (
            await client(opts)
          ).put<{ proxy: { id: number; token: string; proxy_addr: string } }>(
            `/api/topom/proxy/${name}/{token}/${encodeURIComponent(addr!)}`,
          );
          out(opts, r, () => `proxy ${r.proxy.id} online: token ${r.proxy.token}, clients at ${r.proxy.proxy_addr}\n`);
        }),
      );
  }
  proxy
    .command('reinit [proxy]')
    .description('push the full slot table to a proxy (token, id or address) and start it')
    .option('--all', 'every proxy')
    .action(
      action(async (opts, [ref]) => {
        if (!ref && !opts.all) throw usageError('give a proxy token, id or address, or --all');
        const path = ref ? `/api/topom/proxy/reinit/{token}/${encodeURIComponent(ref)}` : '/api/topom/proxy/reinit-all/{token}';
        const r = await (await client(opts)).put<{ push: PushReport }>(path);
        out(opts, r, () => warnPush(opts, r.push));
      }),
    );
  proxy
    .command('remove <proxy>')
    .description('shut a proxy down and remove it (token, id or address)')
    .option('--force', 'remove it even if it cannot be shut down (unreachable)')
    .action(
      action(async (opts, [ref]) => {
        const r = await (
          await client(opts)
        ).put<{ proxy: { id: number; admin_addr: string }; shutdown: string }>(
          `/api/topom/proxy/remove/{token}/${encodeURIComponent(ref!)}/${opts.force ? 1 : 0}`,
        );
        out(opts, r, () => `proxy ${r.proxy.id} (${r.proxy.admin_addr}) removed; shutdown: ${r.shutdown}\n`);
      }),
    );

  addFrontdoorCommands(admin, proxy, { action, client, out });
}

/** `slots ...`: show, assign, init-even and the migration subcommands. */
function addSlotCommands(admin: Command): void {
  const slots = admin
    .command('slots')
    .description(
      'slot layout: show, assign (no data is moved), init-even; online migration: migrate, rebalance, drain, cancel, pause, resume, throttle, progress',
    );
  slots
    .command('show')
    .description('slot ranges per group')
    .action(
      action(async (opts) => {
        const s = await stats(opts);
        out(opts, s.slots, () => formatSlots(s.slots));
      }),
    );
  slots
    .command('assign')
    .description('map slots to a group WITHOUT moving data (initial layout, or empty slots)')
    .option('--range <ranges>', 'slots, e.g. 0-511 or 0-9,12')
    .option('--group <gid>', 'target group')
    .option('--offline', 'map the slots to no group')
    .option('--file <file>', 'JSON []SlotMapping ([{"id":0,"group_id":1},...]) instead of --range/--group')
    .action(
      action(async (opts) => {
        let body: unknown;
        if (opts.file) {
          if (opts.range || opts.group || opts.offline) throw usageError('--file cannot be combined with --range, --group or --offline');
          const file = String(opts.file);
          try {
            body = JSON.parse(readFileSync(file, 'utf8'));
          } catch (e) {
            throw usageError(`${file}: ${(e as Error).message}`);
          }
        } else {
          if (!opts.range) throw usageError('--range is required (or --file)');
          if (!opts.group === !opts.offline) throw usageError('give exactly one of --group GID or --offline');
          const gid = opts.offline ? 0 : intArg(String(opts.group), 'group id', 1, 9999);
          body = parseSlotRanges(String(opts.range)).map((id) => ({ id, group_id: gid }));
        }
        const r = await (await client(opts)).put<{ changed: number; push?: PushReport }>('/api/topom/slots/assign/{token}', body);
        out(opts, r, () => `${r.changed} slot(s) changed\n` + warnPush(opts, r.push));
      }),
    );
  slots
    .command('init-even')
    .description('spread all 1024 slots evenly over the groups that have a server (no data is moved)')
    .option('--force', 'also when slots are already assigned (keys in slots that change group become unreachable)')
    .action(
      action(async (opts) => {
        const r = await (
          await client(opts)
        ).put<{ changed: number; groups: number[]; push?: PushReport }>(`/api/topom/slots/init-even/{token}/${opts.force ? 1 : 0}`);
        out(opts, r, () => `${r.changed} slot(s) changed over groups ${r.groups.join(', ')}\n` + warnPush(opts, r.push));
      }),
    );
  addMigrationCommands(slots, { action, out, client, intArg, parseSlotRanges });
}

/** Tools that read the coordinator directly: list-products, remove-lock. */
function addCoordinatorCommands(admin: Command): void {
  admin
    .command('list-products')
    .description('products found in --coordinator and their active dashboards (Codis --dashboard-list)')
    .action(
      action(async (opts) => {
        const list = await withStore(opts, async (s) => {
          const names = await listProducts(s);
          return Promise.all(
            names.map(async (name) => {
              const b = await s.read(topomPath(name)).catch(() => null);
              let dashboard = '';
              try {
                dashboard = b ? parseTopom(JSON.parse(b.toString())).admin_addr : '';
              } catch {
                /* unreadable */
              }
              return { name, dashboard };
            }),
          );
        });
        out(opts, list, () =>
          list.length
            ? table(
                ['PRODUCT', 'DASHBOARD'],
                list.map((p) => [p.name, p.dashboard || '(none active)']),
              )
            : 'no products\n',
        );
      }),
    );
  admin
    .command('remove-lock')
    .description('delete a product lock left behind (e.g. a persistent Codis lock); needs --coordinator and --product')
    .action(
      action(async (opts) => {
        if (!opts.product) throw usageError('--product is required');
        const product = opts.product;
        const removed = await withStore(opts, async (s) => {
          const b = await s.read(topomPath(product));
          if (!b) return null;
          await s.delete(topomPath(product));
          return parseTopom(JSON.parse(b.toString()));
        });
        out(opts, { removed }, () =>
          removed
            ? `removed the lock of the dashboard at ${removed.admin_addr} (pid ${removed.pid})\n`
            : `product ${product} has no lock\n`,
        );
      }),
    );
}
