// What a front door's RESP health check sees from a Shardis proxy: PING fails with -LOADING before the
// proxy has a slot table and with -ERR ... draining once the admin API's drain is called (HAProxy's
// check then takes it out); other commands keep working while draining; undrain brings +PONG back.
// Expected duration: ~2 s.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { ProxyServer } from '../../src/proxy/proxy.js';
import { defaultProxyConfig } from '../../src/proxy/config.js';
import { evenSlots } from '../../src/models/layout.js';
import { startAdminApi } from '../../src/proxy/admin-api.js';
import { singleProcessControl } from '../../src/proxy/run.js';
import { newProxyModel } from '../../src/models/proxy.js';
import { startRedisServer, type RedisServer } from '../../src/util/redis-server.js';
import { httpJson } from '../../src/util/http-json.js';
import { RawClient } from '../helpers/raw-client.js';

let redis: RedisServer | null = null;
let proxy: ProxyServer | null = null;
let closeAdmin: (() => Promise<void>) | null = null;
after(async () => {
  await closeAdmin?.();
  await proxy?.shutdown();
  await redis?.stop();
});

test('PING: -LOADING without a slot table, -ERR while draining, +PONG otherwise', async () => {
  redis = await startRedisServer({});
  proxy = new ProxyServer({ ...defaultProxyConfig(), proxyAddr: '127.0.0.1:0', adminAddr: '127.0.0.1:0' });
  const port = await proxy.listen();
  const model = newProxyModel({ product: 'sdfd', proxyAddr: `127.0.0.1:${port}`, adminAddr: '127.0.0.1:0', datacenter: '' });
  const ctl = singleProcessControl(
    proxy,
    () => model,
    async () => {},
  );
  (ctl as { xauth: string }).xauth = 'sdfd-xauth';
  const admin = await startAdminApi(ctl, '127.0.0.1:0');
  closeAdmin = async () => {
    await admin.close();
  };
  const api = `127.0.0.1:${admin.port}`;

  const c = await RawClient.connect(port);
  assert.match(await c.call('PING'), /^-LOADING /);
  proxy.fillSlots(evenSlots([{ id: 1, addr: redis.addr }]));
  assert.equal(await c.call('PING'), '+PONG\r\n');

  assert.equal((await httpJson('PUT', api, '/api/proxy/drain/wrong/1', { timeoutMs: 3000 })).status, 403, 'drain needs the xauth');
  assert.equal((await httpJson('PUT', api, `/api/proxy/drain/${ctl.xauth}/1`, { timeoutMs: 3000 })).status, 200);
  assert.match(await c.call('PING'), /^-ERR proxy is draining/);
  assert.equal(await c.call('SET', 'k', 'v'), '+OK\r\n', 'requests still work while draining');
  assert.equal(((await httpJson('GET', api, '/health', { timeoutMs: 3000 })).json as { draining: boolean }).draining, true);

  assert.equal((await httpJson('PUT', api, `/api/proxy/drain/${ctl.xauth}/0`, { timeoutMs: 3000 })).status, 200);
  assert.equal(await c.call('PING'), '+PONG\r\n');
  c.socket.destroy();
});
