// `shardis admin slots ...` migration commands: migrate (one slot, ranges, or N slots of a group),
// rebalance, drain (empty a group), cancel, pause / resume / throttle / busy, and progress with a live bar
// (`--wait` on the queueing commands, `progress --watch`).
import type { Command } from 'commander';
import type { DashboardClient, GlobalOptions } from './client.js';
import type { CliValue } from '../option-flags.js';
import { usageError } from './client.js';

type Opts = GlobalOptions & Record<string, CliValue>;

export interface AdminHelpers {
  action(fn: (opts: Opts, args: Array<string | undefined>) => Promise<void>): (...a: unknown[]) => Promise<void>;
  out(opts: Opts, json: unknown, human: () => string): void;
  client(opts: Opts): Promise<DashboardClient>;
  intArg(v: string, what: string, min: number, max: number): number;
  parseSlotRanges(spec: string): number[];
}

export interface ProgressReply {
  interval: number;
  busy_percent?: number;
  busy_percent_now?: number;
  disabled: boolean;
  executor: number;
  progress: {
    status: string;
    state: string;
    slots_pending: number;
    slots_in_progress: number;
    slots_done: number;
    slots_total: number;
    keys_moved: number;
    big_keys_moved: number;
    keys_per_sec: number;
    errors: number;
    last_error: string;
    waiting_for: string;
    elapsed_ms: number;
  };
}

const fmt = (n: number): string => n.toLocaleString('en-US');

/** One line: a bar of slots done, keys moved, rate, errors, state. */
export function progressLine(r: ProgressReply, width = 30): string {
  const p = r.progress;
  const total = Math.max(p.slots_total, 1);
  const done = Math.min(p.slots_done, total);
  const fill = Math.round((done / total) * width);
  const bar = `[${'#'.repeat(fill)}${'.'.repeat(width - fill)}]`;
  const state = r.disabled && p.state !== 'idle' ? 'paused' : p.state;
  let line =
    `${bar} ${done}/${p.slots_total} slots (${p.slots_in_progress} moving, ${p.slots_pending} queued)  ${fmt(p.keys_moved)} keys` +
    `${p.big_keys_moved ? ` (${p.big_keys_moved} big)` : ''}  ${fmt(p.keys_per_sec)} keys/s  ${(p.elapsed_ms / 1000).toFixed(1)}s  errors ${p.errors}  ${state}`;
  if (r.interval) line += `  interval ${r.interval}us`;
  if (p.state !== 'idle' && r.busy_percent_now !== undefined && r.busy_percent_now < 100)
    line += `  paced ${r.busy_percent_now}% (clients active)`;
  if (p.waiting_for) line += `\n  waiting: ${p.waiting_for}`;
  else if (p.last_error && p.errors) line += `\n  last error: ${p.last_error}`;
  return line;
}

async function fetchProgress(c: DashboardClient): Promise<ProgressReply> {
  return c.get<ProgressReply>('/api/topom/slots/action/progress/{token}');
}

/** Prints progress until the queue is empty (or forever with `untilIdle` false). */
async function watch(c: DashboardClient, json: boolean, untilIdle: boolean): Promise<ProgressReply> {
  const tty = process.stdout.isTTY === true && !json;
  let lastPrint = 0;
  for (;;) {
    const r = await fetchProgress(c);
    const idle = r.progress.slots_pending + r.progress.slots_in_progress === 0;
    const now = Date.now();
    if (json) {
      if (idle || now - lastPrint >= 2000) {
        process.stdout.write(JSON.stringify(r.progress) + '\n');
        lastPrint = now;
      }
    } else if (tty) {
      process.stdout.write(`\r\x1b[K${progressLine(r).split('\n').join('  |  ')}`);
    } else if (idle || now - lastPrint >= 2000) {
      process.stdout.write(progressLine(r) + '\n');
      lastPrint = now;
    }
    if (idle && untilIdle) {
      if (tty) process.stdout.write('\n');
      return r;
    }
    await new Promise((res) => setTimeout(res, 500));
  }
}

/** Contiguous runs of sorted ids. */
function runs(ids: number[]): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (const id of ids) {
    const last = out[out.length - 1];
    if (last && last[1] === id - 1) last[1] = id;
    else out.push([id, id]);
  }
  return out;
}

