// Redis's strict integer syntax (string2ll) as the proxy checks numeric arguments. Expected duration: <0.1 s.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseRedisInt32, parseRedisInteger } from '../../src/commands/redis-int.js';

test('parseRedisInteger accepts what string2ll accepts, and nothing else', () => {
  for (const [t, v] of [
    ['0', 0],
    ['7', 7],
    ['-7', -7],
    ['123456789', 123456789],
    ['9223372036854775807', 2 ** 63 - 1],
    ['-9223372036854775808', -(2 ** 63)],
  ] as const) {
    assert.equal(parseRedisInteger(t), v, t);
  }
  for (const t of [
    '',
    '-',
    '-0',
    '01',
    '+1',
    ' 1',
    '1 ',
    '1.5',
    '1e3',
    'x',
    '9223372036854775808',
    '-9223372036854775809',
    '99999999999999999999',
    '0x10',
  ]) {
    assert.equal(parseRedisInteger(t), null, JSON.stringify(t));
  }
});

test('parseRedisInt32 keeps to a C int', () => {
  assert.equal(parseRedisInt32('2147483647'), 2147483647);
  assert.equal(parseRedisInt32('-2147483648'), -2147483648);
  assert.equal(parseRedisInt32('2147483648'), null);
  assert.equal(parseRedisInt32('abc'), null);
});
