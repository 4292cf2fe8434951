// RESP scanning: requests (every RESP framing, inline commands, limits, fragmentation at every byte)
// and backend replies (every RESP2/RESP3 type).
// Expected duration: under 1 s on a quiet 2-core machine.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RequestParser, ProtocolError, splitInline, rawOf, type Request } from '../../src/resp/request-parser.js';
import { argEnd, argStart } from '../../src/commands/keys.js';
import { scanReply, arrayElements, integerOf } from '../../src/resp/reply-scanner.js';
import { encode, encodeCommand, map, bulk, int, arr, nil } from '../../src/resp/encode.js';

const args = (r: Request): string[] => Array.from({ length: r.argc }, (_, i) => r.buf.toString('latin1', argStart(r, i), argEnd(r, i)));

function parseAll(chunks: Buffer[], limits?: ConstructorParameters<typeof RequestParser>[0]): string[][] {
  const p = new RequestParser(limits);
  const out: string[][] = [];
  for (const c of chunks) {
    p.feed(c);
    for (let r = p.next(); r !== null; r = p.next()) out.push(args(r));
  }
  return out;
}

const sample = Buffer.concat([
  encodeCommand(['SET', 'key', 'value']),
  Buffer.from('PING\r\n'),
  encodeCommand(['MSET', 'a', '', 'b', 'x'.repeat(300)]),
  Buffer.from('*0\r\n'),
  Buffer.from('  \r\n'),
  Buffer.from('set "a b" \'c d\' "\\x41\\n"\n'),
  encodeCommand(['GET', Buffer.from([0, 13, 10, 255])]),
]);
const expected = [
  ['SET', 'key', 'value'],
  ['PING'],
  ['MSET', 'a', '', 'b', 'x'.repeat(300)],
  ['set', 'a b', 'c d', 'A\n'],
  ['GET', '\x00\r\n\xff'],
];

test('parses multibulk and inline requests in one stream', () => {
  assert.deepEqual(parseAll([sample]), expected);
});

test('parses the same stream split at every byte boundary', () => {
  for (let i = 1; i < sample.length; i++) {
    assert.deepEqual(parseAll([sample.subarray(0, i), sample.subarray(i)]), expected, `split at ${i}`);
  }
});

test('parses the stream fed one byte at a time', () => {
  const chunks = Array.from(sample, (b) => Buffer.from([b]));
  assert.deepEqual(parseAll(chunks), expected);
});

test('raw bytes of a multibulk request are forwarded unchanged; inline ones are re-encoded', () => {
  const p = new RequestParser();
  p.feed(Buffer.concat([encodeCommand(['GET', 'k']), Buffer.from('GET k\r\n')]));
  const a = p.next()!,
    b = p.next()!;
  assert.deepEqual(rawOf(a), encodeCommand(['GET', 'k']));
  assert.deepEqual(rawOf(b), encodeCommand(['GET', 'k']));
  assert.equal(b.inline, true);
});

test('a big bulk arriving in many chunks is assembled once', () => {
  const big = encodeCommand(['SET', 'k', 'v'.repeat(1_000_000)]);
  const chunks: Buffer[] = [];
  for (let i = 0; i < big.length; i += 65536) chunks.push(big.subarray(i, i + 65536));
  const got = parseAll(chunks);
  assert.equal(got.length, 1);
  assert.equal(got[0]![2]!.length, 1_000_000);
});

function protoError(input: string, limits?: ConstructorParameters<typeof RequestParser>[0]): string {
  const p = new RequestParser(limits);
  p.feed(Buffer.from(input, 'latin1'));
  try {
    while (p.next() !== null) {
      /* consume */
    }
  } catch (e) {
    assert.ok(e instanceof ProtocolError);
    return (e as Error).message;
  }
  return '';
}

test('malformed frames raise protocol errors', () => {
  assert.match(protoError('*abc\r\n'), /invalid multibulk length/);
  assert.match(protoError('*2\r\n+OK\r\n'), /expected '\$', got '\+'/);
  assert.match(protoError('*1\r\n$x\r\n'), /invalid bulk length/);
  assert.match(protoError('*1\r\n$-5\r\n'), /invalid bulk length/);
  assert.match(protoError('*1\r\n$3\r\nabcXY'), /not terminated by CRLF/);
  assert.match(protoError('set "a\r\n'), /unbalanced quotes/);
  assert.match(protoError('*' + '9'.repeat(40) + '\r\n'), /invalid multibulk length/);
  assert.equal(protoError('*1\r\n$3\r\nab'), ''); // incomplete, not an error
  // Lengths as Redis reads them: no leading zeros, no sign but '-', no "-0".
  assert.match(protoError('*1\r\n$03\r\nabc\r\n'), /invalid bulk length/);
  assert.match(protoError('*01\r\n$3\r\nabc\r\n'), /invalid multibulk length/);
  assert.match(protoError('*1\r\n$-0\r\n'), /invalid bulk length/);
  assert.match(protoError('*-0\r\n'), /invalid multibulk length/);
  assert.equal(protoError('*1\r\n$0\r\n\r\n'), '');
});

