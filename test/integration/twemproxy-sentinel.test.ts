// A Sentinel-aware Twemproxy pool: two master/replica pairs, three redis-sentinels monitoring them
// as `twem-a` / `twem-b`, and `shardis nutcracker` serving a ketama pool whose servers name those
// masters. Under a write workload the master of `twem-a` is killed with SIGKILL: the sentinels fail
// it over, the same Shardis process (no restart, no config rewrite) moves the server to the new
// master and writes to its keys resume. Acknowledged writes lost are counted and reported.
// Expected duration: ~15-25 s (sentinel down-after 1 s, then election and promotion).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { startRedisServer, type RedisServer } from '../../src/util/redis-server.js';
import { startRedisSentinel, type RedisSentinel } from '../../src/util/redis-sentinel.js';
import { freePort } from '../../src/util/free-port.js';
import { startShardisProcess, type ShardisProcess } from '../../src/util/shardis-process.js';
import { waitFor } from '../../src/util/processes.js';
import { redisCall } from '../../src/ha/sentinels.js';
import { httpJson } from '../../src/util/http-json.js';
import { parseNutcrackerConfig } from '../../src/twemproxy/config.js';
import { PoolDistribution } from '../../src/twemproxy/distribution.js';

let redis: RedisServer[] = [];
let sentinels: RedisSentinel[] = [];
let shardis: ShardisProcess | undefined;
let port = 0;
let adminPort = 0;
let configText = '';
const clients: Redis[] = [];

before(async () => {
  const a1 = await startRedisServer();
  const b1 = await startRedisServer();
  const a2 = await startRedisServer({ config: [`replicaof 127.0.0.1 ${a1.port}`] });
  const b2 = await startRedisServer({ config: [`replicaof 127.0.0.1 ${b1.port}`] });
  redis = [a1, a2, b1, b2];
  const monitor = (name: string, m: RedisServer): string[] => [
    `sentinel monitor ${name} 127.0.0.1 ${m.port} 2`,
    `sentinel down-after-milliseconds ${name} 1000`,
    `sentinel failover-timeout ${name} 10000`,
    `sentinel parallel-syncs ${name} 1`,
  ];
  sentinels = await Promise.all([0, 1, 2].map(() => startRedisSentinel({ config: [...monitor('twem-a', a1), ...monitor('twem-b', b1)] })));
  // Replication up, and every sentinel knows the replica and the two other sentinels.
  await waitFor(
    'replicas and sentinels to know each other',
    async () => {
      for (const s of sentinels) {
        for (const name of ['twem-a', 'twem-b']) {
          const reps = (await redisCall(s.addr, 1000, ['SENTINEL', 'REPLICAS', name])) as unknown[];
          const sens = (await redisCall(s.addr, 1000, ['SENTINEL', 'SENTINELS', name])) as unknown[];
          if (reps.length < 1 || sens.length < 2) return false;
          const flags = String((reps[0] as string[])[(reps[0] as string[]).indexOf('flags') + 1]);
          if (flags.includes('disconnected') || flags.includes('s_down')) return false;
        }
      }
      const info = String(await redisCall(a1.addr, 1000, ['INFO', 'replication']));
      return /slave0:.*state=online/.test(info);
    },
    30000,
    200,
  );
  port = await freePort();
  configText = [
    'ha:',
    `  listen: 127.0.0.1:${port}`,
    '  hash: murmur',
    '  distribution: ketama',
    '  redis: true',
    '  timeout: 2000',
    '  sentinels:',
    ...sentinels.map((s) => `   - ${s.addr}:1`),
    '  servers:',
    `   - ${a1.addr}:1 twem-a`,
    `   - ${b1.addr}:1 twem-b`,
    '',
  ].join('\n');
  const dir = mkdtempSync(join(tmpdir(), 'shardis-twem-sentinel-'));
  writeFileSync(join(dir, 'n.yml'), configText);
  shardis = startShardisProcess(
    'nutcracker',
    ['-c', join(dir, 'n.yml'), '-s', '0', '-a', '127.0.0.1', '--admin-addr', '127.0.0.1:0'],
    join(dir, 'shardis.log'),
  );
  adminPort = Number((await shardis.waitLine(/ready stats_port=\d+ admin_port=(\d+)/))[1]);
});

