// `shardis admin` maintenance tools that do not go through the dashboard: dumping a product's
// metadata from the coordinator and restoring it into an empty product (Codis --config-dump /
// --config-restore), and talking to one proxy's admin API directly (Codis --proxy=ADDR ...).
import { readFileSync, writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { groupDir, proxyDir, sentinelPath, slotsDir, topomPath, productPath, type Store } from '../../coordinator/index.js';
import { proxyXAuth, type ProxyModel } from '../../models/proxy.js';
import { httpJson, replyError } from '../../util/http-json.js';
import { AdminCliError, usageError, type GlobalOptions } from './client.js';
import type { CliValue } from '../option-flags.js';

type Opts = GlobalOptions & Record<string, CliValue>;

export interface MaintenanceHelpers {
  action(fn: (opts: Opts, args: Array<string | undefined>) => Promise<void>): (...a: unknown[]) => Promise<void>;
  withStore<T>(opts: Opts, fn: (s: Store) => Promise<T>): Promise<T>;
  out(opts: Opts, json: unknown, human: () => string): void;
}

/** A product's metadata as stored: every node under /codis3/<product>, by kind. */
export interface ConfigDump {
  product: string;
  slots: unknown[];
  group: unknown[];
  proxy: unknown[];
  sentinel: unknown;
}

async function readAll(store: Store, dir: string): Promise<unknown[]> {
  const out: unknown[] = [];
  for (const p of await store.list(dir)) {
    const b = await store.read(p);
    if (b) out.push(JSON.parse(b.toString()));
  }
  return out;
}

export async function dumpProduct(store: Store, product: string): Promise<ConfigDump> {
  const s = await store.read(sentinelPath(product));
  return {
    product,
    slots: await readAll(store, slotsDir(product)),
    group: await readAll(store, groupDir(product)),
    proxy: await readAll(store, proxyDir(product)),
    sentinel: s ? JSON.parse(s.toString()) : null,
  };
}

function requireProduct(opts: Opts): string {
  if (!opts.product) throw usageError('--product NAME is required');
  return opts.product;
}

// (Longer than ~60 lines on purpose: a flat list of subcommand definitions, one block each.)
export function addMaintenanceCommands(admin: Command, h: MaintenanceHelpers): void {
  admin
    .command('config-dump')
    .description("write a product's metadata (slots, groups, proxies, sentinels) as JSON; needs --coordinator and --product")
    .option('--out <file>', 'write to a file instead of stdout')
    .action(
      h.action(async (opts) => {
        const product = requireProduct(opts);
        const dump = await h.withStore(opts, (s) => dumpProduct(s, product));
        const text = JSON.stringify(dump, null, 2) + '\n';
        if (opts.out) writeFileSync(String(opts.out), text);
        else process.stdout.write(text);
      }),
    );

  admin
    .command('config-restore <file>')
    .description('load a config-dump into an EMPTY product with no running dashboard; needs --coordinator, --product and --confirm')
    .option('--confirm', 'really write (without it: only check and say what would be written)')
    .action(
      h.action(async (opts, [file]) => {
        const product = requireProduct(opts);
        let dump: ConfigDump;
        try {
          dump = JSON.parse(readFileSync(file!, 'utf8')) as ConfigDump;
        } catch (e) {
          throw usageError(`${file}: ${(e as Error).message}`);
        }
        if (!Array.isArray(dump.slots) || !Array.isArray(dump.group))
          throw usageError(`${file} is not a config-dump (no slots/group arrays)`);
        const written = await h.withStore(opts, async (s) => {
          if (await s.read(topomPath(product)))
            throw new AdminCliError(1, `a dashboard is running for product "${product}"; stop it first`);
          const present = (await s.list(slotsDir(product))).length + (await s.list(groupDir(product))).length;
          if (present > 0)
            throw new AdminCliError(
              1,
              `product "${product}" is not empty (${present} slot/group entries); restore only goes into an empty product`,
            );
          const nodes: Array<[string, unknown]> = [];
          for (const x of dump.slots as Array<{ id: number }>)
            nodes.push([`${slotsDir(product)}/slot-${String(x.id).padStart(4, '0')}`, x]);
          for (const x of dump.group as Array<{ id: number }>)
            nodes.push([`${groupDir(product)}/group-${String(x.id).padStart(4, '0')}`, x]);
          if (dump.sentinel) nodes.push([sentinelPath(product), dump.sentinel]);
          if (opts.confirm) for (const [p, v] of nodes) await s.create(p, Buffer.from(JSON.stringify(v, null, 4)));
          return nodes.length;
        });
        h.out(opts, { product, nodes: written, written: opts.confirm === true }, () =>
          opts.confirm
            ? `restored ${written} entries into ${productPath(product)} (proxies register themselves again)\n`
            : `would write ${written} entries into ${productPath(product)}; add --confirm to do it\n`,
        );
      }),
    );

  const pa = admin
    .command('proxy-admin')
    .description(
      "talk to one proxy's admin API directly: model, stats, slots, fillslots, reset-stats, shutdown (--product-auth for the xauth)",
    );
  const xauthFor = async (addr: string, opts: Opts): Promise<{ model: ProxyModel; xauth: string }> => {
    const r = await httpJson('GET', addr, '/api/proxy/model', { timeoutMs: 5000 }).catch((e: Error) => {
      throw new AdminCliError(3, `cannot reach proxy admin ${addr}: ${e.message}`);
    });
    if (r.status !== 200) throw new AdminCliError(1, replyError(r));
    const model = r.json as ProxyModel;
    return { model, xauth: proxyXAuth(model.product_name, opts.productAuth ?? '', model.token) };
  };
  const call = async (method: 'GET' | 'PUT', addr: string, path: string, body?: unknown): Promise<unknown> => {
    const r = await httpJson(method, addr, path, { timeoutMs: 30000, body }).catch((e: Error) => {
      throw new AdminCliError(3, `cannot reach proxy admin ${addr}: ${e.message}`);
    });
    if (r.status !== 200) throw new AdminCliError(1, replyError(r));
    return r.json;
  };
  pa.command('model <admin-addr>').action(
    h.action(async (opts, [addr]) => {
      const { model } = await xauthFor(addr!, opts);
      h.out(
        opts,
        model,
        () =>
          Object.entries(model)
            .map(([k, v]) => `${k}: ${String(v)}`)
            .join('\n') + '\n',
      );
    }),
  );
  pa.command('stats <admin-addr>').action(
    h.action(async (opts, [addr]) => {
      const { xauth } = await xauthFor(addr!, opts);
      const st = (await call('GET', addr!, `/api/proxy/stats/${xauth}`)) as {
        ops: { total: number; fails: number };
        sessions: { alive: number; total: number };
      };
      h.out(
        opts,
        st,
        () => `ops ${st.ops.total} (errors ${st.ops.fails}), sessions ${st.sessions.alive} alive / ${st.sessions.total} total\n`,
      );
    }),
  );
  pa.command('slots <admin-addr>').action(
    h.action(async (opts, [addr]) => {
      const { xauth } = await xauthFor(addr!, opts);
      const slots = (await call('GET', addr!, `/api/proxy/slots/${xauth}`)) as Array<{ id: number; backend_addr?: string }>;
      const by = new Map<string, number>();
      for (const s of slots) by.set(s.backend_addr ?? '(none)', (by.get(s.backend_addr ?? '(none)') ?? 0) + 1);
      h.out(opts, slots, () => [...by].map(([a, n]) => `${a}: ${n} slots`).join('\n') + '\n');
    }),
  );
  pa.command('fillslots <admin-addr> <file>')
    .description('replace slot entries from a Codis []Slot JSON file')
    .option('--locked', 'mark every given slot locked')
    .action(
      h.action(async (opts, [addr, file]) => {
        let slots: Array<Record<string, unknown>>;
        try {
          slots = JSON.parse(readFileSync(file!, 'utf8')) as Array<Record<string, unknown>>;
        } catch (e) {
          throw usageError(`${file}: ${(e as Error).message}`);
        }
        if (opts.locked) slots = slots.map((s) => ({ ...s, locked: true }));
        const { xauth } = await xauthFor(addr!, opts);
        await call('PUT', addr!, `/api/proxy/fillslots/${xauth}`, slots);
        h.out(opts, { ok: true, slots: slots.length }, () => `filled ${slots.length} slots\n`);
      }),
    );
  for (const [name, path, done] of [
    ['reset-stats', 'stats/reset', 'stats reset'],
    ['shutdown', 'shutdown', 'proxy shutting down'],
    ['start', 'start', 'proxy online'],
  ] as const) {
    pa.command(`${name} <admin-addr>`).action(
      h.action(async (opts, [addr]) => {
        const { xauth } = await xauthFor(addr!, opts);
        await call('PUT', addr!, `/api/proxy/${path}/${xauth}`);
        h.out(opts, { ok: true }, () => `${done}\n`);
      }),
    );
  }
}
