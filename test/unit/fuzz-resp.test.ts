// Property-based fuzzing (fast-check) of the two byte-level parsers the proxy trusts with untrusted
// input: the client request parser and the backend reply scanner. Valid frames must come out the same
// however the bytes are cut into chunks; arbitrary bytes may only ever produce requests, "need more"
// or a ProtocolError — never another exception, never a hang. Set FUZZ_RUNS for a longer run
// (bench/fuzz runs it with many more). Expected duration: about 5 s.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { RequestParser, ProtocolError, type ParserLimits } from '../../src/resp/request-parser.js';
import { argEnd, argStart } from '../../src/commands/keys.js';
import { scanReply } from '../../src/resp/reply-scanner.js';
import { encode, encodeCommand, type RespValue } from '../../src/resp/encode.js';

const RUNS = Number(process.env['FUZZ_RUNS'] ?? 300);
const LIMITS: ParserLimits = { maxBulkLen: 1 << 20, maxArrayLen: 1 << 12, maxInlineLen: 1 << 12 };

const arg = fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a));
const command = fc.array(arg, { minLength: 1, maxLength: 8 });

/** Cuts `buf` at the given fractional points. */
function cut(buf: Buffer, points: number[]): Buffer[] {
  const at = [...new Set(points.map((p) => Math.floor(p * buf.length)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let last = 0;
  for (const p of at) {
    out.push(buf.subarray(last, p));
    last = p;
  }
  out.push(buf.subarray(last));
  return out;
}

function drain(p: RequestParser, out: Buffer[][]): void {
  for (let r = p.next(); r !== null; r = p.next()) {
    const args: Buffer[] = [];
    for (let i = 0; i < r.argc; i++) args.push(Buffer.from(r.buf.subarray(argStart(r, i), argEnd(r, i))));
    out.push(args);
  }
}

test('request parser: any pipeline of valid commands parses to the same arguments however it is chunked', () => {
  fc.assert(
    fc.property(
      fc.array(command, { minLength: 1, maxLength: 10 }),
      fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 12 }),
      (cmds, points) => {
        const bytes = Buffer.concat(cmds.map((c) => encodeCommand(c)));
        const p = new RequestParser(LIMITS);
        const got: Buffer[][] = [];
        for (const chunk of cut(bytes, points)) {
          p.feed(chunk);
          drain(p, got);
        }
        assert.equal(got.length, cmds.length);
        got.forEach((args, i) => assert.deepEqual(args, cmds[i]));
        assert.equal(p.buffered, 0);
      },
    ),
    { numRuns: RUNS },
  );
});

test('request parser: arbitrary bytes yield requests, need-more or ProtocolError only, and the buffer stays bounded by what was sent', () => {
  const printable = fc.constantFrom(...'*$\r\n-0123456789 "\'\\abcGETSET'.split(''));
  const garbage = fc.oneof(
    fc.uint8Array({ maxLength: 300 }).map((a) => Buffer.from(a)),
    fc.array(printable, { maxLength: 200 }).map((a) => Buffer.from(a.join(''), 'latin1')),
  );
  fc.assert(
    fc.property(fc.array(garbage, { minLength: 1, maxLength: 6 }), (chunks) => {
      const p = new RequestParser(LIMITS);
      let sent = 0;
      try {
        for (const c of chunks) {
          p.feed(c);
          sent += c.length;
          drain(p, []);
          assert.ok(p.buffered <= sent, 'never holds more than it was given');
        }
      } catch (e) {
        if (!(e instanceof ProtocolError)) throw e;
        assert.match(e.message, /^Protocol error/);
      }
    }),
    { numRuns: RUNS * 3 },
  );
});

// RESP3 values the backends may send (RESP2 is the subset without map/set/double/bool/verbatim/null).
const respValue: fc.Arbitrary<RespValue> = fc.letrec<{ v: RespValue }>((tie) => ({
  v: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc
      .string({ maxLength: 20 })
      .filter((s) => !/[\r\n]/.test(s))
      .map((v): RespValue => ({ t: 'simple', v })),
    fc
      .string({ maxLength: 20 })
      .filter((s) => !/[\r\n]/.test(s))
      .map((v): RespValue => ({ t: 'error', v: `ERR ${v}` })),
    fc.integer().map((v): RespValue => ({ t: 'int', v })),
    fc.uint8Array({ maxLength: 30 }).map((a): RespValue => ({ t: 'bulk', v: Buffer.from(a) })),
    fc.constant<RespValue>({ t: 'null' }),
    fc.double({ noNaN: true }).map((v): RespValue => ({ t: 'double', v })),
    fc.boolean().map((v): RespValue => ({ t: 'bool', v })),
    fc.array(tie('v'), { maxLength: 4 }).map((v): RespValue => ({ t: 'array', v })),
    fc.array(tie('v'), { maxLength: 3 }).map((v): RespValue => ({ t: 'set', v })),
    fc.array(fc.tuple(tie('v'), tie('v')), { maxLength: 3 }).map((v): RespValue => ({ t: 'map', v })),
  ),
})).v;

test('reply scanner: the end of every RESP2/RESP3 reply is found exactly, and no prefix of it is taken as complete', () => {
  fc.assert(
    fc.property(fc.array(respValue, { minLength: 1, maxLength: 5 }), fc.constantFrom<2 | 3>(2, 3), (vals, proto) => {
      const frames = vals.map((v) => encode(v, proto));
      const all = Buffer.concat(frames);
      let pos = 0;
      for (const f of frames) {
        const end = scanReply(all, pos);
        assert.equal(end, pos + f.length);
        pos = end;
      }
      const first = frames[0] as Buffer;
      for (let n = 0; n < first.length; n++) assert.equal(scanReply(first.subarray(0, n), 0), -1, `prefix of ${n} bytes is incomplete`);
    }),
    { numRuns: RUNS },
  );
});