after(async () => {
  for (const c of clients) c.disconnect();
  await shardis?.proc.stop();
  await Promise.all([...sentinels, ...redis].map((s) => s.stop()));
});

test('kill -9 a pool master under writes: the same Shardis process follows the sentinels and writes resume', async (t) => {
  const [pool] = parseNutcrackerConfig(configText);
  const dist = new PoolDistribution({ hash: pool!.hash, distribution: pool!.distribution, hashTag: '', servers: pool!.servers });
  const serverOf = (k: string): string => pool!.servers[dist.serverOfKey(k)]!.givenName;
  const pid = shardis!.proc.pid;
  for (let i = 0; i < 2; i++) {
    const c = new Redis({
      port,
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      enableReadyCheck: false,
      disableClientInfo: true,
      commandTimeout: 3000,
      retryStrategy: () => 50,
    });
    c.on('error', () => {});
    clients.push(c);
  }
  const acked = new Map<string, string>();
  let running = true,
    errors = 0,
    n = 0;
  const loops = clients.map(async (c, ci) => {
    for (let i = 0; running && i < 200000; i++) {
      const key = `w:${ci}:${i}`,
        val = `v${i}`;
      n++;
      try {
        if ((await c.set(key, val)) === 'OK') acked.set(key, val);
      } catch {
        errors++;
        await new Promise((r) => setTimeout(r, 10));
      }
    }
  });
  try {
    await waitFor(
      'writes on both pool servers',
      () => [...acked.keys()].filter((k) => serverOf(k) === 'twem-a').length > 100 && acked.size > 300,
      20000,
    );
    const [a1, a2] = redis as [RedisServer, RedisServer];
    const killedAt = Date.now();
    await a1.kill9();
    const ackedBefore = acked.size;
    // Writes to twem-a's keys resume, on the promoted replica.
    let resumedAt = 0;
    await waitFor(
      'writes to twem-a keys to resume on the new master',
      async () => {
        const recent = [...acked.keys()].slice(ackedBefore).filter((k) => serverOf(k) === 'twem-a');
        if (recent.length < 20) return false;
        const onNew = await redisCall(a2.addr, 1000, ['EXISTS', recent[recent.length - 1]!]);
        if (onNew !== 1) return false;
        resumedAt = Date.now();
        return true;
      },
      60000,
      100,
    );
    const target = acked.size + 200;
    await waitFor('more writes after the failover', () => acked.size >= target, 20000);
    running = false;
    await Promise.all(loops);
    // Count acknowledged writes that are gone (read through the same Shardis process).
    let lost = 0;
    const reader = clients[0]!;
    const keys = [...acked.keys()];
    for (let i = 0; i < keys.length; i += 200) {
      const batch = keys.slice(i, i + 200);
      const got = await reader.mget(...batch);
      batch.forEach((k, j) => {
        if (got[j] !== acked.get(k)) lost++;
      });
    }
    const sentinelState = (await httpJson('GET', `127.0.0.1:${adminPort}`, '/sentinels', { timeoutMs: 3000 })).json as Record<
      string,
      { switches: number }
    >;
    const report = `failover: writes resumed ${resumedAt - killedAt} ms after kill -9; ${acked.size} writes acknowledged of ${n} attempted, ${errors} errors; acknowledged writes lost: ${lost}`;
    t.diagnostic(report);
    assert.equal(shardis!.proc.pid, pid);
    assert.equal(shardis!.proc.child.exitCode, null, 'the Shardis process was not restarted');
    assert.ok(sentinelState.ha!.switches >= 1, 'the pool recorded the master switch');
    assert.ok(lost <= acked.size - ackedBefore + 1000, 'lost writes are counted (bounded by the writes around the kill)');
  } finally {
    running = false;
    await Promise.all(loops);
  }
});
