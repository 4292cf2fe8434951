// Which arguments of a request decide its slot when the request is bound to one group (inside a
// transaction, for a blocking command): the keys from Redis's key specs, MGET/MSET/DEL-style keys of
// split commands, or the channel of PUBLISH/SPUBLISH (a channel lives on its slot's group). Also the
// "all in one slot" check with Redis Cluster's CROSSSLOT wording. Pure, no I/O.
import { keyIndexes, type ArgsView, type CommandSpec } from '../../commands/table.js';
import { slotOfRange } from '../../slots/hash.js';
import { argEnd, argStart } from '../../commands/keys.js';

/** Argument indexes whose slot the request depends on, or an error line (without '-'). */
export function slotArgs(spec: CommandSpec, req: ArgsView): readonly number[] | string {
  const p = spec.policy;
  if (p.kind === 'split') {
    const idx: number[] = [];
    const step = p.merge === 'mset' ? 2 : 1;
    if (p.merge === 'mset' && (req.argc - 1) % 2 !== 0) return spec.arityError;
    for (let i = 1; i < req.argc; i += step) idx.push(i);
    return idx;
  }
  if (spec.name === 'publish' || spec.name === 'spublish') return [1];
  const kr = keyIndexes(spec, req);
  if (!kr.ok) return kr.error;
  return kr.keys;
}

/** The one slot of the given arguments; -1 when there are none; -2 when they span several slots. */
export function oneSlot(req: ArgsView, idx: readonly number[]): number {
  let slot = -1;
  for (const i of idx) {
    const s = slotOfRange(req.buf, argStart(req, i), argEnd(req, i));
    if (slot === -1) slot = s;
    else if (s !== slot) return -2;
  }
  return slot;
}

export const crossSlotError = (display: string): string =>
  `CROSSSLOT Keys in request don't hash to the same slot (command '${display}'); use a {hash tag} to keep them together`;

/** A request built from key bytes only (argument 0 empty): what prepareKeys needs to move keys. */
export function keysRequest(keys: readonly Buffer[]): {
  buf: Buffer;
  offs: number[];
  base: number;
  argc: number;
  rawStart: number;
  rawEnd: number;
  inline: boolean;
  argIdx: number[];
} {
  const buf = Buffer.concat(keys);
  const offs = [0, 0];
  const argIdx: number[] = [];
  let pos = 0;
  keys.forEach((k, i) => {
    offs.push(pos, pos + k.length);
    pos += k.length;
    argIdx.push(i + 1);
  });
  return { buf, offs, base: 0, argc: keys.length + 1, rawStart: 0, rawEnd: 0, inline: false, argIdx };
}

// Callers pass i < argc; an index past it reads as an empty argument.
export const argBuf = (req: ArgsView, i: number): Buffer => req.buf.subarray(argStart(req, i), argEnd(req, i));
export const argText = (req: ArgsView, i: number): string => req.buf.toString('utf8', argStart(req, i), argEnd(req, i));
