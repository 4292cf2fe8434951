// The control plane end to end on each coordinator (filesystem, etcd, ZooKeeper), with real processes:
// two dashboards (active + standby), two proxies that find the dashboard through the coordinator, two
// redis groups. Slots assigned through the dashboard route on both proxies; a restarted proxy rejoins
// with its table; kill -9 of the active dashboard hands over to the standby; with etcd/ZooKeeper down
// the proxies keep serving, and once it is back the dashboard carries on.
// Expected duration: about 60-90 s (three coordinators) on a quiet 2-core machine.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { startRedisServer, type RedisServer } from '../../src/util/redis-server.js';
import { startShardisProcess, type ShardisProcess } from '../../src/util/shardis-process.js';
import { eventually } from '../helpers/poll.js';
import { httpJson } from '../../src/util/http-json.js';
import { formatStoreSpec, jodisDir } from '../../src/coordinator/index.js';
import { defaultAdminToken } from '../../src/models/auth.js';
import { slotOf } from '../../src/slots/hash.js';
import { startFsBackend, startEtcdBackend, startZkBackend, type Backend } from '../helpers/coordinators.js';
import { bearer } from '../helpers/admin-auth.js';

const PRODUCT = 'e2e';
const TOKEN = defaultAdminToken(PRODUCT, '');

interface Proxy {
  p: ShardisProcess;
  port: number;
  admin: string;
}

async function startProxy(spec: string, dir: string, name: string): Promise<Proxy> {
  const p = startShardisProcess(
    'proxy',
    [
      '--coordinator',
      spec,
      '--product-name',
      PRODUCT,
      '--proxy-addr',
      '127.0.0.1:0',
      '--admin-addr',
      '127.0.0.1:0',
      '--jodis-timeout',
      '2s',
    ],
    join(dir, `${name}.log`),
  );
  const m = await p.waitLine(/proxy_port=(\d+) admin_port=(\d+)/);
  const admin = `127.0.0.1:${m[2]}`;
  await eventually(
    `${name} online`,
    async () => ((await httpJson('GET', admin, '/health', { timeoutMs: 2000 })).json as { online: boolean }).online,
    30000,
    100,
  );
  return { p, port: Number(m[1]), admin };
}

async function startDashboard(spec: string, dir: string, name: string): Promise<{ p: ShardisProcess; addr: () => Promise<string> }> {
  const p = startShardisProcess(
    'dashboard',
    ['--coordinator', spec, '--product-name', PRODUCT, '--admin-addr', '127.0.0.1:0', '--lock-ttl', '2s', '--coordinator-timeout', '2s'],
    join(dir, `${name}.log`),
  );
  return { p, addr: async () => `127.0.0.1:${(await p.waitLine(/admin_port=(\d+)/))[1]}` };
}

async function put(dash: string, path: string): Promise<unknown> {
  const r = await httpJson('PUT', dash, `/api/topom/${path.replace('{token}', TOKEN)}`, { timeoutMs: 15000 });
  assert.equal(r.status, 200, `PUT ${path}: ${r.text}`);
  return r.json;
}

/** A key of the given prefix whose slot satisfies `pred`. */
function keyWhere(prefix: string, pred: (slot: number) => boolean): string {
  for (let i = 0; ; i++) if (pred(slotOf(`${prefix}${i}`))) return `${prefix}${i}`;
}

