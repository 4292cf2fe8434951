// Placement against the real nutcracker (Debian's twemproxy 0.5.0): one generated nutcracker.yml
// with a pool per hash function x distribution (ketama with weights, names and hash tags; modula
// with weights and '$$' tags; named-only, equal-weight and default pools), all over the same four
// redis-servers (each pool in its own DB). Keys are written through nutcracker; then every server is
// asked which keys it holds, and Shardis's placement function must name the same server for every
// key of every pool. Expected duration: ~10-20 s (600 keys x 27 pools; the bench writes 20 000).
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

const RedisCtor = (createRequire(import.meta.url)('ioredis') as typeof import('ioredis')).Redis;
const KEYS = Number(process.env.TWEM_PLACEMENT_KEYS ?? 600);

let servers: RedisServer[] = [];
let nut: Nutcracker | undefined;
let direct: Redis[] = [];
let pools: NutPool[] = [];
let configText = '';
const ports = new Map<string, number>();

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
  direct = servers.map((s) => new RedisCtor({ host: s.host, port: s.port, lazyConnect: false, enableReadyCheck: false, maxRetriesPerRequest: 1 }));
});

after(async () => {
  for (const c of direct) c.disconnect();
  await nut?.stop();
  await Promise.all(servers.map((s) => s.stop()));
});

test('every key written through nutcracker is on the server Shardis places it on, for every hash and distribution', async () => {
  const keys = matrixKeys(KEYS);
  const failures: string[] = [];
  for (const pool of pools) {
    const port = ports.get(pool.name)!;
    const c = new RedisCtor({ host: '127.0.0.1', port, enableReadyCheck: false, disableClientInfo: true, maxRetriesPerRequest: 0, lazyConnect: true });
    try {
      await c.connect();
      const p = c.pipeline();
      for (const k of keys) p.set(k, `${pool.name}:${k.toString('hex')}`);
      const res = await p.exec();
      const errs = (res ?? []).filter(([e]) => e !== null);
      assert.equal(errs.length, 0, `pool ${pool.name}: SET through nutcracker failed: ${String(errs[0]?.[0])}`);
    } finally { c.disconnect(); }
    const where = await keysOnServers(direct, pool.redisDb);
    const dist = new PoolDistribution({ hash: pool.hash, distribution: pool.distribution, hashTag: pool.hashTag, servers: pool.servers });
    let wrong = 0;
    for (const k of keys) {
      const found = where.get(k.toString('hex'));
      assert.ok(found !== undefined, `pool ${pool.name}: key ${k.toString('hex')} is on no server`);
      const mine = pool.servers[dist.serverOfKey(k)]!.addr;
      if (mine !== servers[found]!.addr) {
        if (wrong++ < 3) failures.push(`${pool.name}: key ${JSON.stringify(k.toString('latin1'))} nutcracker -> ${servers[found]!.addr}, Shardis -> ${mine}`);
      }
    }
    if (wrong > 0) failures.push(`${pool.name}: ${wrong} of ${keys.length} keys placed differently`);
  }
  assert.deepEqual(failures, []);
});
