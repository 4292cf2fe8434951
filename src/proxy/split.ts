// Splitting MGET / MSET / DEL / UNLINK / EXISTS / TOUCH by group: one sub-command per backend (not one
// per key), and merging the replies back in the client's original key order.
import type { Request } from '../resp/request-parser.js';
import { arrayElements, integerOf, isErrorReply } from '../resp/reply-scanner.js';
import { errorReply, OK } from '../resp/encode.js';
import type { Placement } from './placement.js';

export type MergeKind = 'mget' | 'mset' | 'sum';

export interface SplitPart { addr: string; raw: Buffer }
export interface SplitPlan { parts: SplitPart[]; merge: (replies: Buffer[]) => Buffer }

const digits = (n: number): number => (n < 10 ? 1 : n < 100 ? 2 : n < 1000 ? 3 : String(n).length);

/** A request for argument indexes `idx` of `req` (argument 0, the name, is always included), built in one buffer. */
function subRequest(req: Request, idx: number[]): Buffer {
  const { buf, offs } = req;
  const argLen = (i: number): number => offs[2 * i + 1]! - offs[2 * i]!;
  let size = 3 + digits(idx.length + 1);
  const sizeOf = (i: number): number => { const l = argLen(i); return 3 + digits(l) + l + 2; };
  size += sizeOf(0);
  for (const i of idx) size += sizeOf(i);
  const out = Buffer.allocUnsafe(size);
  let p = out.write(`*${idx.length + 1}\r\n`, 0, 'latin1');
  const add = (i: number): void => {
    const st = offs[2 * i]!, l = argLen(i);
    p += out.write(`$${l}\r\n`, p, 'latin1');
    p += buf.copy(out, p, st, st + l + 2); // the data and its CRLF
  };
  add(0);
  for (const i of idx) add(i);
  return out;
}

/**
 * Plans the split (the placement of many keys at once). Returns a single address when every key is
 * on one backend (forward the request unchanged), a plan otherwise, or an error reply. Each key
 * counts one op on its unit in `unitOps` (per-slot counters), when given.
 */
export function planSplit(kind: MergeKind, req: Request, place: Placement, unitOps?: Float64Array): SplitPlan | string | Buffer {
  const step = kind === 'mset' ? 2 : 1;
  const { buf, offs, argc } = req;
  const groups = new Map<string, number[]>();
  const keyCount = (argc - 1) / step;
  const addrOfKey: string[] = new Array<string>(keyCount);
  let first = '';
  for (let k = 0; k < keyCount; k++) {
    const i = 1 + k * step;
    const slot = place.unitOf(buf, offs[2 * i]!, offs[2 * i + 1]!);
    const addr = place.backendOf(slot);
    if (!addr) return errorReply(place.noBackendError(slot));
    if (unitOps !== undefined) unitOps[slot]!++;
    addrOfKey[k] = addr;
    if (k === 0) first = addr;
    let g = groups.get(addr);
    if (g === undefined) { g = []; groups.set(addr, g); }
    g.push(i);
    if (step === 2) g.push(i + 1);
  }
  if (groups.size === 1) return first;
  const addrs = [...groups.keys()];
  const parts = addrs.map((addr) => ({ addr, raw: subRequest(req, groups.get(addr)!) }));
  const firstError = (replies: Buffer[]): Buffer | undefined => replies.find(isErrorReply);
  switch (kind) {
    case 'mget':
      return {
        parts,
        merge(replies) {
          const err = firstError(replies);
          if (err) return err;
          const elems = replies.map((r, gi) => {
            const e = arrayElements(r);
            if (e === null || e.length !== groups.get(addrs[gi]!)!.length) throw new Error('unexpected MGET reply from backend');
            return e;
          });
          const cursor = new Array<number>(addrs.length).fill(0);
          const gIndex = new Map(addrs.map((a, i) => [a, i]));
          const head = `*${keyCount}\r\n`;
          let size = head.length;
          for (const e of elems) for (const [s, t] of e) size += t - s;
          const out = Buffer.allocUnsafe(size);
          let p = out.write(head, 0, 'latin1');
          for (let k = 0; k < keyCount; k++) {
            const gi = gIndex.get(addrOfKey[k]!)!;
            const [s, e] = elems[gi]![cursor[gi]!++]!;
            p += replies[gi]!.copy(out, p, s, e);
          }
          return out;
        },
      };
    case 'mset':
      return { parts, merge: (replies) => firstError(replies) ?? OK };
    case 'sum':
      return {
        parts,
        merge(replies) {
          const err = firstError(replies);
          if (err) return err;
          let sum = 0;
          for (const r of replies) sum += integerOf(r) ?? 0;
          return Buffer.from(`:${sum}\r\n`);
        },
      };
  }
}
