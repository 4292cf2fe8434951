// Slot hashing: CRC-32 IEEE vectors and Codis's hash-tag vectors (pkg/proxy/mapper_test.go).
// Expected duration: under 1 s on a quiet 2-core machine.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { crc32, slotOf, slotOfRange, hashKeyOf } from '../../src/slots/hash.js';

test('crc32 matches IEEE check values', () => {
  assert.equal(crc32(Buffer.from('')), 0);
  assert.equal(crc32(Buffer.from('123456789')), 0xcbf43926);
  assert.equal(crc32(Buffer.from('The quick brown fox jumps over the lazy dog')), 0x414fa339);
});

test('slot = crc32(key) % 1024', () => {
  assert.equal(slotOf('123456789'), 0xcbf43926 % 1024);
  assert.equal(slotOf('foo'), crc32(Buffer.from('foo')) % 1024);
  assert.equal(slotOf(''), 0);
});

test('Codis hash-tag vectors: key hashes like its hash key', () => {
  const vectors: Record<string, string> = {
    '{abc}': 'abc',
    '{{{abc1}abc2}': '{{abc1',
    'abc1{abc2{abc3}': 'abc2{abc3',
    '{{{{abc': '{{{{abc',
    '{{{{abc}': '{{{abc',
    '{{}{{abc': '{',
    'abc}{abc': 'abc}{abc',
    'abc}{123}456': '123',
    '123{abc}456': 'abc',
    '{}abc': '',
    'abc{}123': '',
    '123{456}': '456',
  };
  for (const [k, v] of Object.entries(vectors)) {
    assert.equal(slotOf(k), slotOf(v), `slot of ${k} should equal slot of ${v}`);
    assert.equal(hashKeyOf(k), v);
  }
  // Empty tag hashes the empty string (unlike Redis Cluster).
  assert.equal(slotOf('{}anything'), 0);
  assert.notEqual(slotOf('a{b'), slotOf('b'));
});

/** CRC-32 a bit at a time: the definition, to check the folded tables against. */
function referenceCrc(buf: Uint8Array, s: number, e: number): number {
  let c = -1;
  for (let i = s; i < e; i++) {
    c ^= buf[i] ?? 0;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  }
  return (c ^ -1) >>> 0;
}

/** The slot by the plain rule: the tag found first, then its CRC. */
function referenceSlot(buf: Uint8Array, start: number, end: number): number {
  const open = buf.subarray(start, end).indexOf(0x7b);
  if (open >= 0) {
    const close = buf.subarray(start + open + 1, end).indexOf(0x7d);
    if (close >= 0) return referenceCrc(buf, start + open + 1, start + open + 1 + close) % 1024;
  }
  return referenceCrc(buf, start, end) % 1024;
}

test('slotOfRange and crc32 equal the bit-at-a-time definition (random keys with braces, any offsets and lengths)', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 64 }),
      fc.array(fc.nat({ max: 63 }), { maxLength: 4 }),
      fc.nat({ max: 8 }),
      fc.nat({ max: 8 }),
      (bytes, braces, pre, post) => {
        const key = Uint8Array.from(bytes);
        // '{' and '}' at random places, so tags of every shape (and empty ones) occur.
        braces.forEach((at, n) => {
          if (at < key.length) key[at] = n % 2 === 0 ? 0x7b : 0x7d;
        });
        // Braces around the key must not count.
        const buf = new Uint8Array(pre + key.length + post).fill(0x7b);
        buf.set(key, pre);
        const end = pre + key.length;
        assert.equal(slotOfRange(buf, pre, end), referenceSlot(buf, pre, end));
        assert.equal(crc32(buf, pre, end), referenceCrc(buf, pre, end));
      },
    ),
    { numRuns: 20000 },
  );
});
