// SCAN over every group without missing a key that moves during the scan.
//
// One pass walks the groups in the order of their group ids (stable across failovers, which change a
// master's address but not its group), SCANning each master to the end. A slot migration can move a
// key from a group not yet walked into one already walked; Redis's guarantee ("a key present for the
// whole scan is returned") would then fail. So the proxy remembers the slot-table version at which each
// pass started, and when a pass ends it looks at the slots whose placement changed since then: if there
// are any, another pass walks only the groups that hold keys of those slots (target and, while it
// migrates, source) and returns only keys of those slots. Passes continue until one ends with no slot
// changed during it (a key may be returned twice, as Redis allows; capped at MAX_PASSES).
//
// The cursor is a decimal integer, as clients expect: backend cursor, group id, a "filtered pass" bit
// and a token naming the pass in this proxy's token table. A token this proxy does not know (the cursor
// came from another proxy, or this one restarted) is treated as "changes unknown": the pass goes on, and
// the next one walks every group again, so nothing is missed.
import type { Router } from '../router.js';

const UNIT_BITS = 17n; // group ids (Codis allows up to 9999) and 100000+ for groups without an id
const TOKEN_BITS = 16n;
const MAX_PASSES = 16;

export interface ScanCursor {
  backend: bigint;
  unit: number;
  filtered: boolean;
  token: number;
}

export function decodeScanCursor(text: string): ScanCursor | null {
  if (!/^\d+$/.test(text)) return null;
  let c = BigInt(text);
  const token = Number(c & ((1n << TOKEN_BITS) - 1n));
  c >>= TOKEN_BITS;
  const filtered = (c & 1n) === 1n;
  c >>= 1n;
  const unit = Number(c & ((1n << UNIT_BITS) - 1n));
  return { backend: c >> UNIT_BITS, unit, filtered, token };
}

export function encodeScanCursor(c: ScanCursor): string {
  return ((((((c.backend << UNIT_BITS) | BigInt(c.unit)) << 1n) | (c.filtered ? 1n : 0n)) << TOKEN_BITS) | BigInt(c.token)).toString();
}

/** A pass: the table version it started at; for a filtered pass, the version whose later changes it covers. */
interface Pass {
  start: number;
  filterBase: number | null;
  n: number;
}

/** The passes of recent scans (bounded: the oldest are forgotten, which only costs a full extra pass). */
export class ScanPasses {
  private readonly passes = new Map<number, Pass>();
  private next = 1;
  constructor(private readonly max = 4096) {}

  create(p: Pass): number {
    const id = this.next;
    this.next = this.next >= (1 << Number(TOKEN_BITS)) - 1 ? 1 : this.next + 1;
    this.passes.delete(id);
    this.passes.set(id, p);
    while (this.passes.size > this.max) {
      const oldest = this.passes.keys().next().value;
      if (oldest === undefined) break;
      this.passes.delete(oldest);
    }
    return id;
  }

  get(token: number): Pass | undefined {
    return this.passes.get(token);
  }
}

/** One SCAN step: which master to ask with which cursor, and how to go on from its reply. */
export interface ScanStep {
  /** null: nothing left to walk (reply with cursor 0 and no keys). */
  addr: string | null;
  backend: bigint;
  /** Keys of these slots only (null: every key). */
  slots: ReadonlySet<number> | null;
  /** The proxy cursor to return after the backend answered `next`. */
  after(next: bigint): string;
}

export function scanStep(router: Router, passes: ScanPasses, cur: ScanCursor): ScanStep {
  let token = cur.token;
  let pass = token === 0 ? undefined : passes.get(token);
  if (token === 0) {
    pass = { start: router.version, filterBase: null, n: 1 };
    token = passes.create(pass);
  }
  // Unknown token: which slots changed is unknown, so the next pass walks everything (base 0).
  const p: Pass = pass ?? { start: 0, filterBase: cur.filtered ? 0 : null, n: 1 };
  const slots = p.filterBase === null ? null : router.changedSince(p.filterBase);
  const groups = router.groupsOf(slots);
  const ids = [...groups.keys()].sort((a, b) => a - b);
  const unit = ids.find((id) => id >= cur.unit);
  if (unit === undefined) return endOfPass(router, passes, p);
  const backend = unit === cur.unit ? cur.backend : 0n;
  return {
    addr: groups.get(unit) ?? null,
    backend,
    slots,
    after: (next) => {
      if (next !== 0n) return encodeScanCursor({ backend: next, unit, filtered: p.filterBase !== null, token });
      const following = ids.find((id) => id > unit);
      if (following !== undefined) return encodeScanCursor({ backend: 0n, unit: following, filtered: p.filterBase !== null, token });
      return nextPassCursor(router, passes, p);
    },
  };
}

/** The cursor after the last group of pass `p`: '0' when no slot changed during it, else the next pass. */
function nextPassCursor(router: Router, passes: ScanPasses, p: Pass): string {
  const changed = router.changedSince(p.start);
  if (changed.size === 0 || p.n >= MAX_PASSES) return '0';
  const ids = [...router.groupsOf(changed).keys()].sort((a, b) => a - b);
  const first = ids[0];
  if (first === undefined) return '0';
  const token = passes.create({ start: router.version, filterBase: p.start, n: p.n + 1 });
  return encodeScanCursor({ backend: 0n, unit: first, filtered: true, token });
}

function endOfPass(router: Router, passes: ScanPasses, p: Pass): ScanStep {
  const cursor = nextPassCursor(router, passes, p);
  return { addr: null, backend: 0n, slots: null, after: () => cursor };
}
