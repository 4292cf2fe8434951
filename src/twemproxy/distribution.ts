// Key -> server of one nutcracker pool, exactly as nutcracker 0.5.0 decides it (src/nc_server.c
// server_pool_idx, src/hashkit/nc_ketama.c, nc_modula.c, nc_random.c): the hash_tag rule, the pool's
// hash function, and the ketama continuum / modula array / random pick over the live servers.
// Liveness follows auto_eject_hosts (see ejector.ts): the distribution is rebuilt whenever the set of
// live servers changes, the way nutcracker rebuilds it (weights of live servers only, 160 points per
// server at equal weights, points sorted stably by value).
import { HASHES, ketamaPoints, type HashFn, type HashName } from './hashes.js';

export type DistributionName = 'ketama' | 'modula' | 'random';
export const DISTRIBUTIONS: readonly DistributionName[] = ['ketama', 'modula', 'random'];

/** The part of a configured server the distribution needs. */
export interface DistServer {
  /** The ketama name: `name` when given, else `host:port` (just `host` when the port is 11211). */
  name: string;
  weight: number;
}

const KETAMA_POINTS_PER_SERVER = 160;
const KETAMA_MAX_HOSTLEN = 273;

/** Sorted ketama points (value, server index) of the live servers. */
export interface Continuum {
  values: Uint32Array;
  index: Uint32Array;
}

/** Builds the ketama continuum of the servers flagged live (nutcracker's ketama_update). */
export function buildKetama(servers: readonly DistServer[], live: readonly boolean[]): Continuum {
  let nlive = 0,
    total = 0;
  servers.forEach((s, i) => {
    if (live[i]) {
      nlive++;
      total += s.weight;
    }
  });
  const points: Array<{ v: number; i: number }> = [];
  const f = Math.fround;
  servers.forEach((s, i) => {
    if (!live[i]) return;
    // Single-precision arithmetic as in C: pct * 160 / 4 * nlive, then + 1e-10 in double, floorf.
    const pct = f(f(s.weight) / f(total));
    const x = f(f(f(pct * KETAMA_POINTS_PER_SERVER) / 4) * f(nlive));
    const perServer = Math.floor(f(x + 0.0000000001)) * 4;
    for (let p = 0; p < perServer / 4; p++) {
      let host = `${s.name}-${p}`;
      if (host.length >= KETAMA_MAX_HOSTLEN) host = host.slice(0, KETAMA_MAX_HOSTLEN - 1);
      for (const v of ketamaPoints(host)) points.push({ v, i });
    }
  });
  // glibc's qsort is a merge sort for arrays this size: equal values keep their build order.
  points.sort((a, b) => a.v - b.v);
  return { values: Uint32Array.from(points, (p) => p.v), index: Uint32Array.from(points, (p) => p.i) };
}

/** First point with value >= hash; past the end wraps to the first point (nutcracker's ketama_dispatch). */
export function ketamaDispatch(c: Continuum, hash: number): number {
  const n = c.values.length;
  let left = 0,
    right = n;
  while (left < right) {
    const mid = (left + right) >>> 1;
    // mid < n = values.length: the read is always in range.
    if ((c.values[mid] ?? 0) < hash) left = mid + 1;
    else right = mid;
  }
  return c.index[right === n ? 0 : right] ?? -1; // -1 (no server) only for an empty continuum
}

/** modula: one entry per unit of weight per live server, in config order. */
export function buildModula(servers: readonly DistServer[], live: readonly boolean[]): Uint32Array {
  const out: number[] = [];
  servers.forEach((s, i) => {
    if (live[i]) for (let w = 0; w < s.weight; w++) out.push(i);
  });
  return Uint32Array.from(out);
}

