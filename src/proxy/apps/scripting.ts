// SCRIPT LOAD/EXISTS/FLUSH and FUNCTION LOAD/DELETE/FLUSH/LIST/DUMP/RESTORE applied to every group
// master, so EVALSHA and FCALL work on any slot. The proxy remembers loaded scripts and the last
// function dump (runtime.scripts) and replays them on a master it has not seen before, when a table
// that names it arrives (a new group, a promoted replica) — before it serves requests through this proxy.
import { encodeCommand, errorReply, intReply } from '../../resp/encode.js';
import { arrayElements, integerOf, isErrorReply } from '../../resp/reply-scanner.js';
import { rawOf, type Request } from '../../resp/request-parser.js';
import type { CommandSpec } from '../../commands/table.js';
import type { CommandStats } from '../stats.js';
import type { AppsHost } from './host.js';
import { toEachMaster } from './fanout.js';
import { argBuf } from './slot-keys.js';
import { bulkAt } from './pubsub/subscriber-conn.js';
import { at } from '../../util/at.js';

const FUNCTION_DUMP = encodeCommand(['FUNCTION', 'DUMP']);

export function handleScripting(h: AppsHost, spec: CommandSpec, req: Request, cmd: CommandStats): void {
  const masters = h.ctx.router.masters();
  if (!h.ctx.online || masters.length === 0) {
    h.reply(cmd, errorReply('ERR proxy is not online yet (no slot table)'));
    return;
  }
  const p = h.defer(cmd);
  const raw = Buffer.from(rawOf(req));
  const memory = h.ctx.apps.scripts;
  void (async () => {
    const replies = await toEachMaster(h, raw, masters);
    const bad = replies.findIndex(isErrorReply);
    if (bad >= 0) return p.onReply(at(replies, bad, 'master reply'));
    const first = at(replies, 0, 'master reply'); // masters is not empty (checked above)
    switch (spec.name) {
      case 'script|exists': {
        // 1 only where every group has the script.
        const lists = replies.map((r) => (arrayElements(r) ?? []).map(([s, e]) => integerOf(r.subarray(s, e)) ?? 0));
        const n = lists[0]?.length ?? 0;
        const parts: Buffer[] = [Buffer.from(`*${n}\r\n`)];
        for (let i = 0; i < n; i++) parts.push(intReply(lists.every((l) => l[i] === 1) ? 1 : 0));
        return p.onReply(Buffer.concat(parts));
      }
      case 'script|load':
        memory.scripts.set(bulkAt(first, 0, first.length).toString('latin1'), Buffer.from(argBuf(req, 2)));
        return p.onReply(first);
      case 'script|flush':
        memory.scripts.clear();
        return p.onReply(first);
      case 'function|list':
      case 'function|dump':
        return p.onReply(first);
      default: {
        // LOAD / DELETE / FLUSH / RESTORE changed the libraries: remember the new dump for late groups.
        const [d] = await toEachMaster(h, FUNCTION_DUMP, [at(masters, 0, 'master')]);
        if (d !== undefined && d[0] === 36) memory.functionDump = Buffer.from(bulkAt(d, 0, d.length));
        return p.onReply(first);
      }
    }
  })().catch((e: Error) => p.onReply(errorReply(`ERR ${e.message}`)));
}

/** What a new master must be given: SCRIPT LOAD of each remembered script, FUNCTION RESTORE of the dump. */
export function replayCommands(mem: { scripts: Map<string, Buffer>; functionDump: Buffer | null }): Buffer[] {
  const out: Buffer[] = [];
  for (const body of mem.scripts.values()) out.push(encodeCommand(['SCRIPT', 'LOAD', body]));
  if (mem.functionDump !== null) out.push(encodeCommand(['FUNCTION', 'RESTORE', mem.functionDump, 'REPLACE']));
  return out;
}
