// Test fixture: a proxy with its admin API running in this process (what `shardis proxy` runs,
// minus signal handling), for dashboard tests that register proxies and push slot tables.
import { ProxyServer } from '../../src/proxy/proxy.js';
import { startAdminApi } from '../../src/proxy/admin-api.js';
import { singleProcessControl } from '../../src/proxy/run.js';
import { defaultProxyConfig } from '../../src/proxy/config.js';
import { newProxyModel, proxyXAuth, type ProxyModel } from '../../src/models/proxy.js';

export interface TestProxy {
  proxy: ProxyServer;
  port: number;
  adminAddr: string;
  model: ProxyModel;
  xauth: string;
  /** Closes the admin API and the proxy. */
  stop(): Promise<void>;
}

/** A proxy with its admin API, in this process (what `shardis proxy` runs, minus signals). */
export async function startTestProxy(product: string, productAuth = ''): Promise<TestProxy> {
  const config = { ...defaultProxyConfig(), productName: product, productAuth, proxyAddr: '127.0.0.1:0', adminAddr: '127.0.0.1:0' };
  const proxy = new ProxyServer(config);
  const port = await proxy.listen();
  let model!: ProxyModel; // eslint-disable-line prefer-const -- assigned after the admin API that reads it is built
  let stopped = false;
  const ctl = singleProcessControl(
    proxy,
    () => model,
    async () => {
      await stop();
    },
  );
  const admin = await startAdminApi(ctl, '127.0.0.1:0');
  model = newProxyModel({ product, proxyAddr: `127.0.0.1:${port}`, adminAddr: `127.0.0.1:${admin.port}`, datacenter: '' });
  const xauth = proxyXAuth(product, productAuth, model.token);
  (ctl as { xauth: string }).xauth = xauth;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await admin.close();
    await proxy.shutdown();
  };
  return { proxy, port, adminAddr: `127.0.0.1:${admin.port}`, model, xauth, stop };
}
