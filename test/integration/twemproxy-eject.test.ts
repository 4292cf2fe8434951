// auto_eject_hosts checked against nutcracker itself: the same pool (ketama, 3 servers,
// server_failure_limit 2, server_retry_timeout 1500 ms) in Debian's nutcracker and in Shardis over
// the same redis-servers. One server is stopped: both proxies fail exactly `server_failure_limit`
// requests for its key, then eject it and write the key to the same other server, and count one
// ejection in their stats; the server comes back: neither proxy uses it before the retry timeout has
// passed, both use it again after. Expected duration: ~10 s.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRedisServer, type RedisServer } from '../../src/util/redis-server.js';
import { readStatsPort, startNutcracker, type Nutcracker } from '../../src/util/nutcracker-server.js';
import { freePort } from '../../src/util/free-port.js';
import { startShardisProcess, type ShardisProcess } from '../../src/util/shardis-process.js';
import { parseNutcrackerConfig } from '../../src/twemproxy/config.js';
import { PoolDistribution } from '../../src/twemproxy/distribution.js';
import { parseStats } from '../../src/twemproxy/stats-json.js';
import { waitFor } from '../../src/util/processes.js';
import { RawClient } from '../helpers/raw-client.js';

const RETRY_MS = 1500;
const LIMIT = 2;
let servers: RedisServer[] = [];
let nut: Nutcracker | undefined;
let shardis: ShardisProcess | undefined;
let shardisStats = 0;
const port = { nut: 0, shardis: 0 };
let victimKey = '';
let victim: RedisServer;

const body = (listen: string, addrs: string[]): string =>
  [
    'eject:',
    `  listen: ${listen}`,
    '  hash: fnv1a_64',
    '  distribution: ketama',
    '  redis: true',
    '  auto_eject_hosts: true',
    `  server_retry_timeout: ${RETRY_MS}`,
    `  server_failure_limit: ${LIMIT}`,
    '  timeout: 1000',
    '  servers:',
    ...addrs.map((a) => `   - ${a}:1`),
    '',
  ].join('\n');

before(async () => {
  servers = await Promise.all([0, 1, 2].map(() => startRedisServer()));
  const addrs = servers.map((s) => s.addr);
  port.nut = await freePort();
  port.shardis = await freePort();
  nut = await startNutcracker({ config: body(`127.0.0.1:${port.nut}`, addrs), listenPorts: [port.nut] });
  const dir = mkdtempSync(join(tmpdir(), 'shardis-twem-eject-'));
  writeFileSync(join(dir, 'n.yml'), body(`127.0.0.1:${port.shardis}`, addrs));
  shardis = startShardisProcess('nutcracker', ['-c', join(dir, 'n.yml'), '-s', '0', '-a', '127.0.0.1'], join(dir, 'shardis.log'));
  shardisStats = Number((await shardis.waitLine(/ready stats_port=(\d+)/))[1]);
  const [pool] = parseNutcrackerConfig(body('127.0.0.1:1', addrs));
  const dist = new PoolDistribution({ hash: pool!.hash, distribution: pool!.distribution, hashTag: '', servers: pool!.servers });
  for (let i = 0; i < 1000 && victimKey === ''; i++)
    if (pool!.servers[dist.serverOfKey(`k${i}`)]!.addr === servers[1]!.addr) victimKey = `k${i}`;
  victim = servers[1]!;
});

after(async () => {
  await shardis?.proc.stop();
  await nut?.stop();
  await Promise.all(servers.map((s) => s.stop()));
});

async function holder(key: string): Promise<string> {
  for (const s of servers) {
    if (!s.running()) continue;
    const c = await RawClient.connect(s.port);
    try {
      if ((await c.call('EXISTS', key)) === ':1\r\n') return s.addr;
    } finally {
      c.close();
    }
  }
  return '';
}

