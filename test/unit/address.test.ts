// Unit tests of src/util/address.ts, the one host:port parser/formatter. Expected duration: < 1 s.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatAddr, hostOf, isValidAddr, isWildcardHost, parseAddr, tryParseAddr } from '../../src/util/address.js';

test('parseAddr splits host:port, bracketed and bare IPv6', () => {
  assert.deepEqual(parseAddr('127.0.0.1:6379'), { host: '127.0.0.1', port: 6379 });
  assert.deepEqual(parseAddr('redis-1.example:1'), { host: 'redis-1.example', port: 1 });
  assert.deepEqual(parseAddr('[::1]:6379'), { host: '::1', port: 6379 });
  assert.deepEqual(parseAddr('::1:6379'), { host: '::1', port: 6379 });
  assert.deepEqual(parseAddr('[fe80::1%eth0]:65535'), { host: 'fe80::1%eth0', port: 65535 });
});

test('parseAddr refuses bad ports, missing hosts and junk with a message naming the address', () => {
  for (const bad of [
    '127.0.0.1',
    '127.0.0.1:',
    '127.0.0.1:0',
    '127.0.0.1:65536',
    '127.0.0.1:12a',
    ':6379',
    'a b:1',
    'a/b:1',
    '[::1]6379',
    '[::1',
    '',
  ]) {
    assert.throws(
      () => parseAddr(bad),
      (e: Error) => e.message.includes(`"${bad}"`),
      bad,
    );
    assert.equal(tryParseAddr(bad), null, bad);
    assert.equal(isValidAddr(bad), false, bad);
  }
});

test('listen addresses: empty host and port 0 only when asked for', () => {
  assert.deepEqual(parseAddr(':0', { allowEmptyHost: true, allowPortZero: true }), { host: '0.0.0.0', port: 0 });
  assert.deepEqual(parseAddr(':19000', { allowEmptyHost: true, emptyHost: '' }), { host: '', port: 19000 });
  assert.deepEqual(parseAddr('[::]:0', { allowPortZero: true }), { host: '::', port: 0 });
});

test('formatAddr brackets IPv6 hosts and round-trips through parseAddr', () => {
  assert.equal(formatAddr('::1', 6379), '[::1]:6379');
  assert.equal(formatAddr('[::1]', 6379), '[::1]:6379');
  assert.equal(formatAddr('10.0.0.1', '80'), '10.0.0.1:80');
  for (const a of ['127.0.0.1:6379', '[::1]:7000', 'host:1']) {
    const { host, port } = parseAddr(a);
    assert.equal(formatAddr(host, port), a);
  }
});

test('hostOf and isWildcardHost', () => {
  assert.equal(hostOf('[::]:19000'), '::');
  assert.equal(hostOf('0.0.0.0:1'), '0.0.0.0');
  assert.equal(hostOf('nocolon'), '');
  assert.ok(isWildcardHost('') && isWildcardHost('::') && isWildcardHost('0.0.0.0'));
  assert.ok(!isWildcardHost('127.0.0.1'));
});
