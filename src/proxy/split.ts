// Splitting MGET / MSET / DEL / UNLINK / EXISTS / TOUCH by group: one sub-command per backend (not one
// per key), and merging the replies back in the client's original key order.
import type { Request } from '../resp/request-parser.js';
import { integerOf, isErrorReply, scanReply } from '../resp/reply-scanner.js';
import { errorReply, OK } from '../resp/encode.js';
import type { Placement } from './placement.js';
import { copyBytes } from '../resp/copy-bytes.js';

export type MergeKind = 'mget' | 'mset' | 'sum';

export interface SplitPart {
  addr: string;
  raw: Buffer;
}
export interface SplitPlan {
  parts: SplitPart[];
  merge: (replies: Buffer[]) => Buffer;
}

const digits = (n: number): number => (n < 10 ? 1 : n < 100 ? 2 : n < 1000 ? 3 : String(n).length);

/** Writes `<c><n>\r\n` at `p` (n ≥ 0) without building a string; returns the new position. */
function writeHead(out: Buffer, p: number, c: number, n: number): number {
  out[p++] = c;
  const d = digits(n);
  for (let i = d - 1, v = n; i >= 0; i--, v = Math.floor(v / 10)) out[p + i] = 48 + (v % 10);
  p += d;
  out[p++] = 13;
  out[p++] = 10;
  return p;
}

/** A request for argument indexes `idx` of `req` (argument 0, the name, is always included), built in one buffer. */
function subRequest(req: Request, idx: number[]): Buffer {
  // Hot path: every index in idx (and 0) is < argc, so both offsets of each argument are set.
  const { buf, offs } = req;
  const sizeOf = (i: number): number => {
    const l = offs[2 * i + 1]! - offs[2 * i]!;
    return 3 + digits(l) + l + 2;
  };
  let size = 3 + digits(idx.length + 1) + sizeOf(0);
  for (const i of idx) size += sizeOf(i);
  const out = Buffer.allocUnsafe(size);
  let p = writeHead(out, 0, 42 /* * */, idx.length + 1);
  const add = (i: number): void => {
    const st = offs[2 * i]!,
      l = offs[2 * i + 1]! - st;
    p = writeHead(out, p, 36 /* $ */, l);
    p += copyBytes(buf, st, st + l + 2, out, p); // the data and its CRLF
  };
  add(0);
  for (const i of idx) add(i);
  return out;
}

/** Where the elements of an array reply start, if it is an array of exactly `n` elements; -1 otherwise. */
function elementsStart(reply: Buffer, n: number): number {
  if (reply[0] !== 42 /* * */) return -1;
  // Hot path: p < reply.length (loop condition), so reply[p] is a byte.
  let p = 1,
    v = 0;
  while (p < reply.length && reply[p] !== 13) v = v * 10 + (reply[p++]! - 48);
  return v === n && reply[p + 1] === 10 ? p + 2 : -1;
}

/**
 * Plans the split (the placement of many keys at once). Returns a single address when every key is
 * on one backend (forward the request unchanged), a plan otherwise, or an error reply. Each key
 * counts one op on its unit in `unitOps` (per-slot counters), when given.
 * Hot path of MGET/MSET: backends are few, so groups are small arrays searched linearly (no Map),
 * and the MGET merge walks each backend's reply with a cursor (no per-element arrays).
 */
export function planSplit(kind: MergeKind, req: Request, place: Placement, unitOps?: Float64Array): SplitPlan | string | Buffer {
  // Hot path: i < argc for every key; slot is a unit of `place` (< unitOps.length); gi < groups.length
  // = addrs.length = replies.length by construction, and groupOfKey/cursor are filled for every k/gi.
  const step = kind === 'mset' ? 2 : 1;
  const { buf, offs, argc } = req;
  const keyCount = (argc - 1) / step;
  const addrs: string[] = [];
  const groups: number[][] = [];
  /** Group index of each key, in the client's key order. */
  const groupOfKey = new Array<number>(keyCount);
  for (let k = 0; k < keyCount; k++) {
    const i = 1 + k * step;
    const slot = place.unitOf(buf, offs[2 * i]!, offs[2 * i + 1]!);
    const addr = place.backendOf(slot);
    if (!addr) return errorReply(place.noBackendError(slot));
    if (unitOps !== undefined) unitOps[slot]!++;
    let gi = 0;
    while (gi < addrs.length && addrs[gi] !== addr) gi++;
    if (gi === addrs.length) {
      addrs.push(addr);
      groups.push([]);
    }
    groupOfKey[k] = gi;
    const g = groups[gi]!;
    g.push(i);
    if (step === 2) g.push(i + 1);
  }
  if (addrs.length === 1) return addrs[0]!;
  const parts = addrs.map((addr, gi) => ({ addr, raw: subRequest(req, groups[gi]!) }));
  const firstError = (replies: Buffer[]): Buffer | undefined => replies.find(isErrorReply);
  switch (kind) {
    case 'mget':
      return {
        parts,
        merge(replies) {
          const err = firstError(replies);
          if (err) return err;
          // Each backend's reply holds its keys' values in the client's order within that group:
          // walk each with a cursor, copying values in the client's key order.
          const cursor = new Array<number>(replies.length);
          const head = `*${keyCount}\r\n`;
          let size = head.length;
          for (let gi = 0; gi < replies.length; gi++) {
            const r = replies[gi]!;
            const at = elementsStart(r, groups[gi]!.length);
            if (at < 0) throw new Error('unexpected MGET reply from backend');
            cursor[gi] = at;
            size += r.length - at;
          }
          const out = Buffer.allocUnsafe(size);
          let p = out.write(head, 0, 'latin1');
          for (let k = 0; k < keyCount; k++) {
            const gi = groupOfKey[k]!;
            const r = replies[gi]!,
              s = cursor[gi]!;
            const e = scanReply(r, s);
            if (e < 0) throw new Error('unexpected MGET reply from backend');
            p += copyBytes(r, s, e, out, p);
            cursor[gi] = e;
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