test('a dead server: both proxies fail server_failure_limit requests, eject it, place its key on the same server, and count the ejection', async () => {
  assert.notEqual(victimKey, '');
  await victim.stop();
  const outcomes: Record<string, string[]> = { nut: [], shardis: [] };
  const landed: Record<string, string> = {};
  for (const who of ['nut', 'shardis'] as const) {
    const c = await RawClient.connect(port[who]);
    try {
      for (let i = 0; i < 10; i++) {
        const r = await c.call('SET', victimKey, who, 'PX', '60000');
        outcomes[who]!.push(r.startsWith('-') ? 'error' : r.trim());
        if (!r.startsWith('-')) break;
      }
    } finally {
      c.close();
    }
    landed[who] = await holder(victimKey);
    const c2 = servers.find((s) => s.addr === landed[who]);
    if (c2) {
      const d = await RawClient.connect(c2.port);
      await d.call('DEL', victimKey);
      d.close();
    }
  }
  assert.deepEqual(outcomes.nut, [...Array(LIMIT).fill('error'), '+OK'], 'nutcracker: limit errors, then ejected');
  assert.deepEqual(outcomes.shardis, outcomes.nut, 'Shardis answers the same sequence as nutcracker');
  assert.notEqual(landed.nut, '');
  assert.equal(landed.shardis, landed.nut, 'the key goes to the same other server');
  const theirs = parseStats(await readStatsPort('127.0.0.1', nut!.statsPort));
  const ours = parseStats(await readStatsPort('127.0.0.1', shardisStats));
  // nutcracker aggregates its stats every -i ms (1 s here): wait for it.
  await waitFor(
    'nutcracker stats to show the ejection',
    async () => parseStats(await readStatsPort('127.0.0.1', nut!.statsPort)).pools.get('eject')!.counters.server_ejects === 1,
    5000,
    200,
  );
  assert.equal(ours.pools.get('eject')!.counters.server_ejects, 1);
  assert.ok(ours.pools.get('eject')!.servers.get(victim.addr)!.server_ejected_at > 0);
  assert.ok(theirs.pools.has('eject'));
});

test('the server comes back: neither proxy uses it before server_retry_timeout, both use it after', async () => {
  await victim.restart();
  const firstBack: Record<string, number> = {};
  // Each proxy's own ejection time (µs in both stats documents).
  const ejectedAt = {
    nut:
      parseStats(await readStatsPort('127.0.0.1', nut!.statsPort))
        .pools.get('eject')!
        .servers.get(victim.addr)!.server_ejected_at / 1000,
    shardis:
      parseStats(await readStatsPort('127.0.0.1', shardisStats))
        .pools.get('eject')!
        .servers.get(victim.addr)!.server_ejected_at / 1000,
  };
  assert.ok(ejectedAt.nut > 0 && ejectedAt.shardis > 0);
  for (const who of ['nut', 'shardis'] as const) {
    const c = await RawClient.connect(port[who]);
    try {
      await waitFor(
        `${who} to use the returned server`,
        async () => {
          const r = await c.call('SET', victimKey, who);
          if (r.startsWith('-')) return false;
          const h = await holder(victimKey);
          if (h !== victim.addr) {
            const s = servers.find((x) => x.addr === h);
            if (s) {
              const d = await RawClient.connect(s.port);
              await d.call('DEL', victimKey);
              d.close();
            }
            return false;
          }
          firstBack[who] = Date.now();
          return true;
        },
        20000,
        100,
      );
    } finally {
      c.close();
    }
  }
  // Both clocks are read in different processes a few ms apart: allow 5 ms, as for nutcracker below.
  assert.ok(
    firstBack.shardis! - ejectedAt.shardis >= RETRY_MS - 5,
    `Shardis used the server ${firstBack.shardis! - ejectedAt.shardis} ms after ejecting it (retry timeout ${RETRY_MS})`,
  );
  // nutcracker's timestamp has µs resolution from its own clock: allow 5 ms of rounding.
  assert.ok(
    firstBack.nut! - ejectedAt.nut >= RETRY_MS - 5,
    `nutcracker used the server ${firstBack.nut! - ejectedAt.nut} ms after ejecting it`,
  );
});
