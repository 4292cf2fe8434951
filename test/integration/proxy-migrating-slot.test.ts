// A proxy serving a slot under migration (backend = target, migrate_from = source), against real
// redis-servers, with the dashboard left out: which requests run in place on the source, which move
// their keys first, that replies are exactly what Redis answers, locked keys are waited for, moves
// of concurrent sessions are coalesced, and the counters show in /metrics.
// Expected duration: about 5 s on a quiet 2-core machine.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { startTestCluster, type TestCluster } from '../helpers/proxy-cluster.js';
import { RawClient } from '../helpers/raw-client.js';
import { slotOf } from '../../src/slots/hash.js';
import { startAdminApi } from '../../src/proxy/admin-api.js';
import { singleProcessControl } from '../../src/proxy/run.js';
import { newProxyModel } from '../../src/models/proxy.js';
import { httpJson } from '../../src/util/http-json.js';
import type { RedisServer } from '../../src/util/redis-server.js';
import { productBearer } from '../helpers/admin-auth.js';

let c: TestCluster;
let src: Redis, dst: Redis;
let source: RedisServer, target: RedisServer;
const SLOT = 100;
/** Keys of SLOT: `{t}` is a hash tag whose slot is SLOT. */
let tag = '';
const key = (name: string): string => `{${tag}}${name}`;

before(async () => {
  c = await startTestCluster({ groups: 2 });
  for (let i = 0; ; i++)
    if (slotOf(`t${i}`) === SLOT) {
      tag = `t${i}`;
      break;
    }
  source = c.serverOfSlot(SLOT);
  target = c.servers.find((s) => s !== source)!;
  c.proxy.fillSlots([{ id: SLOT, backend_addr: target.addr, migrate_from: source.addr }]);
  src = new Redis({ port: source.port, host: '127.0.0.1' });
  dst = new Redis({ port: target.port, host: '127.0.0.1' });
});

after(async () => {
  src.disconnect();
  dst.disconnect();
  await c.stop();
});

test('a one-key request runs on the source while its key is there; an absent key is served by the target', async () => {
  await src.set(key('a'), 'x');
  const cl = await RawClient.connect(c.port);
  const inPlace0 = c.proxy.ctx.migration.stats.inPlace;
  assert.equal(await cl.call('APPEND', key('a'), 'yz'), ':3\r\n');
  assert.equal(await cl.call('GET', key('a')), '$3\r\nxyz\r\n');
  assert.equal(c.proxy.ctx.migration.stats.inPlace - inPlace0, 2);
  assert.equal(await src.get(key('a')), 'xyz', 'the write ran on the source, where the key is');
  assert.equal(await dst.exists(key('a')), 0);
  // Absent from the source: written on the target, and never created on the source.
  assert.equal(await cl.call('SET', key('new'), 'v'), '+OK\r\n');
  assert.equal(await dst.get(key('new')), 'v');
  assert.equal(await src.exists(key('new')), 0);
  assert.equal(await cl.call('GET', key('new')), '$1\r\nv\r\n');
  cl.close();
});

test('replies run in place are byte-for-byte what Redis answers (errors, nil elements, status, empty)', async () => {
  await src.hset(key('h'), 'a', '1');
  await src.rpush(key('l'), 'p', 'q');
  const viaProxy = await RawClient.connect(c.port);
  const direct = await RawClient.connect(source.port);
  const cases: string[][] = [
    ['GET', key('h')], // WRONGTYPE
    ['HMGET', key('h'), 'a', 'missing', 'a'], // nil inside an array
    ['TYPE', key('h')], // status reply
    ['HGETALL', key('h')],
    ['LRANGE', key('l'), '5', '9'], // empty array
    ['LPOS', key('l'), 'zz'], // nil
    ['OBJECT', 'ENCODING', key('l')],
    ['HINCRBYFLOAT', key('h'), 'a', '0.5'],
    ['EXPIRE', key('l'), '100'],
  ];
  for (const cmd of cases) {
    const want = await direct.call(...cmd);
    // The direct call changed state for writes: undo HINCRBYFLOAT so both see the same value.
    if (cmd[0] === 'HINCRBYFLOAT') await src.hincrbyfloat(key('h'), 'a', '-0.5');
    assert.equal(await viaProxy.call(...cmd), want, cmd.join(' '));
  }
  assert.equal(await dst.exists(key('h'), key('l')), 0, 'nothing moved');
  viaProxy.close();
  direct.close();
});

