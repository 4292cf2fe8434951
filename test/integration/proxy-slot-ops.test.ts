// Per-slot op counters: requests routed to a slot show in the admin API's stats JSON as `slot_ops`
// (1024 cumulative counts; each key of a split command counts one on its slot), reset with the
// stats; the merged snapshot of --workers N sums them. Expected duration: ~1-3 s.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { startTestCluster, type TestCluster } from '../helpers/proxy-cluster.js';
import { startAdminApi } from '../../src/proxy/admin-api.js';
import { singleProcessControl } from '../../src/proxy/run.js';
import { newProxyModel } from '../../src/models/proxy.js';
import { mergeSnapshots } from '../../src/proxy/stats.js';
import { RawClient } from '../helpers/raw-client.js';
import { slotOf } from '../../src/slots/hash.js';
import { bearer } from '../helpers/admin-auth.js';

let c: TestCluster;
let admin: Awaited<ReturnType<typeof startAdminApi>>;
before(async () => {
  c = await startTestCluster();
  const model = newProxyModel({ product: 'slot-ops', proxyAddr: `127.0.0.1:${c.port}`, adminAddr: '127.0.0.1:0', datacenter: '' });
  const ctl = singleProcessControl(
    c.proxy,
    () => model,
    async () => {
      /* stopped by after() */
    },
  );
  (ctl as { xauth: string }).xauth = 'x';
  admin = await startAdminApi(ctl, '127.0.0.1:0');
});
after(async () => {
  await admin?.close();
  await c?.stop();
});

async function slotOps(): Promise<number[]> {
  const r = await fetch(`http://127.0.0.1:${admin.port}/proxy/stats`, { headers: bearer('x'), signal: AbortSignal.timeout(5000) });
  assert.equal(r.status, 200);
  const j = (await r.json()) as { slot_ops: number[] };
  return j.slot_ops;
}

test('GET /proxy/stats shows requests per slot as slot_ops; stats reset clears them', async () => {
  const before = await slotOps();
  assert.equal(before.length, 1024);
  const cl = await RawClient.connect(c.port);
  try {
    for (let i = 0; i < 3; i++) assert.match(await cl.call('GET', 'so:a'), /^\$-1/);
    assert.equal(await cl.call('SET', 'so:b', '1'), '+OK\r\n');
    assert.match(await cl.call('MGET', 'so:a', 'so:b', 'so:c'), /^\*3/);
    assert.equal(await cl.call('PING'), '+PONG\r\n'); // local: no slot
  } finally {
    cl.close();
  }
  const now = await slotOps();
  const delta = now.map((v, i) => v - (before[i] ?? 0));
  const want = new Array<number>(1024).fill(0);
  for (const k of ['so:a', 'so:a', 'so:a', 'so:b', 'so:a', 'so:b', 'so:c']) want[slotOf(k)]!++;
  assert.deepEqual(delta, want);
  const r = await fetch(`http://127.0.0.1:${admin.port}/api/proxy/stats/reset/x`, { method: 'PUT', signal: AbortSignal.timeout(5000) });
  assert.equal(r.status, 200);
  assert.equal(
    (await slotOps()).reduce((a, b) => a + b, 0),
    0,
  );
});

test('the merged snapshot of several workers sums slot_ops slot by slot', () => {
  const a = c.proxy.snapshot(),
    b = c.proxy.snapshot();
  a.slotOps = new Array<number>(1024).fill(0);
  b.slotOps = new Array<number>(1024).fill(0);
  a.slotOps[5] = 2;
  b.slotOps[5] = 3;
  b.slotOps[1023] = 7;
  const m = mergeSnapshots([a, b]);
  assert.equal(m.slotOps.length, 1024);
  assert.equal(m.slotOps[5], 5);
  assert.equal(m.slotOps[1023], 7);
  assert.equal(
    m.slotOps.reduce((x, y) => x + y, 0),
    12,
  );
});
