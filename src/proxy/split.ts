// Splitting MGET / MSET / DEL / UNLINK / EXISTS / TOUCH by group: one sub-command per backend (not one
// per key), and merging the replies back in the client's original key order.
import type { Offsets, Request } from '../resp/request-parser.js';
import { integerOf, scanReply } from '../resp/reply-scanner.js';
import { errorReply, OK } from '../resp/encode.js';
import type { Placement } from './placement.js';
import { Fanout } from './reply-queue.js';
import { copyBytes } from '../resp/copy-bytes.js';
import { reserveTransient, reservedAt } from '../resp/slab.js';

export type MergeKind = 'mget' | 'mset' | 'sum';

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

/** Bytes of the argument at offs[o], offs[o + 1] encoded as a bulk string. */
function encodedSize(offs: Offsets, o: number): number {
  const l = offs[o + 1]! - offs[o]!;
  return 3 + digits(l) + l + 2;
}

/**
 * Copies argument `i` of `req`, encoded as a bulk string, to `out` at `p`; returns the new position.
 * The client's own `$<len>\r\n<data>\r\n` is copied in one range (the parser only accepts canonical
 * lengths, and inline requests are re-encoded); the header is written anew if it is not found there.
 */
function copyArg(req: Request, i: number, out: Buffer, p: number): number {
  const { buf, offs, base } = req;
  const st = offs[base + 2 * i]!,
    en = offs[base + 2 * i + 1]!;
  const hdr = st - 3 - digits(en - st);
  if (hdr >= 0 && buf[hdr] === 36 /* $ */) return p + copyBytes(buf, hdr, en + 2, out, p);
  p = writeHead(out, p, 36 /* $ */, en - st);
  return p + copyBytes(buf, st, en + 2, out, p); // the data and its CRLF
}

/**
 * Builds the sub-request of group `gi` (its `count` keys, with their values when `step` is 2) as part
 * `gi` of `plan`, in one range of a transient slab: the command name, then each key of the group in
 * the client's order (keyGroup[k] === gi). A run of consecutive keys of the group is one range of
 * the client's bytes, copied at once.
 */
function subRequest(plan: Fanout, req: Request, step: number, keyCount: number, gi: number, count: number): void {
  // Hot path: 1 + k * step (+ 1) < argc for every k < keyCount, and keyGroup is filled up to keyCount.
  const { buf, offs, base } = req,
    group = keyGroup;
  let size = 3 + digits(count * step + 1) + encodedSize(offs, base);
  for (let k = 0; k < keyCount; k++) {
    if (group[k] !== gi) continue;
    const i = 1 + k * step;
    size += encodedSize(offs, base + 2 * i);
    if (step === 2) size += encodedSize(offs, base + 2 * i + 2);
  }
  const out = reserveTransient(size),
    at = reservedAt;
  let p = writeHead(out, at, 42 /* * */, count * step + 1);
  p = copyArg(req, 0, out, p);
  let k = 0;
  while (k < keyCount) {
    if (group[k] !== gi) {
      k++;
      continue;
    }
    let e = k + 1;
    while (e < keyCount && group[e] === gi) e++;
    // Keys k .. e-1 are arguments first .. last (with their values for MSET).
    const first = 1 + k * step,
      last = e * step;
    let bytes = 0;
    for (let i = first; i <= last; i++) bytes += encodedSize(offs, base + 2 * i);
    const st = offs[base + 2 * first]!;
    const hdr = st - 3 - digits(offs[base + 2 * first + 1]! - st);
    const end = offs[base + 2 * last + 1]! + 2;
    // The client's bytes are exactly these arguments' encodings when every length in the run is canonical.
    if (hdr >= 0 && buf[hdr] === 36 /* $ */ && end - hdr === bytes) p += copyBytes(buf, hdr, end, out, p);
    else for (let i = first; i <= last; i++) p = copyArg(req, i, out, p);
    k = e;
  }
  plan.setPart(gi, groupAddrs[gi]!, out, at, p);
}

/**
 * Where the elements of the array reply buf[start, end) start, if it is an array of exactly `n`
 * elements; -1 otherwise.
 */
function elementsStart(buf: Buffer, start: number, end: number, n: number): number {
  if (buf[start] !== 42 /* * */) return -1;
  // Hot path: p < end <= buf.length (loop condition), so buf[p] is a byte.
  let p = start + 1,
    v = 0;
  while (p < end && buf[p] !== 13) v = v * 10 + (buf[p++]! - 48);
  return v === n && p + 1 < end && buf[p + 1] === 10 ? p + 2 : -1;
}

/**
 * Scratch space of planSplit (it runs synchronously, one call at a time): the backends of the keys
 * seen so far, the group of each key and the keys per group. Reused so that a request whose keys are
 * all on one backend allocates nothing, and a split one only what its plan keeps.
 */
const groupAddrs: string[] = [];
const keyGroup: number[] = [];
/** keyGroup is kept between calls up to this many keys. */
const SCRATCH_KEEP = 1024;
const groupKeys: number[] = [];

/** The parts of a split: one sub-request per group, built from the planSplit scratch arrays. */
function setParts(plan: Fanout, req: Request, step: number, keyCount: number, ng: number): void {
  for (let gi = 0; gi < ng; gi++) subRequest(plan, req, step, keyCount, gi, groupKeys[gi]!);
}