test('integer values beyond 2^53 and RESP3 sessions take the move path, with exact replies', async () => {
  await src.set(key('big'), '1152921504606846976'); // 2^60
  const cl = await RawClient.connect(c.port);
  assert.equal(await cl.call('INCRBY', key('big'), '1'), ':1152921504606846977\r\n');
  assert.equal(await dst.get(key('big')), '1152921504606846977', 'moved to the target, then incremented there');
  assert.equal(await src.exists(key('big')), 0);
  await src.hset(key('h3'), 'f', 'v');
  assert.match(await cl.call('HELLO', '3'), /^%/);
  assert.equal(await cl.call('HGETALL', key('h3')), '%1\r\n$1\r\nf\r\n$1\r\nv\r\n', 'a RESP3 map, as Redis answers it');
  assert.equal(await dst.exists(key('h3')), 1);
  cl.close();
});

test('a key locked by the big-key copier is waited for, then served', async () => {
  await src.set(key('locked'), 'v1');
  // A lower bound, measured from the moment the lock was set, so a slow machine cannot make it fail.
  const t0 = Date.now();
  await src.set(`__shardis_lock:${key('locked')}`, 'someone', 'PX', 300);
  const cl = await RawClient.connect(c.port);
  assert.equal(await cl.call('GET', key('locked')), '$2\r\nv1\r\n');
  assert.ok(Date.now() - t0 >= 250, `answered ${Date.now() - t0} ms after the lock was set, before it expired`);
  cl.close();
});

test('key moves that concurrent sessions ask for in one turn share one script call', async () => {
  const n = 40;
  const names = Array.from({ length: n }, (_, i) => key(`m${i}`));
  await src.mset(...names.flatMap((k) => [k, `v-${k}`]));
  const clients = await Promise.all(names.map(() => RawClient.connect(c.port)));
  for (const cl of clients) assert.equal(await cl.call('PING'), '+PONG\r\n'); // every session is set up in the proxy
  const calls0 = c.proxy.ctx.migration.stats.calls,
    moved0 = c.proxy.ctx.migration.stats.keysMoved;
  // MGET is a multi-key command: it moves its keys (no in-place run). All requests are written in one tick.
  clients.forEach((cl, i) => cl.send('MGET', names[i]!, names[(i + 1) % n]!));
  const replies = await Promise.all(clients.map((cl) => cl.read()));
  replies.forEach((r, i) =>
    assert.equal(
      r,
      `*2\r\n$${`v-${names[i]}`.length}\r\nv-${names[i]}\r\n$${`v-${names[(i + 1) % n]}`.length}\r\nv-${names[(i + 1) % n]}\r\n`,
    ),
  );
  const calls = c.proxy.ctx.migration.stats.calls - calls0;
  assert.ok(calls >= 1 && calls < n / 2, `${calls} script calls for ${n} requests`);
  assert.equal(c.proxy.ctx.migration.stats.keysMoved - moved0, n, 'each key moved once');
  assert.equal(await src.exists(...names), 0);
  assert.equal(await dst.exists(...names), n);
  for (const cl of clients) cl.close();
});

test('migration counters are in the stats and /metrics', async () => {
  const snap = c.proxy.snapshot();
  assert.ok(snap.migration.inPlace >= 2 && snap.migration.keysMoved >= 40 && snap.migration.calls >= 1);
  // The admin API's GET /metrics (what Prometheus scrapes), served for this in-process proxy.
  const model = newProxyModel({
    product: c.proxy.ctx.config.productName,
    proxyAddr: `127.0.0.1:${c.port}`,
    adminAddr: '127.0.0.1:0',
    datacenter: '',
  });
  const admin = await startAdminApi(
    singleProcessControl(
      c.proxy,
      () => model,
      async () => {},
    ),
    '127.0.0.1:0',
  );
  try {
    const r = await httpJson('GET', `127.0.0.1:${admin.port}`, '/metrics', {
      timeoutMs: 10000,
      headers: productBearer(c.proxy.ctx.config.productName, c.proxy.ctx.config.productAuth),
    });
    assert.equal(r.status, 200);
    const product = model.product_name;
    assert.match(r.text, new RegExp(`shardis_proxy_migration_in_place_total\\{product="${product}"\\} ${snap.migration.inPlace}\\n`));
    assert.match(r.text, new RegExp(`shardis_proxy_migration_keys_moved_total\\{product="${product}"\\} ${snap.migration.keysMoved}\\n`));
  } finally {
    await admin.close();
  }
});
