// Test fixture: N real redis-server groups behind an in-process proxy with an even slot layout.
import { startRedisServer, type RedisServer } from '../../src/util/redis-server.js';
import { ProxyServer } from '../../src/proxy/proxy.js';
import { defaultProxyConfig, type ProxyConfig } from '../../src/proxy/config.js';
import { evenSlots } from '../../src/models/layout.js';
import type { Slot } from '../../src/models/slot.js';

export interface TestCluster {
  servers: RedisServer[];
  proxy: ProxyServer;
  port: number;
  slots: Slot[];
  /** The redis server that owns `slot` in the initial layout. */
  serverOfSlot(slot: number): RedisServer;
  stop(): Promise<void>;
}

export async function startTestCluster(
  o: { groups?: number; config?: Partial<ProxyConfig>; redisPassword?: string } = {},
): Promise<TestCluster> {
  const servers: RedisServer[] = [];
  try {
    for (let i = 0; i < (o.groups ?? 2); i++) servers.push(await startRedisServer({ password: o.redisPassword }));
    const config = {
      ...defaultProxyConfig(),
      proxyAddr: '127.0.0.1:0',
      adminAddr: '127.0.0.1:0',
      productAuth: o.redisPassword ?? '',
      ...o.config,
    };
    const proxy = new ProxyServer(config);
    const port = await proxy.listen();
    const slots = evenSlots(servers.map((s, i) => ({ id: i + 1, addr: s.addr })));
    proxy.fillSlots(slots);
    return {
      servers,
      proxy,
      port,
      slots,
      serverOfSlot: (slot) => servers.find((s) => s.addr === slots[slot]!.backend_addr)!,
      stop: async () => {
        await proxy.shutdown();
        await Promise.all(servers.map((s) => s.stop()));
      },
    };
  } catch (e) {
    await Promise.all(servers.map((s) => s.stop()));
    throw e;
  }
}
