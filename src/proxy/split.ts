// Splitting MGET / MSET / DEL / UNLINK / EXISTS / TOUCH by group: one sub-command per backend (not one
// per key), and merging the replies back in the client's original key order.
import type { Request } from '../resp/request-parser.js';
import { arrayElements, integerOf, isErrorReply } from '../resp/reply-scanner.js';
import { errorReply, OK } from '../resp/encode.js';
import { slotOfRange } from '../slots/hash.js';
import type { Router } from './router.js';

export type MergeKind = 'mget' | 'mset' | 'sum';

export interface SplitPart { addr: string; raw: Buffer }
export interface SplitPlan { parts: SplitPart[]; merge(replies: Buffer[]): Buffer }

/** A request for argument indexes `idx` of `req` (argument 0, the name, is always included). */
function subRequest(req: Request, idx: number[]): Buffer {
  const chunks: Buffer[] = [Buffer.from(`*${idx.length + 1}\r\n`)];
  const { buf, offs } = req;
  const add = (i: number): void => {
    const s = offs[2 * i]!, e = offs[2 * i + 1]!;
    chunks.push(Buffer.from(`$${e - s}\r\n`), buf.subarray(s, e + 2)); // the data and its CRLF
  };
  add(0);
  for (const i of idx) add(i);
  return Buffer.concat(chunks);
}

/**
 * Plans the split. Returns a single address when every key is on one backend (forward the request
 * unchanged), a plan otherwise, or an error reply.
 */
export function planSplit(kind: MergeKind, req: Request, router: Router): SplitPlan | string | Buffer {
  const step = kind === 'mset' ? 2 : 1;
  const { buf, offs, argc } = req;
  const groups = new Map<string, number[]>();
  const keyCount = (argc - 1) / step;
  const addrOfKey: string[] = new Array<string>(keyCount);
  let first = '';
  for (let k = 0; k < keyCount; k++) {
    const i = 1 + k * step;
    const slot = slotOfRange(buf, offs[2 * i]!, offs[2 * i + 1]!);
    const addr = router.backendOf(slot);
    if (!addr) return errorReply(`ERR slot ${slot} is not served by any group (no backend in the slot table)`);
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
          const out: Buffer[] = [Buffer.from(`*${keyCount}\r\n`)];
          for (let k = 0; k < keyCount; k++) {
            const gi = gIndex.get(addrOfKey[k]!)!;
            const [s, e] = elems[gi]![cursor[gi]!++]!;
            out.push(replies[gi]!.subarray(s, e));
          }
          return Buffer.concat(out);
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
