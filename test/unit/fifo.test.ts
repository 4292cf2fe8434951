// Fifo (src/util/fifo.ts): against a plain array as the model, random pushes and shifts (wrapping
// around the ring and growing it mid-wrap) give the same items in the same order; drain returns the
// rest oldest first; a queue that grew for a burst goes back to a small ring once empty.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Fifo } from '../../src/util/fifo.js';

test('Fifo keeps first-in first-out order through wrap-around and growth', () => {
  const q = new Fifo<number>(),
    model: number[] = [];
  let seed = 11,
    next = 0;
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  for (let step = 0; step < 20000; step++) {
    // Phases that mostly push, then mostly shift, so the ring wraps, grows and empties.
    const pushBias = Math.floor(step / 2000) % 2 === 0 ? 7 : 3;
    if (rand(10) < pushBias) {
      q.push(next);
      model.push(next++);
    } else assert.equal(q.shift(), model.shift());
    assert.equal(q.length, model.length);
  }
  assert.deepEqual(q.drain(), model);
  assert.equal(q.length, 0);
  assert.equal(q.shift(), undefined);
});

test('Fifo gives back the ring of a burst once empty', () => {
  const q = new Fifo<object>();
  for (let i = 0; i < 5000; i++) q.push({ i });
  const ringOf = (f: Fifo<object>): unknown[] => (f as unknown as { ring: unknown[] }).ring;
  assert.ok(ringOf(q).length >= 5000);
  for (let i = 0; i < 5000; i++) assert.deepEqual(q.shift(), { i });
  assert.ok(ringOf(q).length <= 16, `ring of ${ringOf(q).length} slots kept after the burst`);
  q.push({ i: 1 });
  assert.deepEqual(q.drain(), [{ i: 1 }]);
});
