// The read-callback scope (src/proxy/io-scope.ts): what is registered during a read callback runs
// once when the outermost one ends (also what those runs register), never inside a nested one; the
// clock is read once per callback and stays close to the wall clock; a throwing run neither keeps the
// other runs from running nor leaves the scope open (either would hold replies back for good).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { beginIo, endIo, inIo, ioNow, ioWallClock, runAtIoEnd } from '../../src/proxy/io-scope.js';

test('work registered in a read callback runs once when the outermost callback ends', () => {
  const ran: string[] = [];
  assert.equal(inIo(), false);
  beginIo();
  assert.equal(inIo(), true);
  runAtIoEnd({ run: () => ran.push('a') });
  beginIo(); // a nested callback (a reply completed inside another read)
  runAtIoEnd({
    run: () => {
      ran.push('b');
      runAtIoEnd({ run: () => ran.push('c') }); // registered while the end runs: runs in the same pass
    },
  });
  endIo();
  assert.deepEqual(ran, [], 'nothing runs before the outermost callback ends');
  endIo();
  assert.deepEqual(ran, ['a', 'b', 'c']);
  assert.equal(inIo(), false);
  beginIo();
  endIo();
  assert.deepEqual(ran, ['a', 'b', 'c'], 'each registration runs once');
});

test('the clock is read once per callback and follows the wall clock', async () => {
  beginIo();
  const t = ioNow();
  const wall = ioWallClock();
  await new Promise((r) => setTimeout(r, 20)).catch(() => {});
  // Still inside the (artificially long) callback: the same instant.
  assert.equal(ioNow(), t);
  assert.equal(ioWallClock(), wall);
  endIo();
  assert.ok(ioNow() - t >= 15, 'outside a callback the clock is read anew');
  assert.ok(Math.abs(wall - Date.now()) < 1000, `wall clock ${wall} vs Date.now() ${Date.now()}`);
  assert.ok(Math.abs(ioWallClock() - Date.now()) < 5);
});

test('a run that throws does not keep the others from running, and still closes the scope', () => {
  const ran: number[] = [];
  beginIo();
  runAtIoEnd({
    run: () => {
      throw new Error('boom');
    },
  });
  runAtIoEnd({ run: () => ran.push(0) });
  assert.throws(() => endIo(), /boom/);
  assert.deepEqual(ran, [0]);
  assert.equal(inIo(), false);
  beginIo();
  runAtIoEnd({ run: () => ran.push(1) });
  endIo();
  assert.deepEqual(ran, [0, 1]);
});