/** Cursor of each backend reply during an MGET merge (merges run one at a time). */
const mergeCursor: number[] = [];

/**
 * MGET: each backend's array reply holds its keys' values in the client's order within that group.
 * The group of each key is kept as bits of one number when there are two groups and at most 30 keys
 * (the usual split: no array per request), as an array otherwise.
 */
class MgetPlan extends Fanout {
  /** Two groups, <= 30 keys: bit k set = key k is on group 1. */
  private readonly bits: number;
  /** Otherwise: the group of each key, in the client's key order. */
  private readonly groupOfKey: number[] | null;

  constructor(
    ng: number,
    private readonly keyCount: number,
  ) {
    super(ng);
    // Hot path: keyGroup is filled up to keyCount by planSplit.
    if (ng === 2 && keyCount <= 30) {
      let bits = 0;
      for (let k = 0; k < keyCount; k++) bits |= keyGroup[k]! << k;
      this.bits = bits;
      this.groupOfKey = null;
    } else {
      this.bits = 0;
      this.groupOfKey = keyGroup.slice(0, keyCount);
    }
  }

  private groupOf(k: number): number {
    return this.groupOfKey === null ? (this.bits >>> k) & 1 : this.groupOfKey[k]!;
  }

  merge(): Buffer {
    // Hot path: every group index is < partCount, and cursor is filled for every group.
    const err = this.firstError();
    if (err) return err;
    // Walk each backend's reply with a cursor, copying values in the client's key order.
    const keyCount = this.keyCount,
      ng = this.partCount,
      cursor = mergeCursor;
    for (let gi = 0; gi < ng; gi++) cursor[gi] = 0;
    for (let k = 0; k < keyCount; k++) cursor[this.groupOf(k)]!++;
    let size = 3 + digits(keyCount);
    for (let gi = 0; gi < ng; gi++) {
      const end = this.partEnd(gi);
      const at = elementsStart(this.partBuf(gi), this.partStart(gi), end, cursor[gi]!);
      if (at < 0) throw new Error('unexpected MGET reply from backend');
      cursor[gi] = at;
      size += end - at;
    }
    const out = reserveTransient(size),
      at = reservedAt;
    let p = writeHead(out, at, 42 /* * */, keyCount);
    for (let k = 0; k < keyCount; k++) {
      const gi = this.groupOf(k);
      const rb = this.partBuf(gi),
        s = cursor[gi]!;
      const e = scanReply(rb, s);
      if (e < 0 || e > this.partEnd(gi)) throw new Error('unexpected MGET reply from backend');
      p += copyBytes(rb, s, e, out, p);
      cursor[gi] = e;
    }
    this.mergedRange(at, p);
    return out;
  }
}

class MsetPlan extends Fanout {
  merge(): Buffer {
    return this.firstError() ?? OK;
  }
}

/** DEL / UNLINK / EXISTS / TOUCH: the sum of the integer replies. */
class SumPlan extends Fanout {
  merge(): Buffer {
    const err = this.firstError();
    if (err) return err;
    let sum = 0;
    for (let i = 0; i < this.partCount; i++) sum += integerOf(this.partBytes(i)) ?? 0;
    return Buffer.from(`:${sum}\r\n`);
  }
}

/**
 * Plans the split (the placement of many keys at once). Returns a single address when every key is
 * on one backend (forward the request unchanged), a plan otherwise, or an error reply. Each key
 * counts one op on its unit in `unitOps` (per-slot counters), when given.
 * Hot path of MGET/MSET: backends are few, so groups are found by a linear search (no Map), and the
 * MGET merge walks each backend's reply with a cursor (no per-element arrays).
 */
export function planSplit(kind: MergeKind, req: Request, place: Placement, unitOps?: Float64Array): Fanout | string | Buffer {
  // Hot path: i < argc for every key; slot is a unit of `place` (< unitOps.length); gi < ng, and the
  // scratch arrays are filled up to keyCount / ng before they are read.
  const step = kind === 'mset' ? 2 : 1;
  const { buf, offs, base, argc } = req;
  const keyCount = (argc - 1) / step;
  // A request with many keys left a big scratch array: release it (bounded retention).
  if (keyGroup.length > SCRATCH_KEEP) keyGroup.length = 0;
  const addrs = groupAddrs,
    group = keyGroup,
    counts = groupKeys;
  let ng = 0;
  for (let k = 0; k < keyCount; k++) {
    const i = 1 + k * step;
    const slot = place.unitOf(buf, offs[base + 2 * i]!, offs[base + 2 * i + 1]!);
    const addr = place.backendOf(slot);
    if (!addr) return errorReply(place.noBackendError(slot));
    if (unitOps !== undefined) unitOps[slot]!++;
    let gi = 0;
    while (gi < ng && addrs[gi] !== addr) gi++;
    if (gi === ng) {
      addrs[ng] = addr;
      counts[ng] = 0;
      ng++;
    }
    group[k] = gi;
    counts[gi]!++;
  }
  if (ng === 1) return addrs[0]!;
  const plan = kind === 'mget' ? new MgetPlan(ng, keyCount) : kind === 'mset' ? new MsetPlan(ng) : new SumPlan(ng);
  setParts(plan, req, step, keyCount, ng);
  return plan;
}