test("limits: bulk length, array length and inline length (over a limit: Redis's wording)", () => {
  const limits = { maxBulkLen: 10, maxArrayLen: 3, maxInlineLen: 16 };
  assert.equal(protoError('*1\r\n$10\r\n', limits), '');
  assert.equal(protoError('*1\r\n$11\r\n', limits), 'Protocol error: invalid bulk length');
  assert.equal(protoError('*3\r\n', limits), '');
  assert.equal(protoError('*4\r\n', limits), 'Protocol error: invalid multibulk length');
  assert.match(protoError('x'.repeat(17), limits), /too big inline request/);
  assert.equal(protoError('*1\r\n$536870913\r\n'), 'Protocol error: invalid bulk length');
});

test('splitInline follows redis quoting rules', () => {
  assert.deepEqual(splitInline('a  b\tc'), ['a', 'b', 'c']);
  assert.deepEqual(splitInline('"a\\"b" \'x\\\'y\''), ['a"b', "x'y"]);
  assert.equal(splitInline('"abc"d'), null);
  assert.deepEqual(splitInline(''), []);
});

const replies: Buffer[] = [
  Buffer.from('+OK\r\n'),
  Buffer.from('-ERR bad\r\n'),
  Buffer.from(':42\r\n'),
  Buffer.from('$3\r\nfoo\r\n'),
  Buffer.from('$-1\r\n'),
  Buffer.from('$0\r\n\r\n'),
  Buffer.from('*-1\r\n'),
  Buffer.from('*0\r\n'),
  Buffer.from('*2\r\n$1\r\na\r\n*1\r\n:1\r\n'),
  Buffer.from('_\r\n'),
  Buffer.from(',3.14\r\n'),
  Buffer.from('#t\r\n'),
  Buffer.from('(12345678901234567890\r\n'),
  Buffer.from('!5\r\nERR x\r\n'),
  Buffer.from('=7\r\ntxt:abc\r\n'),
  Buffer.from('%2\r\n+a\r\n:1\r\n+b\r\n*1\r\n_\r\n'),
  Buffer.from('~2\r\n+a\r\n+b\r\n'),
  Buffer.from('|1\r\n+key\r\n+val\r\n:7\r\n'),
  Buffer.from('$4\r\na\r\nb\r\n'),
];

test('scanReply finds the end of every RESP2/RESP3 type, and needs more bytes for any prefix', () => {
  for (const r of replies) {
    assert.equal(scanReply(r, 0), r.length, r.toString());
    for (let i = 0; i < r.length; i++) assert.equal(scanReply(r.subarray(0, i), 0), -1, `${JSON.stringify(r.toString())} cut at ${i}`);
  }
  const all = Buffer.concat(replies);
  let p = 0,
    n = 0;
  while (p < all.length) {
    p = scanReply(all, p);
    n++;
  }
  assert.equal(n, replies.length);
  assert.throws(() => scanReply(Buffer.from('?x\r\n'), 0), /unexpected byte/);
});

test('arrayElements and integerOf read merge inputs', () => {
  const r = Buffer.from('*3\r\n$1\r\na\r\n$-1\r\n*1\r\n:1\r\n');
  const els = arrayElements(r)!;
  assert.deepEqual(
    els.map(([s, e]) => r.toString('latin1', s, e)),
    ['$1\r\na\r\n', '$-1\r\n', '*1\r\n:1\r\n'],
  );
  assert.equal(integerOf(Buffer.from(':-12\r\n')), -12);
  assert.equal(integerOf(Buffer.from('+OK\r\n')), null);
});

test('encode writes maps as RESP3 maps or RESP2 flat arrays', () => {
  const v = map([
    [bulk('a'), int(1)],
    [bulk('b'), arr([nil])],
  ]);
  assert.equal(encode(v, 3).toString(), '%2\r\n$1\r\na\r\n:1\r\n$1\r\nb\r\n*1\r\n_\r\n');
  assert.equal(encode(v, 2).toString(), '*4\r\n$1\r\na\r\n:1\r\n$1\r\nb\r\n*1\r\n$-1\r\n');
});
