// Transient buffers (src/resp/slab.ts) and what keeps pooled memory alive: small buffers and reserved
// ranges share 64 KiB slabs, never overlap and stay 8-byte aligned, big ones get memory of their own; the request parser
// copies the bytes it keeps while waiting for the rest of a frame out of the pooled chunk (a client
// that stops mid-frame must not keep a whole pool slab alive), forgets a chunk once every request in
// it was returned, and gives long requests argument offsets in distinct views of one 8 KiB slab.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { allocTransient, reserveTransient, reservedAt, SLAB_SIZE } from '../../src/resp/slab.js';
import { RequestParser, ownRequest, rawOf, type Request } from '../../src/resp/request-parser.js';
import { argEnd, argStart } from '../../src/commands/keys.js';

test('allocTransient carves small buffers from shared slabs without overlap; big ones are their own', () => {
  const bufs: Buffer[] = [];
  for (let i = 0; i < 2000; i++) bufs.push(allocTransient(1 + ((i * 37) % 300)));
  const slabs = new Set(bufs.map((b) => b.buffer));
  assert.ok(slabs.size > 1 && slabs.size < 20, `${slabs.size} slabs for 2000 small buffers`);
  for (const ab of slabs) assert.equal(ab.byteLength, SLAB_SIZE);
  bufs.forEach((b, i) => b.fill(i & 0xff));
  bufs.forEach((b, i) => {
    assert.equal(b.byteOffset % 8, 0);
    assert.ok(
      b.every((x) => x === (i & 0xff)),
      `buffer ${i} was overwritten by another`,
    );
  });
  const big = allocTransient(100_000);
  assert.equal(big.length, 100_000);
  assert.ok(!slabs.has(big.buffer));
});

test('reserveTransient hands out ranges of shared slabs (one Buffer per slab) that never overlap allocTransient buffers', () => {
  const ranges: Array<{ buf: Buffer; at: number; n: number; tag: number }> = [];
  const owned: Array<{ buf: Buffer; tag: number }> = [];
  for (let i = 0; i < 3000; i++) {
    const n = 1 + ((i * 53) % 700);
    if (i % 3 === 0) owned.push({ buf: allocTransient(n), tag: i & 0xff });
    else {
      const buf = reserveTransient(n);
      ranges.push({ buf, at: reservedAt, n, tag: i & 0xff });
    }
  }
  const slabBufs = new Set(ranges.map((r) => r.buf));
  assert.ok(slabBufs.size > 1 && slabBufs.size < 40, `${slabBufs.size} slab buffers for ${ranges.length} ranges`);
  for (const b of slabBufs) assert.equal(b.length, SLAB_SIZE);
  for (const r of ranges) r.buf.fill(r.tag, r.at, r.at + r.n);
  for (const o of owned) o.buf.fill(o.tag);
  for (const r of ranges) {
    assert.equal(r.at % 8, 0);
    for (let i = r.at; i < r.at + r.n; i++) assert.equal(r.buf[i], r.tag, 'a reserved range was overwritten');
  }
  for (const o of owned)
    assert.ok(
      o.buf.every((x) => x === o.tag),
      'an allocTransient buffer was overwritten',
    );
  const big = reserveTransient(10_000);
  assert.equal(reservedAt, 0);
  assert.equal(big.length, 10_000, 'a big reservation is a buffer of its own');
  assert.ok(!slabBufs.has(big));
});

test('the parser keeps a partial frame in memory of its own, and drops a chunk it has consumed', () => {
  const p = new RequestParser();
  const chunk = Buffer.allocUnsafe(64); // a slice of Node's pool, as client reads are
  const whole = Buffer.from('*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGET\r\n$1');
  whole.copy(chunk);
  p.feed(chunk.subarray(0, whole.length));
  const r = p.next();
  assert.ok(r);
  assert.equal(p.next(), null);
  const held = (p as unknown as { buf: Buffer }).buf;
  assert.equal(held.toString(), '*2\r\n$3\r\nGET\r\n$1');
  assert.notEqual(held.buffer, chunk.buffer, 'the partial frame still lies in the pool slab');
  assert.equal(held.buffer.byteLength, held.length);
  // Chunks held while waiting for a known length are copied out too.
  p.feed(Buffer.from('\r\nk'));
  const more = Buffer.allocUnsafe(1);
  more[0] = 0x0d;
  p.feed(more);
  assert.equal(p.next(), null);
  for (const h of (p as unknown as { held: Buffer[] }).held) assert.notEqual(h.buffer, more.buffer);
  p.feed(Buffer.from('\n'));
  const get = p.next();
  assert.ok(get);
  assert.equal(rawOf(get).toString(), '*2\r\n$3\r\nGET\r\n$1\r\nk\r\n');
  assert.equal(p.next(), null);
  assert.equal((p as unknown as { buf: Buffer }).buf.length, 0, 'a consumed chunk is still referenced');
});