// (Longer than ~60 lines on purpose: a flat list of subcommand definitions, one block each.)
export function addMigrationCommands(slots: Command, h: AdminHelpers): void {
  const afterQueue = async (opts: Opts, c: DashboardClient, summary: string, body: unknown): Promise<void> => {
    if (!opts.wait) {
      h.out(opts, body, () => summary + '\n');
      return;
    }
    if (!opts.json) process.stdout.write(summary + '\n');
    const r = await watch(c, Boolean(opts.json), true);
    if (!opts.json)
      process.stdout.write(`done: ${r.progress.slots_done} slots, ${fmt(r.progress.keys_moved)} keys moved, ${r.progress.errors} errors\n`);
  };

  slots
    .command('migrate')
    .description('move slots (and their keys, online) to another group: --range R --to GID, or --from GID --to GID --num N')
    .option('--range <ranges>', 'slots, e.g. 0-511 or 0-9,12')
    .option('--from <gid>', 'source group (with --num)')
    .option('--num <n>', 'number of slots to take from --from')
    .option('--to <gid>', 'target group')
    .option('--wait', 'show progress until the migration queue is empty')
    .action(
      h.action(async (opts) => {
        if (!opts.to) throw usageError('--to GID is required');
        const to = h.intArg(String(opts.to), 'group id', 1, 9999);
        const c = await h.client(opts);
        let queued = 0;
        if (opts.range) {
          if (opts.from || opts.num) throw usageError('--range cannot be combined with --from/--num');
          for (const [b, e] of runs(h.parseSlotRanges(String(opts.range)))) {
            const r = await c.put<{ queued: number[] }>(
              b === e
                ? `/api/topom/slots/action/create/{token}/${b}/${to}`
                : `/api/topom/slots/action/create-range/{token}/${b}/${e}/${to}`,
            );
            queued += r.queued.length;
          }
        } else if (opts.from && opts.num) {
          const from = h.intArg(String(opts.from), 'group id', 1, 9999);
          const num = h.intArg(String(opts.num), '--num', 1, 1024);
          const r = await c.put<{ queued: number[] }>(`/api/topom/slots/action/create-some/{token}/${from}/${to}/${num}`);
          queued = r.queued.length;
        } else throw usageError('give --range R, or --from GID with --num N');
        await afterQueue(opts, c, `${queued} slot(s) queued for migration to group ${to}`, { queued });
      }),
    );

  for (const [name, desc] of [
    ['rebalance', 'even slot counts over all groups with a server, moving as few slots as possible'],
    ['drain <gid>', 'move every slot of a group to the others (evenly), so the group can be removed'],
  ] as const) {
    slots
      .command(name)
      .description(`${desc}; shows the plan, queues it with --confirm`)
      .option('--confirm', 'queue the planned migrations')
      .option('--wait', 'with --confirm: show progress until the queue is empty')
      .action(
        h.action(async (opts, [gid]) => {
          const c = await h.client(opts);
          const confirm = opts.confirm ? 1 : 0;
          const path =
            name === 'rebalance'
              ? `/api/topom/slots/rebalance/{token}/${confirm}`
              : `/api/topom/slots/action/drain/{token}/${h.intArg(gid!, 'group id', 1, 9999)}/${confirm}`;
          const r = await c.put<{ plan: Record<string, number>; queued: number }>(path);
          const byGroup = new Map<number, number[]>();
          for (const [sid, g] of Object.entries(r.plan)) {
            const l = byGroup.get(g) ?? [];
            l.push(Number(sid));
            byGroup.set(g, l);
          }
          const lines = [...byGroup]
            .sort((a, b) => a[0] - b[0])
            .map(
              ([g, ids]) =>
                `  → group ${g}: ${ids.length} slot(s) ${runs(ids)
                  .map(([b, e]) => (b === e ? `${b}` : `${b}-${e}`))
                  .join(',')}`,
            );
          const summary =
            Object.keys(r.plan).length === 0
              ? 'already balanced: nothing to move'
              : `${Object.keys(r.plan).length} slot(s) to move${confirm ? `, ${r.queued} queued` : ' (plan only; add --confirm to queue it)'}\n${lines.join('\n')}`;
          if (confirm && r.queued > 0) await afterQueue(opts, c, summary, r);
          else h.out(opts, r, () => summary + '\n');
        }),
      );
  }

  slots
    .command('cancel [sid]')
    .description('cancel a pending migration (or every pending one with --all)')
    .option('--all', 'every pending migration (a batch already moving finishes)')
    .action(
      h.action(async (opts, [sid]) => {
        const c = await h.client(opts);
        if (opts.all) {
          const r = await c.put<{ removed: number }>('/api/topom/slots/action/remove-pending/{token}');
          h.out(opts, r, () => `${r.removed} pending migration(s) cancelled\n`);
          return;
        }
        if (!sid) throw usageError('give a slot id, or --all');
        const id = h.intArg(sid, 'slot', 0, 1023);
        const r = await c.put(`/api/topom/slots/action/remove/{token}/${id}`);
        h.out(opts, r, () => `migration of slot ${id} cancelled\n`);
      }),
    );

  for (const [name, v] of [
    ['pause', 1],
    ['resume', 0],
  ] as const) {
    slots
      .command(name)
      .description(
        name === 'pause' ? 'pause migrations (a batch under way stops between key batches; slots stay served)' : 'resume migrations',
      )
      .action(
        h.action(async (opts) => {
          const r = await (await h.client(opts)).put(`/api/topom/slots/action/disabled/{token}/${v}`);
          h.out(opts, r, () => `migrations ${name === 'pause' ? 'paused' : 'resumed'}\n`);
        }),
      );
  }

  slots
    .command('throttle <us>')
    .description('sleep between migration batches, in microseconds (0..1000000; 0 = full speed)')
    .action(
      h.action(async (opts, [us]) => {
        const n = h.intArg(us!, 'interval', 0, 1_000_000);
        const r = await (await h.client(opts)).put(`/api/topom/slots/action/interval/{token}/${n}`);
        h.out(opts, r, () => `migration interval set to ${n} us\n`);
      }),
    );

  slots
    .command('busy <percent>')
    .description(
      'share of the time (1..100) the executor may keep a source busy while clients are active (100 = full speed; an idle cluster always migrates at full speed)',
    )
    .action(
      h.action(async (opts, [pct]) => {
        const n = h.intArg(pct!, 'busy percent', 1, 100);
        const r = await (await h.client(opts)).put(`/api/topom/slots/action/busy/{token}/${n}`);
        h.out(opts, r, () => `migration busy share set to ${n}%\n`);
      }),
    );

  slots
    .command('progress')
    .description('migration progress: slots done and left, keys moved, keys/s, errors')
    .option('--watch', 'keep showing it (a live bar) until the queue is empty')
    .action(
      h.action(async (opts) => {
        const c = await h.client(opts);
        if (opts.watch) {
          await watch(c, Boolean(opts.json), true);
          return;
        }
        const r = await fetchProgress(c);
        h.out(opts, r, () => progressLine(r) + '\n');
      }),
    );
}
