// The proxy's CLIENT PAUSE state (client-pause.ts) and latency monitor (latency-monitor.ts) on their own:
// which commands a WRITE or ALL pause holds, extending and widening a pause, a pause longer than a Node
// timer can wait, waiters released by UNPAUSE; per-second samples, the 160-sample window, RESET counts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ClientPause } from '../../src/proxy/client-pause.js';
import { LatencyMonitor, latencyThresholdMs } from '../../src/proxy/latency-monitor.js';
import { lookupCommand } from '../../src/commands/table.js';
import { view } from '../helpers/resp-values.js';

const spec = (...a: string[]) => lookupCommand(view(...a))!;

test('a WRITE pause holds writes and "may replicate" commands, not reads; ALL holds everything; UNPAUSE releases waiters', async () => {
  const p = new ClientPause();
  try {
    assert.equal(p.holds(spec('set', 'a', 'b')), false, 'not paused');
    p.pause(60000, false);
    for (const c of [['set', 'a', 'b'], ['publish', 'c', 'm'], ['eval', 'return 1', '0'], ['pfcount', 'h'], ['exec'], ['del', 'a']])
      assert.equal(p.holds(spec(...c)), true, c.join(' '));
    for (const c of [['get', 'a'], ['ping'], ['eval_ro', 'return 1', '0'], ['client', 'unpause']])
      assert.equal(p.holds(spec(...c)), false, c.join(' '));
    p.pause(10, true); // widens to ALL, keeps the later end
    assert.equal(p.holds(spec('get', 'a')), true);
    assert.ok(p.until - Date.now() > 50000, 'the longer end is kept');
    let released = false;
    const w = p.wait().then(() => (released = true));
    p.unpause();
    await w;
    assert.equal(released, true);
    assert.equal(p.holds(spec('set', 'a', 'b')), false);
  } finally {
    p.close();
  }
});

test('a pause longer than 2^31-1 ms stays in force (a Node timer would fire at once); a short one ends by itself', async () => {
  const p = new ClientPause();
  try {
    p.pause(2 ** 40, true);
    await new Promise((r) => setTimeout(r, 20));
    assert.equal(p.holds(spec('ping')), true);
    p.unpause();
    p.pause(30, true);
    const t = Date.now();
    const keepAlive = setTimeout(() => {}, 10000); // the pause timer is unref'd (the proxy's server keeps the loop alive)
    await p.wait();
    clearTimeout(keepAlive);
    assert.ok(Date.now() - t < 10000, 'released by its end time');
    assert.equal(p.holds(spec('ping')), false);
  } finally {
    p.close();
  }
});

test('latency monitor: one sample per second (the highest), at most 160, maximum kept; RESET counts events', () => {
  const m = new LatencyMonitor();
  assert.deepEqual(m.latest(), []);
  m.add('command', 5.4);
  m.add('command', 12.6);
  m.add('command', 3);
  const [e] = m.latest();
  assert.deepEqual([e![0], e![2], e![3]], ['command', 13, 13]);
  assert.equal(m.history('command').length, 1);
  assert.deepEqual(m.history('other'), []);
  for (let t = 1000; t < 1200; t++) m.add('slow', t === 1010 ? 99 : 2, t);
  assert.equal(m.history('slow').length, 160);
  assert.deepEqual(m.history('slow')[0], [1040, 2], 'the oldest 40 seconds dropped');
  assert.deepEqual(
    m.latest().find((x) => x[0] === 'slow'),
    ['slow', 1199, 2, 99],
    'the maximum outlives its sample',
  );
  assert.equal(m.reset(['command', 'other', 'command']), 1);
  assert.equal(m.reset([]), 1);
  assert.equal(m.reset([]), 0);
  assert.equal(latencyThresholdMs(-1), 0);
  assert.equal(latencyThresholdMs(0), 1);
  assert.equal(latencyThresholdMs(1500), 2);
});
