// Helpers for tests that look at commands and replies without a socket: a parsed-request view built
// from arguments (as the proxy's parser would hand it over), and strict readers of decoded replies.
import assert from 'node:assert/strict';
import type { ArgsView } from '../../src/commands/table.js';
import { decodeValue } from '../../src/resp/value-decoder.js';
import type { RespValue } from '../../src/resp/encode.js';

/**
 * The arguments as a parsed request: argument i at buf[offs[base + 2i], offs[base + 2i + 1]), with
 * neither the bytes nor the offsets starting at 0 (as in the parser's shared slabs).
 */
export function view(...args: Array<string | Buffer>): ArgsView {
  const bufs = args.map((a) => (typeof a === 'string' ? Buffer.from(a) : a));
  const offs: number[] = [];
  let p = 7; // start at a non-zero offset, as in a real receive buffer
  for (const b of bufs) {
    offs.push(p, p + b.length);
    p += b.length + 3;
  }
  const buf = Buffer.alloc(p);
  bufs.forEach((b, i) => b.copy(buf, offs[2 * i]!));
  const base = 5;
  return { buf, offs: Int32Array.from([-1, -1, -1, -1, -1, ...offs, -1, -1]), base, argc: args.length };
}

/** Decodes exactly one complete reply (no trailing bytes). */
export function parseAll(buf: Buffer): RespValue {
  const r = decodeValue(buf);
  assert.ok(r, 'incomplete reply');
  assert.equal(r[1], buf.length, 'trailing bytes after reply');
  return r[0];
}

export const str = (r: RespValue): string => {
  assert.ok(r.t === 'bulk' || r.t === 'simple', `expected a string, got ${r.t}`);
  return (r as { v: string }).v;
};

export const arrOf = (r: RespValue): RespValue[] => {
  assert.ok(r.t === 'array' || r.t === 'set', `expected an array, got ${r.t}`);
  return (r as { v: RespValue[] }).v;
};
