// Real client libraries, unchanged, through the proxy (issue 12): node-redis pub/sub (channel and
// pattern) across two proxies and its transactions; node-redis createCluster and Debian's redis-py
// (plain: pub/sub, pipeline, transaction, WATCH; RedisCluster against the cluster façade).
// Expected duration: ~5 s.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createClient, createCluster } from 'redis';
import { startTestCluster, type TestCluster } from '../helpers/proxy-cluster.js';
import { ProxyServer } from '../../src/proxy/proxy.js';
import { defaultProxyConfig } from '../../src/proxy/config.js';

let c: TestCluster;
let proxyB: ProxyServer;
let portB = 0;

async function until(what: string, f: () => boolean, ms = 10000): Promise<void> {
  const deadline = Date.now() + ms;
  for (let i = 0; i < 10000 && !f(); i++) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

before(async () => {
  c = await startTestCluster({ groups: 2, config: { clusterFacade: true } });
  proxyB = new ProxyServer({ ...defaultProxyConfig(), proxyAddr: '127.0.0.1:0', adminAddr: '127.0.0.1:0', clusterFacade: true });
  portB = await proxyB.listen();
  proxyB.fillSlots(c.slots);
});
after(async () => {
  await proxyB?.shutdown();
  await c?.stop();
});

test('node-redis: channel and pattern subscribers on one proxy get what is published on the other, once', async () => {
  const sub = createClient({ url: `redis://127.0.0.1:${c.port}` });
  const pub = createClient({ url: `redis://127.0.0.1:${portB}` });
  await sub.connect();
  await pub.connect();
  try {
    const got: string[] = [];
    await sub.subscribe('orders', (m) => got.push(`c:${m}`));
    await sub.pSubscribe('ord*', (m, ch) => got.push(`p:${ch}:${m}`));
    for (let i = 0; i < 10; i++) await pub.publish('orders', `o${i}`);
    await until('20 deliveries', () => got.length >= 20);
    for (let i = 0; i < 10; i++) {
      assert.equal(got.filter((g) => g === `c:o${i}`).length, 1);
      assert.equal(got.filter((g) => g === `p:orders:o${i}`).length, 1);
    }
    // node-redis transactions and WATCH, on one slot.
    await pub.set('{nr}a', '1');
    assert.deepEqual(await pub.multi().incr('{nr}a').incr('{nr}a').exec(), [2, 3]);
  } finally {
    await sub.quit();
    await pub.quit();
  }
});

test('node-redis createCluster connects through the cluster façade and works', async () => {
  const cl = createCluster({ rootNodes: [{ url: `redis://127.0.0.1:${c.port}` }] });
  await cl.connect();
  try {
    await cl.set('{cl}a', 'x');
    assert.equal(await cl.get('{cl}a'), 'x');
    for (let i = 0; i < 20; i++) await cl.set(`k${i}`, String(i));
    for (let i = 0; i < 20; i++) assert.equal(await cl.get(`k${i}`), String(i));
    assert.deepEqual(await cl.multi().incr('{cl}n').incr('{cl}n').exec(), [1, 2]);
  } finally {
    await cl.quit();
  }
});

const PY = '/usr/bin/python3';
const pyScript = String.raw`
import sys, time, redis
from redis.cluster import RedisCluster
port, portb = int(sys.argv[1]), int(sys.argv[2])
r = redis.Redis(port=port); rb = redis.Redis(port=portb)
# pipeline without and with a transaction
r.delete('{py}n')
p = r.pipeline(transaction=False); p.set('{py}n', 1); p.incr('{py}n'); p.get('pz'); assert p.execute() == [True, 2, None]
p = r.pipeline(transaction=True); p.incr('{py}n'); p.incr('{py}n'); assert p.execute() == [3, 4]
# WATCH with a conflict from the other proxy, then the retry
with r.pipeline() as p:
    p.watch('{py}n'); rb.set('{py}n', 10); p.multi(); p.incr('{py}n')
    try:
        p.execute(); raise SystemExit('no WatchError')
    except redis.WatchError:
        pass
def tx(pipe):
    v = int(pipe.get('{py}n')); pipe.multi(); pipe.set('{py}n', v + 1)
r.transaction(tx, '{py}n')
assert r.get('{py}n') == b'11'
# pub/sub across the two proxies, channel and pattern
ps = r.pubsub(); ps.subscribe('pyc'); ps.psubscribe('py*')
for _ in range(2): ps.get_message(timeout=2)
rb.publish('pyc', 'hello')
msgs = []
deadline = time.time() + 5
while len(msgs) < 2 and time.time() < deadline:
    m = ps.get_message(timeout=1)
    if m: msgs.append((m['type'], m['data']))
assert sorted(msgs) == [('message', b'hello'), ('pmessage', b'hello')], msgs
ps.close()
# RedisCluster against the façade
rc = RedisCluster(host='127.0.0.1', port=port)
rc.set('{rc}a', 'v'); assert rc.get('{rc}a') == b'v'
for i in range(20): rc.set('rck%d' % i, i)
assert [int(rc.get('rck%d' % i)) for i in range(20)] == list(range(20))
assert rc.keyslot('foo') == 12182
print('OK')
`;

test(
  'redis-py (Debian python3-redis): pipeline, transaction, WATCH, pub/sub across proxies, RedisCluster via the façade',
  { skip: !existsSync(PY) && 'no /usr/bin/python3' },
  async () => {
    // Asynchronous: the proxies run in this process and must keep serving while python runs.
    const r = await new Promise<{ code: number; out: string }>((resolve) => {
      execFile(PY, ['-c', pyScript, String(c.port), String(portB)], { encoding: 'utf8', timeout: 60000 }, (err, stdout, stderr) => {
        resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, out: `${stdout}\n${stderr}` });
      });
    });
    assert.equal(r.code, 0, `python failed: ${r.out}`);
    assert.match(r.out, /OK/);
  },
);
