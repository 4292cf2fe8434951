// Slot hashing: CRC-32 IEEE vectors and Codis's hash-tag vectors (pkg/proxy/mapper_test.go).
// Expected duration: under 1 s on a quiet 2-core machine.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { crc32, slotOf, hashKeyOf } from '../../src/slots/hash.js';

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
