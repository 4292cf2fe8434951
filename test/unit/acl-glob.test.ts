// Unit tests of the ACL glob matcher (Redis's stringmatchlen semantics). Expected duration: < 1 s.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { globMatch } from '../../src/acl/glob.js';

test('glob: stars, question marks, classes, ranges, negation and escapes behave as in Redis', () => {
  const yes: Array<[string, string]> = [
    ['*', 'anything'],
    ['a*', 'a'],
    ['a*', 'abc'],
    ['*c', 'abc'],
    ['a*c', 'abbbc'],
    ['a?c', 'abc'],
    ['[abc]x', 'bx'],
    ['[^abc]x', 'dx'],
    ['[a-c]x', 'bx'],
    ['[c-a]x', 'bx'],
    ['\\*', '*'],
    ['a\\?', 'a?'],
    ['[\\]]', ']'],
    ['user:*:name', 'user:42:name'],
    ['**a', 'xa'],
    ['a*', 'a'],
    ['[abc', 'a'],
  ];
  const no: Array<[string, string]> = [
    ['*', ''],
    ['a*', 'b'],
    ['a?c', 'ac'],
    ['[abc]x', 'dx'],
    ['[^abc]x', 'ax'],
    ['\\*', 'a'],
    ['abc', 'abcd'],
    ['abcd', 'abc'],
    ['user:*:name', 'user:42:nam'],
  ];
  for (const [p, s] of yes) assert.equal(globMatch(p, s), true, `${p} should match ${s}`);
  for (const [p, s] of no) assert.equal(globMatch(p, s), false, `${p} should not match ${s}`);
  assert.equal(globMatch('ABC*', 'abcd', true), true);
  assert.equal(globMatch('ABC*', 'abcd', false), false);
});

test('glob: a pattern of many stars against a long non-matching subject finishes quickly', () => {
  const t0 = process.hrtime.bigint();
  assert.equal(globMatch('a*'.repeat(30) + 'b', 'a'.repeat(5000)), false);
  // A deadline, not a speed figure: exponential backtracking would take far longer than this.
  assert.ok(Number(process.hrtime.bigint() - t0) / 1e6 < 2000);
});
