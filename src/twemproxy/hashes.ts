// The 12 key hash functions of nutcracker (twemproxy 0.5.0, src/hashkit/), reimplemented so that
// every key hashes to the same uint32 nutcracker computes on x86-64 Linux. Where nutcracker reads the
// key through a (signed) `char`, bytes >= 0x80 are sign-extended before use, as there; where it reads
// `uint8_t`, they are not. Each function hashes buf[start, end) and returns an unsigned 32-bit number.
import { createHash } from 'node:crypto';

// Every byte read below is inside buf[start, end) (end <= buf.length) and every table index is masked
// to 0..255 of a 256-entry table, so the `?? 0` defaults are never taken; they only satisfy
// noUncheckedIndexedAccess without a non-null assertion.

export type HashFn = (buf: Uint8Array, start: number, end: number) => number;

export const HASH_NAMES = [
  'one_at_a_time',
  'md5',
  'crc16',
  'crc32',
  'crc32a',
  'fnv1_64',
  'fnv1a_64',
  'fnv1_32',
  'fnv1a_32',
  'hsieh',
  'murmur',
  'jenkins',
] as const;
export type HashName = (typeof HASH_NAMES)[number];

/** A byte as C's signed `char` converted to uint32 (as an int32 bit pattern). */
const sx = (b: number): number => (b >= 0x80 ? b | 0xffffff00 : b);

const CRC32_TABLE = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
})();

const CRC16_TABLE = (() => {
  const t = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i << 8;
    for (let k = 0; k < 8; k++) c = c & 0x8000 ? ((c << 1) ^ 0x1021) & 0xffff : (c << 1) & 0xffff;
    t[i] = c;
  }
  return t;
})();

export function oneAtATime(buf: Uint8Array, start: number, end: number): number {
  let v = 0;
  for (let i = start; i < end; i++) {
    v = (v + sx(buf[i] ?? 0)) >>> 0;
    v = (v + (v << 10)) >>> 0;
    v = (v ^ (v >>> 6)) >>> 0;
  }
  v = (v + (v << 3)) >>> 0;
  v = (v ^ (v >>> 11)) >>> 0;
  v = (v + (v << 15)) >>> 0;
  return v;
}

function md5Of(buf: Uint8Array, start: number, end: number): Buffer {
  return createHash('md5').update(buf.subarray(start, end)).digest();
}

/** First four MD5 digest bytes, little-endian. */
export function md5(buf: Uint8Array, start: number, end: number): number {
  return md5Of(buf, start, end).readUInt32LE(0);
}

/** Ketama point `alignment` (0..3) of a string: digest bytes 4a..4a+3, little-endian. */
export function ketamaPoints(s: string): [number, number, number, number] {
  const d = createHash('md5').update(s, 'utf8').digest();
  return [d.readUInt32LE(0), d.readUInt32LE(4), d.readUInt32LE(8), d.readUInt32LE(12)];
}

/** XMODEM table, but the 32-bit accumulator is never masked (nutcracker's hash_crc16). */
export function crc16(buf: Uint8Array, start: number, end: number): number {
  let crc = 0;
  for (let i = start; i < end; i++) crc = ((crc << 8) ^ (CRC16_TABLE[((crc >>> 8) ^ (buf[i] ?? 0)) & 0xff] ?? 0)) >>> 0;
  return crc;
}

/** libmemcached's crc32: 15 bits of the complemented CRC. */
export function crc32(buf: Uint8Array, start: number, end: number): number {
  let crc = 0xffffffff;
  for (let i = start; i < end; i++) crc = ((crc >>> 8) ^ (CRC32_TABLE[(crc ^ (buf[i] ?? 0)) & 0xff] ?? 0)) >>> 0;
  return ((~crc >>> 0) >>> 16) & 0x7fff;
}

