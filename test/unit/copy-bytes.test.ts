// copyBytes (src/resp/copy-bytes.ts): copies exactly the range asked for at every length (the byte
// loop and the native copy), into the middle of the target without touching its neighbours, within
// one buffer in both directions, refuses ranges outside either buffer with a RangeError (the native
// copy checks nothing itself), and on Node 20 copies without allocating: three million copies of
// 200 bytes cause at most one minor GC (one already due), where set(subarray) causes dozens.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { PerformanceObserver, constants } from 'node:perf_hooks';
import { copyBytes, copyIsNative } from '../../src/resp/copy-bytes.js';

test('copyBytes copies exactly the range at every length', () => {
  const src = Buffer.alloc(600);
  for (let i = 0; i < src.length; i++) src[i] = (i * 7 + 3) & 0xff;
  for (const n of [0, 1, 15, 16, 17, 63, 64, 65, 200, 511]) {
    const dst = Buffer.alloc(n + 20, 0xee);
    assert.equal(copyBytes(src, 50, 50 + n, dst, 10), n);
    assert.deepEqual(dst.subarray(10, 10 + n), src.subarray(50, 50 + n), `length ${n}`);
    assert.ok(dst.subarray(0, 10).every((b) => b === 0xee) && dst.subarray(10 + n).every((b) => b === 0xee), `neighbours of ${n}`);
  }
});

test('copyBytes within one buffer moves overlapping ranges like memmove', () => {
  const a = Buffer.from('0123456789abcdefghijklmnopqrstuvwxyz');
  copyBytes(a, 0, 20, a, 5);
  assert.equal(a.toString(), '01234' + '0123456789abcdefghij' + 'pqrstuvwxyz');
  const b = Buffer.from('0123456789abcdefghijklmnopqrstuvwxyz');
  copyBytes(b, 5, 25, b, 0);
  assert.equal(b.toString(), '56789abcdefghijklmno' + 'klmnopqrstuvwxyz');
});

test('copyBytes refuses a range outside the source or the target', () => {
  const src = Buffer.alloc(100),
    dst = Buffer.alloc(100);
  assert.throws(() => copyBytes(src, 50, 150, dst, 0), RangeError);
  assert.throws(() => copyBytes(src, 0, 60, dst, 50), RangeError);
  assert.throws(() => copyBytes(src, 0, 60, dst, 41), RangeError);
  assert.equal(copyBytes(src, 0, 60, dst, 40), 60);
});

test('copyBytes allocates nothing (at most one minor GC over three million copies, left over from before)', async () => {
  assert.ok(copyIsNative, "Node's buffer binding copy is available on Node 20");
  const src = Buffer.alloc(4096, 1),
    dst = Buffer.alloc(4096);
  let minor = 0;
  const obs = new PerformanceObserver((list) => {
    for (const e of list.getEntries())
      if ((e as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MINOR) minor++;
  });
  obs.observe({ entryTypes: ['gc'] });
  const settle = (): Promise<void> => new Promise((r) => setTimeout(r, 50));
  await settle();
  minor = 0;
  for (let i = 0; i < 3_000_000; i++) copyBytes(src, 100, 300, dst, i & 1023);
  await settle();
  const copies = minor;
  minor = 0;
  // Control: the allocating way does cause minor GCs here (so the observer sees them).
  for (let i = 0; i < 3_000_000; i++) dst.set(src.subarray(100, 300), 0);
  await settle();
  obs.disconnect();
  assert.ok(minor > 5, `set(subarray) caused ${minor} minor GCs`);
  assert.ok(copies <= 1, `copyBytes caused ${copies} minor GCs`);
});
