// Incremental parser of client requests: RESP multibulk arrays and inline commands. Produces argument
// offsets into the received bytes (no copies, no strings); enforces the bulk/array/inline limits and
// reports unparseable input as a ProtocolError whose message the proxy sends before closing.
import { copyBytes, viewOf } from './copy-bytes.js';

export interface ParserLimits {
  maxBulkLen: number;
  maxArrayLen: number;
  maxInlineLen: number;
}

export const DEFAULT_LIMITS: ParserLimits = { maxBulkLen: 512 * 1024 * 1024, maxArrayLen: 1024 * 1024, maxInlineLen: 64 * 1024 };

/** Where the arguments lie: argument i is buf[offs[base + 2i], offs[base + 2i + 1]). */
export type Offsets = Int32Array | number[];

/**
 * One complete request. Argument i is buf[offs[base + 2i], offs[base + 2i + 1]) (argStart/argEnd in
 * commands/keys.ts); buf[rawStart, rawEnd) is the bytes to forward. Both are ranges of memory shared
 * with other requests (`buf` a slab of reads, `offs` a slab of offsets): a view or array per request
 * would be ~100 bytes of heap each, scavenge work at pipeline 1. rawOf makes a view where a Buffer is
 * needed.
 */
export interface Request {
  buf: Buffer;
  offs: Offsets;
  base: number;
  argc: number;
  rawStart: number;
  rawEnd: number;
  inline: boolean;
}

/** The bytes of `req` to forward, as a Buffer (a view unless they are the whole of `buf`). */
export function rawOf(req: Request): Buffer {
  return viewOf(req.buf, req.rawStart, req.rawEnd);
}

export class ProtocolError extends Error {}

/**
 * `req` in memory of its own, for a request held for long (a CLIENT PAUSE, a slot migration): the
 * chunk a request is parsed from lies in a slab shared with other reads, which it would keep alive.
 */
export function ownRequest(req: Request): Request {
  const len = req.rawEnd - req.rawStart;
  const own = Buffer.allocUnsafeSlow(len);
  copyBytes(req.buf, req.rawStart, req.rawEnd, own, 0);
  const n = 2 * req.argc;
  const offs = new Array<number>(n);
  for (let i = 0; i < n; i++) offs[i] = req.offs[req.base + i]! - req.rawStart;
  return { buf: own, offs, base: 0, argc: req.argc, rawStart: 0, rawEnd: len, inline: req.inline };
}

const EMPTY = Buffer.alloc(0);

/** Bytes kept past a call up to this size are copied to memory of their own (see keep). */
const KEEP_COPY = 4096;

/**
 * A small buffer the parser keeps while waiting for the rest of a frame, copied out of the chunk it
 * lies in: chunks are slices of a shared pool (Node's Buffer pool), and a client that stops
 * mid-frame would otherwise keep a whole pool slab alive for a few bytes.
 */
function keep(b: Buffer): Buffer {
  if (b.length > KEEP_COPY || b.length === b.buffer.byteLength) return b;
  const own = Buffer.allocUnsafeSlow(b.length);
  copyBytes(b, 0, b.length, own, 0);
  return own;
}

const CR = 13,
  LF = 10;

/**
 * Reads a decimal integer from buf[start, end). Returns NaN when it is not one in canonical form, or
 * when it is too long to be a sane length.
 */
function readInt(buf: Buffer, start: number, end: number): number {
  let i = start,
    neg = false;
  if (i < end && buf[i] === 45 /* - */) {
    neg = true;
    i++;
  }
  if (i === end || end - i > 15) return NaN;
  // As Redis reads lengths (string2ll): no leading zeros, no "-0" (it answers a protocol error).
  if (buf[i] === 48 /* 0 */ && (neg || end - i > 1)) return NaN;
  let n = 0;
  // Hot path: callers pass end <= buf.length, so buf[i] is always a byte.
  for (; i < end; i++) {
    const c = buf[i]! - 48;
    if (c < 0 || c > 9) return NaN;
    n = n * 10 + c;
  }
  return neg ? -n : n;
}

/** Int32 entries per slab of argument offsets: 64 KiB, as the request path's byte slabs (slab.ts). */
const OFFS_SLAB = 16384;
let offsSlab = new Int32Array(OFFS_SLAB);
let offsUsed = 0;

/**
 * Room for `n` argument offsets into a buffer of `bufLen` bytes: returns the array they go in, from
 * index `offsBase`. Every request's offsets go into a shared Int32Array slab (no object per
 * request); only huge requests and buffers past int32 offsets get an array of their own. Each slab
 * is one ArrayBuffer for a scavenge to sweep, hence their size; a request kept for long keeps its
 * slab, as it keeps the slab of its bytes, so whatever holds one for long copies what it needs
 * (ownRequest; the apps copy `raw` and the arguments they use).
 */