/** Standard CRC-32 (IEEE). */
export function crc32a(buf: Uint8Array, start: number, end: number): number {
  let crc = 0xffffffff;
  for (let i = start; i < end; i++) crc = ((CRC32_TABLE[(crc ^ (buf[i] ?? 0)) & 0xff] ?? 0) ^ (crc >>> 8)) >>> 0;
  return (crc ^ 0xffffffff) >>> 0;
}

// The low 32 bits of a 64-bit FNV product depend only on the low 32 bits of its factors, so the
// 64-bit variants (nutcracker returns the low 32 bits) run in 32-bit arithmetic.
const FNV64_INIT_LO = 0x84222325,
  FNV64_PRIME_LO = 0x000001b3;
const FNV32_INIT = 2166136261,
  FNV32_PRIME = 16777619;

function fnv1(init: number, prime: number): HashFn {
  return (buf, start, end) => {
    let h = init;
    for (let i = start; i < end; i++) h = Math.imul(h, prime) ^ sx(buf[i] ?? 0);
    return h >>> 0;
  };
}
function fnv1a(init: number, prime: number): HashFn {
  return (buf, start, end) => {
    let h = init;
    for (let i = start; i < end; i++) h = Math.imul(h ^ sx(buf[i] ?? 0), prime);
    return h >>> 0;
  };
}
export const fnv1_64 = fnv1(FNV64_INIT_LO, FNV64_PRIME_LO);
export const fnv1a_64 = fnv1a(FNV64_INIT_LO, FNV64_PRIME_LO);
export const fnv1_32 = fnv1(FNV32_INIT, FNV32_PRIME);
export const fnv1a_32 = fnv1a(FNV32_INIT, FNV32_PRIME);

/** Paul Hsieh's SuperFastHash with initial hash 0 (nutcracker's variant); empty key -> 0. */
export function hsieh(buf: Uint8Array, start: number, end: number): number {
  let len = end - start;
  if (len <= 0) return 0;
  let hash = 0;
  const rem = len & 3;
  len >>>= 2;
  let p = start;
  const get16 = (i: number): number => ((buf[i + 1] ?? 0) << 8) + (buf[i] ?? 0);
  for (; len > 0; len--) {
    hash = (hash + get16(p)) >>> 0;
    const tmp = ((get16(p + 2) << 11) ^ hash) >>> 0;
    hash = ((hash << 16) ^ tmp) >>> 0;
    p += 4;
    hash = (hash + (hash >>> 11)) >>> 0;
  }
  switch (rem) {
    case 3:
      hash = (hash + get16(p)) >>> 0;
      hash = (hash ^ (hash << 16)) >>> 0;
      hash = (hash ^ (sx(buf[p + 2] ?? 0) << 18)) >>> 0;
      hash = (hash + (hash >>> 11)) >>> 0;
      break;
    case 2:
      hash = (hash + get16(p)) >>> 0;
      hash = (hash ^ (hash << 11)) >>> 0;
      hash = (hash + (hash >>> 17)) >>> 0;
      break;
    case 1:
      hash = (hash + (buf[p] ?? 0)) >>> 0;
      hash = (hash ^ (hash << 10)) >>> 0;
      hash = (hash + (hash >>> 1)) >>> 0;
      break;
    default:
      break;
  }
  hash = (hash ^ (hash << 3)) >>> 0;
  hash = (hash + (hash >>> 5)) >>> 0;
  hash = (hash ^ (hash << 4)) >>> 0;
  hash = (hash + (hash >>> 17)) >>> 0;
  hash = (hash ^ (hash << 25)) >>> 0;
  hash = (hash + (hash >>> 6)) >>> 0;
  return hash;
}

