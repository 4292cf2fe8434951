// `shardis admin sentinel ...` and the HA group subcommands (`group promote`, `group sync`): the
// dashboard's sentinel list and what each sentinel sees (disagreements flagged), planned switchover,
// and pointing a server at its group master.
import type { Command } from 'commander';
import type { DashboardClient, GlobalOptions } from './client.js';
import type { CliValue } from '../option-flags.js';
import { table } from './format.js';

type Opts = GlobalOptions & Record<string, CliValue>;

export interface AdminHelpers {
  action: (fn: (opts: Opts, args: Array<string | undefined>) => Promise<void>) => (...a: unknown[]) => Promise<void>;
  client: (opts: Opts) => Promise<DashboardClient>;
  out: (opts: Opts, json: unknown, human: () => string) => void;
}

interface SentinelStats {
  model: { servers: string[]; out_of_sync: boolean };
  stats: Record<
    string,
    { error?: string; masters?: Record<string, { addr: string; epoch: number; flags: string; num_slaves: number; quorum: number }> }
  >;
  masters: Record<string, string>;
  disagreements: string[];
}

export function formatSentinels(s: SentinelStats): string {
  const rows: string[][] = [];
  for (const addr of s.model.servers) {
    const st = s.stats[addr];
    if (!st || st.error) {
      rows.push([addr, '-', '-', '-', st?.error ?? 'not asked yet']);
      continue;
    }
    const ms = Object.entries(st.masters ?? {});
    if (ms.length === 0) rows.push([addr, '(none)', '-', '-', '']);
    for (const [name, m] of ms) rows.push([addr, name, m.addr, String(m.epoch), `${m.flags} replicas=${m.num_slaves} quorum=${m.quorum}`]);
  }
  let text = s.model.servers.length ? table(['SENTINEL', 'MASTER NAME', 'MASTER', 'EPOCH', 'STATE'], rows) : 'no sentinels\n';
  text += `out_of_sync: ${s.model.out_of_sync}\n`;
  text += s.disagreements.length
    ? `DISAGREEMENT:\n${s.disagreements.map((d) => `  ! ${d}`).join('\n')}\n`
    : 'all sentinels agree with the dashboard\n';
  return text;
}

export function addHaCommands(admin: Command, group: Command, h: AdminHelpers): void {
  const { action, client, out } = h;
  group
    .command('promote <gid> <addr>')
    .description('planned switchover: make replica ADDR the master of group GID (writes are held, no acknowledged write is lost)')
    .action(
      action(async (opts, [gid, addr]) => {
        const r = await (
          await client(opts)
        ).put<{ offset: number; waited_ms: number }>(
          `/api/topom/group/promote/{token}/${encodeURIComponent(gid!)}/${encodeURIComponent(addr!)}`,
        );
        out(opts, r, () => `${addr} is now the master of group ${gid} (caught up to offset ${r.offset} in ${r.waited_ms} ms)\n`);
      }),
    );
  group
    .command('sync <addr>')
    .description('point a server at its group master (REPLICAOF), or NO ONE for the master itself')
    .action(
      action(async (opts, [addr]) => {
        const r = await (
          await client(opts)
        ).put<{ gid: number; master: string | null }>(`/api/topom/group/action/create/{token}/${encodeURIComponent(addr!)}`);
        out(opts, r, () => `${addr} (group ${r.gid}): ${r.master ? `replica of ${r.master}` : 'master (REPLICAOF NO ONE)'}\n`);
      }),
    );

  const sentinel = admin.command('sentinel').description('sentinels: list, add, del, resync, info');
  sentinel
    .command('list')
    .description('the sentinels, what each one monitors, and any disagreement with the dashboard')
    .action(
      action(async (opts) => {
        const s = await (await client(opts)).get<SentinelStats>('/api/topom/sentinels/stats/{token}');
        out(opts, s, () => formatSentinels(s));
      }),
    );
  sentinel
    .command('add <addr>')
    .description('add a sentinel and make it monitor every group master')
    .action(
      action(async (opts, [addr]) => {
        const r = await (await client(opts)).put<{ sentinels: string[] }>(`/api/topom/sentinels/add/{token}/${encodeURIComponent(addr!)}`);
        out(opts, r, () => `sentinel ${addr} added; sentinels: ${r.sentinels.join(', ')}\n`);
      }),
    );
  sentinel
    .command('del <addr>')
    .description("remove the product's masters from a sentinel and drop it")
    .option('--force', 'drop it even if it cannot be reached')
    .action(
      action(async (opts, [addr]) => {
        const r = await (
          await client(opts)
        ).put<{ sentinels: string[] }>(`/api/topom/sentinels/del/{token}/${encodeURIComponent(addr!)}/${opts.force ? 1 : 0}`);
        out(opts, r, () => `sentinel ${addr} removed; sentinels: ${r.sentinels.join(', ') || '(none)'}\n`);
      }),
    );
  sentinel
    .command('resync')
    .description('re-configure every sentinel and push the list to every proxy')
    .action(
      action(async (opts) => {
        const r = await (
          await client(opts)
        ).put<{ skipped_groups: number[]; proxies_failed: string[] }>('/api/topom/sentinels/resync-all/{token}');
        out(
          opts,
          r,
          () =>
            `sentinels resynced${r.skipped_groups.length ? `; skipped groups ${r.skipped_groups.join(', ')}` : ''}${r.proxies_failed.length ? `; proxies failed: ${r.proxies_failed.join('; ')}` : ''}\n`,
        );
      }),
    );
  sentinel
    .command('info <addr>')
    .description('what one sentinel monitors for this product (masters and replicas)')
    .action(
      action(async (opts, [addr]) => {
        const r = await (
          await client(opts)
        ).get<Array<{ name: string; addr: string; epoch: number; flags: string; replicas: Array<{ addr: string; flags: string }> }>>(
          `/api/topom/sentinels/info/${encodeURIComponent(addr!)}/monitored`,
        );
        out(opts, r, () =>
          table(
            ['MASTER NAME', 'MASTER', 'EPOCH', 'FLAGS', 'REPLICAS'],
            r.map((m) => [m.name, m.addr, String(m.epoch), m.flags, m.replicas.map((x) => `${x.addr}(${x.flags})`).join(' ')]),
          ),
        );
      }),
    );
}