function newOffs(n: number, bufLen: number): Offsets {
  if (n > OFFS_SLAB / 4 || bufLen > 0x7fffffff) {
    offsBase = 0;
    return new Array<number>(n);
  }
  if (offsUsed + n > OFFS_SLAB) {
    offsSlab = new Int32Array(OFFS_SLAB);
    offsUsed = 0;
  }
  offsBase = offsUsed;
  offsUsed += n;
  return offsSlab;
}
/** Where newOffs's room starts in the array it returned. */
let offsBase = 0;

/** Lines up to this long are searched with a loop: cheaper than Buffer#indexOf's call into C++. */
const SHORT_LINE = 32;

/** The first CRLF in buf[from, min(limit, n)) (n: where the received bytes end), or -1. */
function indexOfCRLF(buf: Buffer, from: number, limit: number, n: number): number {
  const end = n < limit ? n : limit;
  const stop = from + SHORT_LINE < end ? from + SHORT_LINE : end;
  // Hot path: i < stop <= n, so buf[i] is a byte.
  for (let i = from; i < stop; i++) {
    if (buf[i] === CR) {
      if (i + 1 >= n) return -1; // need more bytes to see the LF
      if (buf[i + 1] === LF) return i;
    }
  }
  if (stop === end) return -1;
  let i = buf.indexOf(CR, stop);
  while (i >= 0 && i < end) {
    if (i + 1 >= n) return -1;
    if (buf[i + 1] === LF) return i;
    i = buf.indexOf(CR, i + 1);
  }
  return -1;
}

/** Splits an inline command line as redis does (spaces, double and single quotes, \x escapes). */
export function splitInline(line: string): string[] | null {
  const out: string[] = [];
  let i = 0;
  const n = line.length;
  while (true) {
    while (i < n && /\s/.test(line.charAt(i))) i++;
    if (i >= n) return out;
    let cur = '';
    let inq = false,
      insq = false,
      done = false;
    while (!done) {
      const c = line[i];
      if (inq) {
        if (c === undefined) return null;
        if (c === '\\' && line[i + 1] === 'x' && /^[0-9a-fA-F]{2}$/.test(line.slice(i + 2, i + 4))) {
          cur += String.fromCharCode(parseInt(line.slice(i + 2, i + 4), 16));
          i += 3;
        } else if (c === '\\' && i + 1 < n) {
          i++;
          const e = line.charAt(i);
          cur += e === 'n' ? '\n' : e === 'r' ? '\r' : e === 't' ? '\t' : e === 'b' ? '\b' : e === 'a' ? '\x07' : e;
        } else if (c === '"') {
          if (i + 1 < n && !/\s/.test(line.charAt(i + 1))) return null;
          done = true;
        } else cur += c;
      } else if (insq) {
        if (c === undefined) return null;
        if (c === '\\' && line[i + 1] === "'") {
          i++;
          cur += "'";
        } else if (c === "'") {
          if (i + 1 < n && !/\s/.test(line.charAt(i + 1))) return null;
          done = true;
        } else cur += c;
      } else {
        if (c === undefined || /\s/.test(c)) done = true;
        else if (c === '"') inq = true;
        else if (c === "'") insq = true;
        else cur += c;
      }
      if (i < n) i++;
    }
    out.push(cur);
  }
}

function encodeInline(parts: string[]): Request {
  const header = Buffer.from(`*${parts.length}\r\n`, 'latin1');
  const chunks: Buffer[] = [header];
  const offs: number[] = [];
  let pos = header.length;
  for (const p of parts) {
    const b = Buffer.from(p, 'latin1');
    const head = Buffer.from(`$${b.length}\r\n`, 'latin1');
    chunks.push(head, b, Buffer.from('\r\n'));
    pos += head.length;
    offs.push(pos, pos + b.length);
    pos += b.length + 2;
  }
  const raw = Buffer.concat(chunks);
  return { buf: raw, offs, base: 0, argc: parts.length, rawStart: 0, rawEnd: raw.length, inline: true };
}

/**
 * Incremental request parser. `feed` a chunk, then call `next` until it returns null (need more
 * bytes). Throws ProtocolError on input that can never become a valid request.
 */
export class RequestParser {
  /** The received bytes not yet returned are buf[pos, end) (buf may be a slab shared with other reads). */
  private buf: Buffer = EMPTY;
  private pos = 0;
  private end = 0;
  /** Chunks held back while waiting for at least `need` buffered bytes (avoids quadratic concat). */
  private held: Buffer[] = [];
  private heldLen = 0;
  private need = 0;

  constructor(private readonly limits: ParserLimits = DEFAULT_LIMITS) {}

  /** Bytes received but not yet returned as requests. */
  get buffered(): number {
    return this.end - this.pos + this.heldLen;
  }