test('argument offsets: views of a shared slab for long requests, plain arrays for short ones, never overlapping', () => {
  const p = new RequestParser();
  const keys = Array.from({ length: 10 }, (_, i) => `key:${i}`);
  const frame = (args: string[]): string => `*${args.length}\r\n${args.map((a) => `$${a.length}\r\n${a}\r\n`).join('')}`;
  p.feed(
    Buffer.from(
      frame(['MGET', ...keys]) + frame(['GET', 'k']) + frame(['MSET', ...keys.flatMap((k) => [k, 'v'])]) + frame(['MGET', ...keys]),
    ),
  );
  const reqs = [p.next(), p.next(), p.next(), p.next()];
  const argsOf = (r: Request | null | undefined): string[] => {
    assert.ok(r);
    return Array.from({ length: r.argc }, (_, i) => r.buf.toString('latin1', argStart(r, i), argEnd(r, i)));
  };
  assert.deepEqual(argsOf(reqs[0]), ['MGET', ...keys]);
  assert.deepEqual(argsOf(reqs[1]), ['GET', 'k']);
  assert.deepEqual(argsOf(reqs[2]), ['MSET', ...keys.flatMap((k) => [k, 'v'])]);
  assert.deepEqual(argsOf(reqs[3]), ['MGET', ...keys]);
  // Every request's offsets lie in one 64 KiB Int32Array slab (no array or view per request), in
  // distinct ranges: writing one request's offsets does not change another's.
  const rs = reqs as Request[];
  for (const r of rs) assert.ok(r.offs === rs[0]!.offs && r.offs instanceof Int32Array && r.offs.buffer.byteLength === 65536);
  for (let i = 1; i < rs.length; i++) assert.ok(rs[i]!.base >= rs[i - 1]!.base + 2 * rs[i - 1]!.argc, 'ranges overlap');
  const before = argsOf(rs[3]);
  for (const r of rs.slice(0, 3)) (r.offs as Int32Array).fill(-1, r.base, r.base + 2 * r.argc);
  assert.deepEqual(argsOf(rs[3]), before);
});

test('a parser that stops (paused connection) keeps a small remainder in memory of its own, and nothing of a consumed chunk', () => {
  const p = new RequestParser();
  const text = '*1\r\n$4\r\nPING\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n';
  const chunk = allocTransient(text.length); // as client reads are
  chunk.write(text, 'latin1');
  p.feed(chunk);
  assert.equal(rawOf(p.next()!).toString(), '*1\r\n$4\r\nPING\r\n');
  p.settle(); // paused with GET still unparsed
  const kept = (p as unknown as { buf: Buffer }).buf;
  assert.notEqual(kept.buffer, chunk.buffer, 'the remainder still lies in the slab');
  assert.equal(kept.toString(), '*2\r\n$3\r\nGET\r\n$1\r\nk\r\n');
  const get = p.next();
  assert.ok(get);
  assert.equal(rawOf(get).toString(), '*2\r\n$3\r\nGET\r\n$1\r\nk\r\n');
  assert.equal(get.buf.toString('latin1', argStart(get, 1), argEnd(get, 1)), 'k');
  // Everything returned: settling drops the chunk (the returned requests keep what they need).
  const again = allocTransient(text.length);
  again.write(text, 'latin1');
  p.feed(again);
  p.next();
  p.next();
  p.settle();
  assert.equal((p as unknown as { buf: Buffer }).buf.length, 0);
  assert.equal(p.next(), null);
});

test('ownRequest copies a request out of its chunk with the same arguments (multibulk in a slab, inline)', () => {
  const p = new RequestParser();
  const text = 'PING\r\n*3\r\n$3\r\nSET\r\n$2\r\nk1\r\n$5\r\nhello\r\nECHO "a b"\r\n';
  const chunk = allocTransient(text.length);
  chunk.write(text, 'latin1');
  p.feed(chunk);
  const reqs = [p.next(), p.next(), p.next()];
  const argsOf = (r: Request): string[] => Array.from({ length: r.argc }, (_, i) => r.buf.toString('latin1', argStart(r, i), argEnd(r, i)));
  for (const r of reqs) {
    assert.ok(r);
    const own = ownRequest(r);
    assert.deepEqual(argsOf(own), argsOf(r));
    assert.equal(rawOf(own).toString('latin1'), rawOf(r).toString('latin1'));
    assert.equal(own.inline, r.inline);
    assert.notEqual(own.buf.buffer, chunk.buffer);
    assert.equal(own.buf.buffer.byteLength, own.buf.length, 'memory of its own, not a pool slice');
  }
  assert.deepEqual(argsOf(reqs[1]!), ['SET', 'k1', 'hello']);
  assert.deepEqual(argsOf(reqs[2]!), ['ECHO', 'a b']);
});

test('the parser reads only the range it is fed: the bytes after it in a shared slab are not its own', () => {
  // Each case: the request split at `cut`, with its own continuation lying after the cut in the same
  // buffer (what the next read of another client could have left there).
  const cases = ['PING\r\n', '*1\r\n$4\r\nPING\r\n', '*2\r\n$3\r\nGET\r\n$1\r\nk\r\n', 'GET k\n'];
  for (const text of cases) {
    for (let cut = 1; cut < text.length; cut++) {
      const slab = Buffer.from(text + text, 'latin1');
      const p = new RequestParser();
      p.feed(slab, 0, cut);
      assert.equal(p.next(), null, `${JSON.stringify(text)} cut at ${cut}: parsed past the range`);
      const rest = allocTransient(text.length - cut);
      rest.write(text.slice(cut), 'latin1');
      p.feed(rest);
      const r = p.next();
      assert.ok(r, `${JSON.stringify(text)} cut at ${cut}`);
      assert.deepEqual(
        Array.from({ length: r.argc }, (_, i) => r.buf.toString('latin1', argStart(r, i), argEnd(r, i))),
        text.startsWith('G') || text.startsWith('*2') ? ['GET', 'k'] : ['PING'],
      );
      assert.equal(p.next(), null);
    }
  }
  // A range in the middle of a buffer: the request's bytes are a range of it, not a copy.
  const big = Buffer.from('xxxx*1\r\n$4\r\nPING\r\nyyyy', 'latin1');
  const p = new RequestParser();
  p.feed(big, 4, big.length - 4);
  const r = p.next();
  assert.ok(r);
  assert.equal(r.buf, big);
  assert.deepEqual([r.rawStart, r.rawEnd], [4, big.length - 4]);
  assert.equal(rawOf(r).toString('latin1'), '*1\r\n$4\r\nPING\r\n');
  assert.equal(p.next(), null);
});