/** The hash-tag rule: first tag[0], then the first tag[1] after it, used only with >= 1 byte between. */
export function hashTagRange(buf: Uint8Array, start: number, end: number, tag: readonly [number, number] | null): [number, number] {
  if (tag === null) return [start, end];
  let ts = -1;
  for (let i = start; i < end; i++)
    if (buf[i] === tag[0]) {
      ts = i;
      break;
    }
  if (ts < 0) return [start, end];
  for (let j = ts + 1; j < end; j++) {
    if (buf[j] === tag[1]) return j - ts > 1 ? [ts + 1, j] : [start, end];
  }
  return [start, end];
}

export interface DistributionOptions {
  hash: HashName;
  distribution: DistributionName;
  /** The two hash_tag characters, or '' for none. */
  hashTag: string;
  servers: readonly DistServer[];
  /** For `random` (tests pass a seeded generator); default Math.random. */
  random?: () => number;
}

/** Which server of a pool each key goes to, given which servers are live now. */
export class PoolDistribution {
  readonly hashFn: HashFn;
  private readonly tag: readonly [number, number] | null;
  private live: boolean[];
  private continuum: Continuum = { values: new Uint32Array(0), index: new Uint32Array(0) };
  private modula: Uint32Array = new Uint32Array(0);
  private liveList: number[] = [];
  private readonly random: () => number;

  constructor(private readonly o: DistributionOptions) {
    this.hashFn = HASHES[o.hash];
    this.tag = o.hashTag.length === 2 ? [o.hashTag.charCodeAt(0) & 0xff, o.hashTag.charCodeAt(1) & 0xff] : null;
    this.random = o.random ?? Math.random;
    this.live = o.servers.map(() => true);
    this.rebuild();
  }

  get serverCount(): number {
    return this.o.servers.length;
  }
  get liveCount(): number {
    return this.liveList.length;
  }
  isLive(i: number): boolean {
    return this.live[i] === true;
  }

  /** Replaces the live set (ejections and returns) and rebuilds the distribution. */
  setLive(live: readonly boolean[]): void {
    if (live.length === this.live.length && live.every((v, i) => v === this.live[i])) return;
    this.live = [...live];
    this.rebuild();
  }

  private rebuild(): void {
    this.liveList = [];
    this.live.forEach((v, i) => {
      if (v) this.liveList.push(i);
    });
    if (this.liveList.length === 0) return; // nutcracker keeps its old continuum; requests fail before it is used
    if (this.o.distribution === 'ketama') this.continuum = buildKetama(this.o.servers, this.live);
    else if (this.o.distribution === 'modula') this.modula = buildModula(this.o.servers, this.live);
  }

  /**
   * The server index of the key buf[start, end), or -1 when no server is live. A pool of one server
   * takes every key without hashing, as nutcracker does.
   */
  serverOf(buf: Uint8Array, start: number, end: number): number {
    const n = this.o.servers.length;
    if (n === 1) return 0;
    if (this.liveList.length === 0) return -1;
    if (this.o.distribution === 'random') return this.liveList[Math.floor(this.random() * this.liveList.length)] ?? -1;
    let s = start,
      e = end;
    const tag = this.tag;
    if (tag !== null) {
      // hashTagRange without allocating (hot path).
      let ts = -1;
      for (let i = start; i < end; i++)
        if (buf[i] === tag[0]) {
          ts = i;
          break;
        }
      if (ts >= 0) {
        for (let j = ts + 1; j < end; j++) {
          if (buf[j] === tag[1]) {
            if (j - ts > 1) {
              s = ts + 1;
              e = j;
            }
            break;
          }
        }
      }
    }
    const h = e === s ? 0 : this.hashFn(buf, s, e);
    if (this.o.distribution === 'ketama') return ketamaDispatch(this.continuum, h);
    return this.modula[h % this.modula.length] ?? -1; // -1 (no server) only for an empty modula array
  }

  /** serverOf for a string key (tests, tools). */
  serverOfKey(key: string | Uint8Array): number {
    const b = typeof key === 'string' ? Buffer.from(key) : key;
    return this.serverOf(b, 0, b.length);
  }
}
