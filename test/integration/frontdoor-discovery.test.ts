// The discovery client (`shardis/client`, Jodis's round-robin pool for Node) against 3 real proxies
// registered in a filesystem coordinator: requests spread over them; kill -9 one — only requests in
// flight on it fail and the pool drops it; drain one — it leaves the rotation without errors; start
// another — the pool picks it up and uses it.
// Expected duration: ~15-25 s.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPool, type ProxyPool } from 'shardis/client';
import { startLocalCluster, type LocalCluster } from '../../src/cli/local-cluster.js';
import { startProxyProcess } from '../../src/util/shardis-process.js';
import { waitFor, type Spawned } from '../../src/util/processes.js';
import { httpJson } from '../../src/util/http-json.js';
import { proxyXAuth } from '../../src/models/proxy.js';
import { jodisDirectory } from '../../src/client/proxy-directory.js';

const dir = mkdtempSync(join(tmpdir(), 'sdfd-discovery-'));
const coordinator = `filesystem:${join(dir, 'coordinator')}`;
let cluster: LocalCluster | null = null;
let pool: ProxyPool | null = null;
const extra: Spawned[] = [];
after(async () => {
  await pool?.close();
  await Promise.all(extra.map((p) => p.stop(2000)));
  await cluster?.stop();
});

test('discovery pool: spreads over registered proxies, survives kill -9 of one, drops a draining one, picks up a new one', async () => {
  cluster = await startLocalCluster({
    groups: 1,
    replicas: 0,
    proxies: 3,
    dir,
    basePort: 0,
    host: '127.0.0.1',
    product: 'sdfd-disc',
    sentinels: 0,
    proxyArgs: ['--coordinator', coordinator],
  });
  const info = cluster.info;
  pool = await createPool({ coordinator, product: 'sdfd-disc', refreshMs: 200 });
  await waitFor('pool sees 3 proxies', () => pool!.addresses().length === 3, 15000, 50);
  assert.deepEqual(pool.addresses(), info.proxies.map((p) => p.addr).sort());

  const okBy = new Map<string, number>();
  const errors: Array<{ addr: string; message: string; phase: string }> = [];
  let phase = 'steady';
  let running = true;
  const loop = async (w: number): Promise<void> => {
    for (let n = 0; running && n < 1_000_000; n++) {
      let addr = '?';
      const sentIn = phase; // the phase in which the request was sent
      try {
        const c = pool!.getClient();
        addr = `${c.options.host}:${c.options.port}`;
        await c.set(`disc:${w}:${n}`, String(n));
        okBy.set(addr, (okBy.get(addr) ?? 0) + 1);
      } catch (e) {
        errors.push({ addr, message: (e as Error).message, phase: sentIn });
        await new Promise((r) => setTimeout(r, 10));
      }
    }
  };
  const loops = Array.from({ length: 6 }, (_, w) => loop(w));
  try {
    await waitFor('every proxy served requests', () => info.proxies.every((p) => (okBy.get(p.addr) ?? 0) > 20), 20000, 20);
    assert.equal(errors.length, 0, JSON.stringify(errors.slice(0, 3)));

    phase = 'kill';
    const dead = info.proxies[0]!;
    await cluster.procs.find((p) => p.pid === dead.pid)!.kill9();
    await waitFor('the pool drops the dead proxy', () => !pool!.addresses().includes(dead.addr), 15000, 20);
    phase = 'after-kill';
    const base = new Map(okBy);
    await waitFor(
      'the others keep serving',
      () => info.proxies.slice(1).every((p) => (okBy.get(p.addr) ?? 0) > (base.get(p.addr) ?? 0) + 50),
      20000,
      20,
    );

    // A draining proxy (what `shardis admin proxy offline` starts with) leaves the rotation with no error.
    phase = 'drain';
    const drained = info.proxies[1]!;
    const entry = (await (await jodisDirectory(coordinator, 'sdfd-disc')).list()).find((e) => e.addr === drained.addr)!;
    const r = await httpJson('PUT', drained.admin, `/api/proxy/drain/${proxyXAuth('sdfd-disc', '', entry.token)}/1`, { timeoutMs: 5000 });
    assert.equal(r.status, 200, r.text);
    await waitFor('the pool drops the draining proxy', () => !pool!.addresses().includes(drained.addr), 15000, 20);

    phase = 'add';
    const p4 = await startProxyProcess(
      [
        '--dashboard',
        info.dashboard.addr,
        '--coordinator',
        coordinator,
        '--product-name',
        'sdfd-disc',
        '--proxy-addr',
        '127.0.0.1:0',
        '--admin-addr',
        '127.0.0.1:0',
      ],
      join(dir, 'proxy-4.log'),
    );
    extra.push(p4.proc);
    const addr4 = `127.0.0.1:${p4.port}`;
    await waitFor('the pool uses the new proxy', () => (okBy.get(addr4) ?? 0) > 20, 20000, 20);
  } catch (e) {
    throw new Error(
      `${(e as Error).message}; served: ${JSON.stringify([...okBy])}; errors: ${errors.length} ${JSON.stringify(errors.slice(-3))}; pool: ${pool.addresses().join(',')}`,
    );
  } finally {
    running = false;
    await Promise.race([Promise.all(loops), new Promise((r) => setTimeout(r, 10000).unref())]);
  }
  // In flight on the killed proxy = sent to it before the pool dropped it (during 'steady' just before
  // the kill, or during 'kill').
  const bad = errors.filter((e) => e.addr !== info.proxies[0]!.addr || (e.phase !== 'kill' && e.phase !== 'steady'));
  assert.deepEqual(bad, [], 'only requests sent to the killed proxy before the pool dropped it may fail');
  assert.ok(errors.length <= 6 * 2, `at most the in-flight requests fail (got ${errors.length})`);
});
