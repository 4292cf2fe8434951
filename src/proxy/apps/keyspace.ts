// Keyspace-wide commands through the proxy:
// - SCAN walks the group masters in turn, by group id, and walks again the groups of slots that moved
//   during a pass (scan-walk.ts: no key present for the whole scan is missed across migrations and
//   failovers). MATCH, COUNT and TYPE are passed to each backend. Keys of the proxy's migration
//   machinery (`__shardis_*`) are hidden.
// - KEYS pattern is sent to every master and the lists are joined.
// - RANDOMKEY asks the masters in random order until one has a key.
import { encode, encodeCommand, errorReply, arr, bulk, nil } from '../../resp/encode.js';
import { arrayElements, isErrorReply } from '../../resp/reply-scanner.js';
import { rawOf, type Request } from '../../resp/request-parser.js';
import type { CommandSpec } from '../../commands/table.js';
import { INTERNAL_PREFIX } from '../../migration/key-move.js';
import type { CommandStats } from '../stats.js';
import type { AppsHost } from './host.js';
import { toEachMaster, sortedMasters } from './fanout.js';
import { argBuf, argText } from './slot-keys.js';
import { bulkAt } from './pubsub/subscriber-conn.js';
import { decodeScanCursor, scanStep } from './scan-walk.js';
import { slotOf } from '../../slots/hash.js';

const INTERNAL = Buffer.from(INTERNAL_PREFIX);
const isInternal = (k: Buffer): boolean => k.length >= INTERNAL.length && k.subarray(0, INTERNAL.length).equals(INTERNAL);

/** The keys of a backend's [cursor, [keys]] or KEYS reply, without internal keys. */
function keysOf(r: Buffer, els: Array<[number, number]>): Buffer[] {
  return els.map(([s, e]) => Buffer.from(bulkAt(r, s, e))).filter((k) => !isInternal(k));
}

export function handleKeyspace(h: AppsHost, spec: CommandSpec, req: Request, cmd: CommandStats): void {
  const masters = sortedMasters(h);
  if (!h.ctx.online || masters.length === 0) {
    h.reply(cmd, errorReply('ERR proxy is not online yet (no slot table)'));
    return;
  }
  const p = h.defer(cmd);
  const done = (r: Buffer): void => p.onReply(r);
  void (async () => {
    switch (spec.name) {
      case 'scan':
        return done(await scan(h, req));
      case 'keys': {
        const replies = await toEachMaster(h, Buffer.from(rawOf(req)), masters);
        const bad = replies.find(isErrorReply);
        if (bad) return done(bad);
        const all: Buffer[] = [];
        for (const r of replies) all.push(...keysOf(r, arrayElements(r) ?? []));
        return done(encode(arr(all.map((k) => bulk(k))), h.proto));
      }
      case 'randomkey': {
        const order = masters.slice().sort(() => Math.random() - 0.5);
        for (const addr of order) {
          const [r] = await toEachMaster(h, Buffer.from(rawOf(req)), [addr]);
          if (r === undefined) continue;
          if (isErrorReply(r)) return done(r);
          if (r[0] === 36 && r[1] !== 45) {
            const k = bulkAt(r, 0, r.length);
            if (!isInternal(k)) return done(r);
          }
        }
        return done(encode(nil, h.proto));
      }
      default:
        return done(errorReply(`ERR command '${spec.display}' is not supported by the proxy`));
    }
  })().catch((e: Error) => done(errorReply(`ERR ${e.message}`)));
}

async function scan(h: AppsHost, req: Request): Promise<Buffer> {
  const cur = decodeScanCursor(argText(req, 1));
  if (cur === null) return errorReply('ERR invalid cursor');
  const step = scanStep(h.ctx.router, h.ctx.apps.scanPasses, cur);
  if (step.addr === null) return encode(arr([bulk(step.after(0n)), arr([])]), h.proto);
  const opts: Buffer[] = [];
  for (let i = 2; i < req.argc; i++) opts.push(Buffer.from(argBuf(req, i)));
  const [r] = await toEachMaster(h, encodeCommand(['SCAN', step.backend.toString(), ...opts]), [step.addr]);
  if (r === undefined || isErrorReply(r)) return r ?? errorReply('ERR scan failed');
  const top = arrayElements(r);
  const [cursorEl, listEl] = top ?? [];
  if (top === null || top.length !== 2 || cursorEl === undefined || listEl === undefined)
    return errorReply('ERR unexpected SCAN reply from backend');
  const next = BigInt(bulkAt(r, cursorEl[0], cursorEl[1]).toString('latin1'));
  const list = r.subarray(listEl[0], listEl[1]);
  const only = step.slots;
  const keys = keysOf(list, arrayElements(list) ?? []).filter((k) => only === null || only.has(slotOf(k)));
  return encode(arr([bulk(step.after(next)), arr(keys.map((k) => bulk(k)))]), h.proto);
}