  /** Adds the received bytes chunk[start, end) (never changed afterwards: requests refer to them). */
  feed(chunk: Buffer, start = 0, end = chunk.length): void {
    const n = end - start;
    if (this.need > 0 && this.end - this.pos + this.heldLen + n < this.need) {
      this.held.push(keep(chunk.subarray(start, end)));
      this.heldLen += n;
      return;
    }
    if (this.pos >= this.end && this.held.length === 0) {
      this.buf = chunk;
      this.pos = start;
      this.end = end;
    } else {
      const parts = [this.buf.subarray(this.pos, this.end), ...this.held, chunk.subarray(start, end)];
      this.buf = Buffer.concat(parts);
      this.pos = 0;
      this.end = this.buf.length;
      this.held = [];
      this.heldLen = 0;
    }
    this.need = 0;
  }

  /**
   * Called when the connection stops asking for requests for a while (paused, or a request held):
   * drops the chunk if everything in it was returned, else copies a small remainder out of it (see
   * keep), so that a paused client does not keep a whole slab alive.
   */
  settle(): void {
    if (this.held.length > 0) return; // already kept
    this.buf = this.pos >= this.end ? EMPTY : keep(this.buf.subarray(this.pos, this.end));
    this.pos = 0;
    this.end = this.buf.length;
  }

  next(): Request | null {
    while (true) {
      if (this.held.length > 0) return null;
      const buf = this.buf,
        end = this.end;
      const start = this.pos;
      if (start >= end) {
        // All consumed: do not keep the chunk (an idle client would keep the slab it lies in).
        this.buf = EMPTY;
        this.pos = 0;
        this.end = 0;
        return null;
      }
      if (buf[start] !== 42 /* * */) {
        const r = this.inline(buf, start, end);
        if (r === undefined) continue; // empty line skipped
        return r;
      }
      const eol = indexOfCRLF(buf, start + 1, start + 1 + 32, end);
      if (eol < 0) {
        if (end - start > 34) throw new ProtocolError('Protocol error: invalid multibulk length');
        return null;
      }
      const argc = readInt(buf, start + 1, eol);
      if (Number.isNaN(argc)) throw new ProtocolError('Protocol error: invalid multibulk length');
      // Over the limit: Redis's wording for a length it will not take (tools match on it).
      if (argc > this.limits.maxArrayLen) throw new ProtocolError('Protocol error: invalid multibulk length');
      let p = eol + 2;
      if (argc <= 0) {
        this.pos = p;
        continue;
      } // *0 / *-1: ignored, as redis does
      const offs = newOffs(argc * 2, buf.length),
        base = offsBase;
      for (let i = 0; i < argc; i++) {
        if (p >= end) return this.wait(start, 0);
        if (buf[p] !== 36 /* $ */) {
          throw new ProtocolError(`Protocol error: expected '$', got '${String.fromCharCode(buf[p] ?? 0).replace(/[^\x20-\x7e]/, '?')}'`);
        }
        const le = indexOfCRLF(buf, p + 1, p + 1 + 32, end);
        if (le < 0) {
          if (end - p > 34) throw new ProtocolError('Protocol error: invalid bulk length');
          return this.wait(start, 0);
        }
        const len = readInt(buf, p + 1, le);
        if (Number.isNaN(len) || len < 0) throw new ProtocolError('Protocol error: invalid bulk length');
        if (len > this.limits.maxBulkLen) throw new ProtocolError('Protocol error: invalid bulk length');
        const ds = le + 2;
        if (ds + len + 2 > end) return this.wait(start, ds + len + 2 - start);
        if (buf[ds + len] !== CR || buf[ds + len + 1] !== LF) throw new ProtocolError('Protocol error: bulk string not terminated by CRLF');
        offs[base + 2 * i] = ds;
        offs[base + 2 * i + 1] = ds + len;
        p = ds + len + 2;
      }
      this.pos = p;
      return { buf, offs, base, argc, rawStart: start, rawEnd: p, inline: false };
    }
  }

  private wait(start: number, need: number): null {
    // Keep the partial frame; if we know how many bytes it needs, hold chunks until they arrive.
    this.need = need;
    this.buf = keep(this.buf.subarray(start, this.end));
    this.pos = 0;
    this.end = this.buf.length;
    return null;
  }

  private inline(buf: Buffer, start: number, end: number): Request | null | undefined {
    let nl = buf.indexOf(LF, start);
    if (nl >= end) nl = -1; // past the received bytes (the rest of a shared slab)
    if (nl < 0 || nl - start > this.limits.maxInlineLen) {
      if (end - start > this.limits.maxInlineLen) throw new ProtocolError('Protocol error: too big inline request');
      return this.wait(start, 0);
    }
    const lineEnd = nl > start && buf[nl - 1] === CR ? nl - 1 : nl;
    const line = buf.toString('latin1', start, lineEnd);
    this.pos = nl + 1;
    const parts = splitInline(line);
    if (parts === null) throw new ProtocolError('Protocol error: unbalanced quotes in request');
    if (parts.length === 0) return undefined;
    if (parts.length > this.limits.maxArrayLen) throw new ProtocolError('Protocol error: too many arguments in inline request');
    return encodeInline(parts);
  }
}