for (const kind of ['filesystem', 'etcd', 'zookeeper'] as const) {
  describe(`control plane on ${kind}`, () => {
    let backend: Backend;
    let spec: string;
    const dir = mkdtempSync(join(tmpdir(), `shardis-e2e-${kind}-`));
    const redis: RedisServer[] = [];
    const procs: ShardisProcess[] = [];

    before(async () => {
      backend = kind === 'filesystem' ? await startFsBackend() : kind === 'etcd' ? await startEtcdBackend() : await startZkBackend();
      spec = formatStoreSpec(backend.spec);
      redis.push(await startRedisServer(), await startRedisServer());
    });
    after(async () => {
      for (const p of procs) await p.proc.stop();
      for (const r of redis) await r.stop();
      await backend.teardown();
    });

    test('dashboards, proxies and groups work together and survive failures', async () => {
      const dA = await startDashboard(spec, dir, 'dashboard-a');
      procs.push(dA.p);
      await dA.p.waitLine(/^shardis dashboard ready/);
      const dashA = await dA.addr();
      const dB = await startDashboard(spec, dir, 'dashboard-b');
      procs.push(dB.p);
      await dB.p.waitLine(/^shardis dashboard standby/);

      await put(dashA, 'group/create/{token}/1');
      await put(dashA, 'group/create/{token}/2');
      await put(dashA, `group/add/{token}/1/${redis[0]!.addr}`);
      await put(dashA, `group/add/{token}/2/${redis[1]!.addr}`);
      await put(dashA, 'slots/assign-range/{token}/0/511/1');
      await put(dashA, 'slots/assign-range/{token}/512/1023/2');

      const p1 = await startProxy(spec, dir, 'proxy-1');
      procs.push(p1.p);
      const p2 = await startProxy(spec, dir, 'proxy-2');
      procs.push(p2.p);
      const direct = redis.map((r) => new Redis({ port: r.port }));
      const viaProxy = async (p: Proxy, f: (c: Redis) => Promise<void>): Promise<void> => {
        const c = new Redis({ port: p.port, maxRetriesPerRequest: 0 });
        try {
          await f(c);
        } finally {
          c.disconnect();
        }
      };
      try {
        // Both proxies route by the assigned layout.
        const low = keyWhere('low', (s) => s < 512),
          high = keyWhere('high', (s) => s >= 512);
        await viaProxy(p1, async (c) => {
          await c.set(low, 'p1');
        });
        await viaProxy(p2, async (c) => {
          await c.set(high, 'p2');
        });
        assert.equal(await direct[0]!.get(low), 'p1');
        assert.equal(await direct[1]!.get(high), 'p2');
        assert.equal(await direct[1]!.exists(low), 0);

        // Discovery entries for clients (jodis), one per proxy.
        const store = await backend.open();
        await eventually('two jodis entries', async () => (await store.list(jodisDir(PRODUCT))).length === 2, 10000, 100);

        // Reassign slots 0..99 to group 2 (no data moved): both proxies follow.
        await put(dashA, 'slots/assign-range/{token}/0/99/2');
        const moved = keyWhere('moved', (s) => s < 100);
        await viaProxy(p1, async (c) => {
          await c.set(moved, 'x');
        });
        await viaProxy(p2, async (c) => {
          assert.equal(await c.get(moved), 'x');
        });
        assert.equal(await direct[1]!.get(moved), 'x');

        // A restarted proxy rejoins and gets its table.
        await p1.p.proc.stop();
        const p1b = await startProxy(spec, dir, 'proxy-1b');
        procs.push(p1b.p);
        const slots = (await httpJson('GET', p1b.admin, '/proxy/slots', { timeoutMs: 3000, headers: bearer(TOKEN) })).json as Array<{
          id: number;
          backend_addr?: string;
        }>;
        assert.equal(slots.filter((s) => s.backend_addr === redis[1]!.addr).length, 612);
        await viaProxy(p1b, async (c) => {
          assert.equal(await c.get(moved), 'x');
        });

        // kill -9 the active dashboard: the standby takes over with the same state.
        await dA.p.proc.kill9();
        await dB.p.waitLine(/^shardis dashboard ready/, 20000); // a deadline; takeover times: bench/
        const dashB = await dB.addr();
        const overview = (await httpJson('GET', dashB, '/topom', { timeoutMs: 5000, headers: bearer(TOKEN) })).json as Record<
          string,
          unknown
        >;
        assert.match(JSON.stringify(overview), new RegExp(redis[0]!.addr.replace(/\./g, '\\.')));

        if (backend.server) {
          // Coordinator down: proxies keep serving with their tables.
          await backend.server.stop();
          for (const p of [p1b, p2]) {
            await viaProxy(p, async (c) => {
              await c.set(low, 'while-down');
              assert.equal(await c.get(high), 'p2');
            });
          }
          await viaProxy(p2, async (c) => {
            assert.equal(await c.get(low), 'while-down', 'a write through one proxy is read through the other');
          });
          // Back: the dashboard carries on (possibly after re-taking its lease).
          await backend.server.restart();
          await eventually(
            'dashboard active again',
            async () => {
              const r = await httpJson('GET', dashB, '/health', { timeoutMs: 2000 }).catch(() => null);
              if (r?.status === 200) return true;
              return false;
            },
            30000,
            200,
          ).catch(async () => {
            // It may have handed over to nobody else: the only dashboard left must become active.
            throw new Error(
              `dashboard did not become active again: ${(await httpJson('GET', dashB, '/health', { timeoutMs: 2000 })).text}`,
            );
          });
          let last = '';
          await eventually(
            'dashboard accepts changes again',
            async () => {
              const r = await httpJson('PUT', dashB, `/api/topom/slots/assign-range/${TOKEN}/0/99/1`, { timeoutMs: 10000 });
              last = r.text;
              return r.status === 200;
            },
            30000,
            500,
          ).catch(() => {
            throw new Error(`last reply: ${last}`);
          });
          const back = keyWhere('back', (s) => s < 100);
          await eventually(
            'proxies follow the new table',
            async () => {
              let ok = true;
              for (const p of [p1b, p2]) {
                const t = (await httpJson('GET', p.admin, '/proxy/slots', { timeoutMs: 2000, headers: bearer(TOKEN) })).json as Array<{
                  backend_addr?: string;
                }>;
                ok &&= t[slotOf(back)]!.backend_addr === redis[0]!.addr;
              }
              return ok;
            },
            15000,
            200,
          );
          await viaProxy(p2, async (c) => {
            await c.set(back, 'again');
          });
          assert.equal(await direct[0]!.get(back), 'again');
        }
      } finally {
        for (const d of direct) d.disconnect();
      }
    });
  });
}
