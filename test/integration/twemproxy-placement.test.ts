// Placement against the real nutcracker (Debian's twemproxy 0.5.0): one generated nutcracker.yml
// with a pool per hash function x distribution (ketama with weights, names and hash tags; modula
// with weights and '$$' tags; named-only, equal-weight and default pools), all over the same four
// redis-servers (each pool in its own DB). Keys are written through nutcracker; then every server is
// asked which keys it holds, and Shardis's placement function must name the same server for every
// key of every pool; Shardis started from the same file (other listen ports) reads every key back;
// both stats ports are read by the same parser. Expected duration: ~10-20 s (600 keys x 27 pools;
// TWEM_PLACEMENT_KEYS=20000 for the long run, ~1 min).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import type { Redis } from 'ioredis';
import { startRedisServer, type RedisServer } from '../../src/util/redis-server.js';
import { startNutcracker, type Nutcracker } from '../../src/util/nutcracker-server.js';
import { freePort } from '../../src/util/free-port.js';
import { parseNutcrackerConfig, type NutPool } from '../../src/twemproxy/config.js';
import { PoolDistribution } from '../../src/twemproxy/distribution.js';
import { keysOnServers, matrixKeys, matrixPools } from '../helpers/twemproxy-matrix.js';
import { readStatsPort } from '../../src/util/nutcracker-server.js';
import { startShardisProcess, type ShardisProcess } from '../../src/util/shardis-process.js';
import { parseStats } from '../../src/twemproxy/stats-json.js';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const RedisCtor = (createRequire(import.meta.url)('ioredis') as typeof import('ioredis')).Redis;
const KEYS = Number(process.env.TWEM_PLACEMENT_KEYS ?? 600);

let servers: RedisServer[] = [];
let nut: Nutcracker | undefined;
let direct: Redis[] = [];
let pools: NutPool[] = [];
let configText = '';
const ports = new Map<string, number>();
const shardisPorts = new Map<string, number>();
let shardis: ShardisProcess | undefined;
let shardisStatsPort = 0;
const keys = matrixKeys(KEYS);

before(async () => {
  servers = await Promise.all([0, 1, 2, 3].map(() => startRedisServer({ config: ['databases 64'] })));
  const defs = matrixPools(servers.map((s) => s.addr));
  const parts: string[] = [];
  for (const d of defs) {
    const port = await freePort();
    ports.set(d.name, port);
    parts.push(d.body(`127.0.0.1:${port}`));
  }
  configText = parts.join('\n');
  pools = parseNutcrackerConfig(configText);
  nut = await startNutcracker({ config: configText, listenPorts: [...ports.values()] });
  // The same pools for Shardis, on other listen ports.
  const dir = mkdtempSync(join(tmpdir(), 'shardis-twem-placement-'));
  const mine: string[] = [];
  for (const d of defs) {
    const port = await freePort();
    shardisPorts.set(d.name, port);
    mine.push(d.body(`127.0.0.1:${port}`));
  }
  writeFileSync(join(dir, 'nutcracker.yml'), mine.join('\n'));
  shardis = startShardisProcess('nutcracker', ['-c', join(dir, 'nutcracker.yml'), '-s', '0', '-a', '127.0.0.1'], join(dir, 'shardis.log'));
  shardisStatsPort = Number((await shardis.waitLine(/ready stats_port=(\d+)/))[1]);
  direct = servers.map(
    (s) => new RedisCtor({ host: s.host, port: s.port, lazyConnect: false, enableReadyCheck: false, maxRetriesPerRequest: 1 }),
  );
});

after(async () => {
  for (const c of direct) c.disconnect();
  await nut?.stop();
  await shardis?.proc.stop();
  await Promise.all(servers.map((s) => s.stop()));
});

test('every key written through nutcracker is on the server Shardis places it on, for every hash and distribution', async () => {
  const failures: string[] = [];
  for (const pool of pools) {
    const port = ports.get(pool.name)!;
    const c = new RedisCtor({
      host: '127.0.0.1',
      port,
      enableReadyCheck: false,
      disableClientInfo: true,
      maxRetriesPerRequest: 0,
      lazyConnect: true,
    });
    try {
      await c.connect();
      const p = c.pipeline();
      for (const k of keys) p.set(k, `${pool.name}:${k.toString('hex')}`);
      const res = await p.exec();
      const errs = (res ?? []).filter(([e]) => e !== null);
      assert.equal(errs.length, 0, `pool ${pool.name}: SET through nutcracker failed: ${String(errs[0]?.[0])}`);
    } finally {
      c.disconnect();
    }
    const where = await keysOnServers(direct, pool.redisDb);
    const dist = new PoolDistribution({ hash: pool.hash, distribution: pool.distribution, hashTag: pool.hashTag, servers: pool.servers });
    let wrong = 0;
    for (const k of keys) {
      const found = where.get(k.toString('hex'));
      assert.ok(found !== undefined, `pool ${pool.name}: key ${k.toString('hex')} is on no server`);
      const mine = pool.servers[dist.serverOfKey(k)]!.addr;
      if (mine !== servers[found]!.addr) {
        if (wrong++ < 3)
          failures.push(
            `${pool.name}: key ${JSON.stringify(k.toString('latin1'))} nutcracker -> ${servers[found]!.addr}, Shardis -> ${mine}`,
          );
      }
    }
    if (wrong > 0) failures.push(`${pool.name}: ${wrong} of ${keys.length} keys placed differently`);
  }
  assert.deepEqual(failures, []);
});

test('every key written through nutcracker reads back through Shardis (MGET split across servers)', async () => {
  const bad: string[] = [];
  for (const pool of pools) {
    const c = new RedisCtor({
      host: '127.0.0.1',
      port: shardisPorts.get(pool.name)!,
      enableReadyCheck: false,
      disableClientInfo: true,
      maxRetriesPerRequest: 0,
      lazyConnect: true,
    });
    try {
      await c.connect();
      for (let i = 0; i < keys.length; i += 50) {
        const batch = keys.slice(i, i + 50);
        const got = await c.mgetBuffer(...batch);
        batch.forEach((k, j) => {
          const want = `${pool.name}:${k.toString('hex')}`;
          if (got[j]?.toString() !== want && bad.length < 5) bad.push(`${pool.name}: key ${k.toString('hex')} read ${String(got[j])}`);
        });
      }
    } finally {
      c.disconnect();
    }
  }
  assert.deepEqual(bad, []);
});

test('stats ports of nutcracker and Shardis parse with the same code and name the same pools and servers', async () => {
  const theirs = parseStats(await readStatsPort('127.0.0.1', nut!.statsPort));
  const ours = parseStats(await readStatsPort('127.0.0.1', shardisStatsPort));
  assert.equal(theirs.service, 'nutcracker');
  assert.equal(ours.service, 'nutcracker');
  assert.deepEqual([...ours.pools.keys()].sort(), [...theirs.pools.keys()].sort());
  for (const [name, p] of theirs.pools) {
    assert.deepEqual([...ours.pools.get(name)!.servers.keys()].sort(), [...p.servers.keys()].sort(), `servers of pool ${name}`);
  }
  // Shardis answered every MGET above: each pool's servers saw requests and sent as many responses.
  for (const [name, p] of ours.pools) {
    const req = [...p.servers.values()].reduce((n, s) => n + s.requests, 0);
    const rsp = [...p.servers.values()].reduce((n, s) => n + s.responses, 0);
    assert.ok(req > 0, `pool ${name}: no requests counted`);
    assert.equal(rsp, req, `pool ${name}: responses = requests`);
  }
});