/** MurmurHash2 with seed 0xdeadbeef * len. */
export function murmur(buf: Uint8Array, start: number, end: number): number {
  const m = 0x5bd1e995;
  let len = end - start;
  let h = (Math.imul(0xdeadbeef, len) ^ len) >>> 0;
  let p = start;
  while (len >= 4) {
    let k = ((buf[p] ?? 0) | ((buf[p + 1] ?? 0) << 8) | ((buf[p + 2] ?? 0) << 16) | ((buf[p + 3] ?? 0) << 24)) >>> 0;
    k = Math.imul(k, m);
    k ^= k >>> 24;
    k = Math.imul(k, m);
    h = Math.imul(h, m) ^ k;
    p += 4;
    len -= 4;
  }
  if (len > 0) {
    if (len === 3) h ^= (buf[p + 2] ?? 0) << 16;
    if (len >= 2) h ^= (buf[p + 1] ?? 0) << 8;
    h ^= buf[p] ?? 0;
    h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h >>> 0;
}

const rot = (x: number, k: number): number => (x << k) | (x >>> (32 - k));

/** Bob Jenkins' lookup3 `hashlittle` with `initval` (a = b = c = 0xdeadbeef + len + initval). */
export function lookup3(buf: Uint8Array, start: number, end: number, initval: number): number {
  let length = end - start;
  let a = (0xdeadbeef + length + initval) | 0,
    b = a,
    c = a;
  let p = start;
  const u32 = (i: number): number => (buf[i] ?? 0) | ((buf[i + 1] ?? 0) << 8) | ((buf[i + 2] ?? 0) << 16) | ((buf[i + 3] ?? 0) << 24);
  while (length > 12) {
    a = (a + u32(p)) | 0;
    b = (b + u32(p + 4)) | 0;
    c = (c + u32(p + 8)) | 0;
    a = (a - c) | 0;
    a ^= rot(c, 4);
    c = (c + b) | 0;
    b = (b - a) | 0;
    b ^= rot(a, 6);
    a = (a + c) | 0;
    c = (c - b) | 0;
    c ^= rot(b, 8);
    b = (b + a) | 0;
    a = (a - c) | 0;
    a ^= rot(c, 16);
    c = (c + b) | 0;
    b = (b - a) | 0;
    b ^= rot(a, 19);
    a = (a + c) | 0;
    c = (c - b) | 0;
    c ^= rot(b, 4);
    b = (b + a) | 0;
    length -= 12;
    p += 12;
  }
  if (length === 0) return c >>> 0;
  // Last block: bytes beyond the key count as zero.
  const byte = (i: number): number => (i < length ? (buf[p + i] ?? 0) : 0);
  a = (a + (byte(0) | (byte(1) << 8) | (byte(2) << 16) | (byte(3) << 24))) | 0;
  b = (b + (byte(4) | (byte(5) << 8) | (byte(6) << 16) | (byte(7) << 24))) | 0;
  c = (c + (byte(8) | (byte(9) << 8) | (byte(10) << 16) | (byte(11) << 24))) | 0;
  c ^= b;
  c = (c - rot(b, 14)) | 0;
  a ^= c;
  a = (a - rot(c, 11)) | 0;
  b ^= a;
  b = (b - rot(a, 25)) | 0;
  c ^= b;
  c = (c - rot(b, 16)) | 0;
  a ^= c;
  a = (a - rot(c, 4)) | 0;
  b ^= a;
  b = (b - rot(a, 14)) | 0;
  c ^= b;
  c = (c - rot(b, 24)) | 0;
  return c >>> 0;
}

/** nutcracker's jenkins: lookup3 hashlittle with initval 13 (JENKINS_INITVAL). */
export function jenkins(buf: Uint8Array, start: number, end: number): number {
  return lookup3(buf, start, end, 13);
}

export const HASHES: Readonly<Record<HashName, HashFn>> = {
  one_at_a_time: oneAtATime,
  md5,
  crc16,
  crc32,
  crc32a,
  fnv1_64,
  fnv1a_64,
  fnv1_32,
  fnv1a_32,
  hsieh,
  murmur,
  jenkins,
};

export function isHashName(s: string): s is HashName {
  return (HASH_NAMES as readonly string[]).includes(s);
}
