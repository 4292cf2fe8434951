// Twemproxy mode, pure parts: the 12 hash functions (published check values, and placements recorded
// from Debian's nutcracker 0.5.0), the ketama continuum and modula array, hash tags, auto-eject
// rules on a fake clock, the nutcracker.yml reader's errors, and the stats document. Expected
// duration: < 1 s.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { HASHES, HASH_NAMES, lookup3 } from '../../src/twemproxy/hashes.js';
import { buildKetama, hashTagRange, PoolDistribution } from '../../src/twemproxy/distribution.js';
import { Ejector } from '../../src/twemproxy/ejector.js';
import { NutcrackerConfigError, parseNutcrackerConfig } from '../../src/twemproxy/config.js';
import { newPoolCounters, newServerCounters, parseStats, renderStats } from '../../src/twemproxy/stats-json.js';

const h = (name: keyof typeof HASHES, s: string | Buffer): number => {
  const b = typeof s === 'string' ? Buffer.from(s) : s;
  return HASHES[name](b, 0, b.length);
};

test('hash functions match published check values', () => {
  assert.equal(h('crc32a', '123456789'), 0xcbf43926);
  assert.equal(h('crc32', '123456789'), 0xcbf4 & 0x7fff); // libmemcached: 15 bits of the CRC
  assert.equal(h('crc16', '123456789') & 0xffff, 0x31c3); // XMODEM in the low 16 bits
  assert.equal(h('fnv1_32', ''), 0x811c9dc5);
  assert.equal(h('fnv1_32', 'a'), 0x050c5d7e);
  assert.equal(h('fnv1a_32', 'a'), 0xe40c292c);
  assert.equal(h('fnv1_64', 'a'), 0x8601b7be); // low 32 bits of FNV-1 64 ("a") = 0xaf63bd4c8601b7be
  assert.equal(h('fnv1a_64', 'a'), 0x8601ec8c); // low 32 bits of FNV-1a 64 ("a") = 0xaf63dc4c8601ec8c
  assert.equal(h('one_at_a_time', 'a'), 0xca2e9442);
  assert.equal(h('md5', ''), 0xd98c1dd4); // d41d8cd9... little-endian
  const four = Buffer.from('Four score and seven years ago');
  assert.equal(lookup3(four, 0, four.length, 0), 0x17770551); // lookup3.c's driver check values
  assert.equal(lookup3(four, 0, four.length, 1), 0xcd628161);
  assert.equal(h('hsieh', ''), 0);
  for (const n of HASH_NAMES) assert.ok(Number.isInteger(h(n, 'x')) && h(n, 'x') >= 0 && h(n, 'x') <= 0xffffffff, n);
});

test('hash functions place keys as Debian nutcracker 0.5.0 does (modula over 4 servers = hash % 4)', () => {
  // Recorded from nutcracker: one modula pool per hash, four unit-weight servers s0..s3; digit i = the
  // server key i landed on.
  const keys = ['a', 'foo', 'hello world', '123456789', 'key:1000', 'ключ', '\u00ff\u0080', 'abcdefghijklm', 'x'.repeat(40)];
  const recorded: Record<string, string> = {
    one_at_a_time: '213102302',
    md5: '002133122',
    crc16: '320323032',
    crc32: '332023202',
    crc32a: '311232120',
    fnv1_64: '233231121',
    fnv1a_64: '033031101',
    fnv1_32: '233231121',
    fnv1a_32: '033031101',
    hsieh: '333000001',
    murmur: '033013032',
    jenkins: '013233232',
  };
  for (const name of HASH_NAMES) {
    const mine = keys.map((k) => h(name, k) % 4).join('');
    assert.equal(mine, recorded[name], `hash ${name}`);
  }
});

test('bytes >= 0x80 are sign-extended where nutcracker reads a signed char', () => {
  // fnv1a_32 of byte 0x80: (offset ^ 0xffffff80) * prime, not (offset ^ 0x80) * prime.
  const expected = Math.imul(0x811c9dc5 ^ 0xffffff80, 16777619) >>> 0;
  assert.equal(h('fnv1a_32', Buffer.from([0x80])), expected);
  assert.notEqual(h('fnv1a_32', Buffer.from([0x80])), Math.imul(0x811c9dc5 ^ 0x80, 16777619) >>> 0);
});

test('ketama: 160 points per server at equal weights, proportional points with weights, ejected servers leave', () => {
  const servers = [
    { name: 'a:1', weight: 1 },
    { name: 'b:1', weight: 1 },
    { name: 'c:1', weight: 1 },
  ];
  const c = buildKetama(servers, [true, true, true]);
  assert.equal(c.values.length, 480);
  for (let i = 1; i < c.values.length; i++) assert.ok(c.values[i - 1]! <= c.values[i]!);
  const counts = [0, 1, 2].map((s) => c.index.filter((x) => x === s).length);
  assert.deepEqual(counts, [160, 160, 160]);
  const w = buildKetama(
    [
      { name: 'a', weight: 1 },
      { name: 'b', weight: 3 },
    ],
    [true, true],
  );
  // pct 0.25 -> floorf(0.25*40*2)*4 = 80; 0.75 -> 240
  assert.deepEqual(
    [0, 1].map((s) => w.index.filter((x) => x === s).length),
    [80, 240],
  );
  const ej = buildKetama(servers, [true, false, true]);
  assert.equal(ej.values.length, 320);
  assert.ok(!ej.index.includes(1));
  // Equal weights: ejecting b moves only b's keys.
  const d = new PoolDistribution({ hash: 'fnv1a_64', distribution: 'ketama', hashTag: '', servers });
  const before = Array.from({ length: 2000 }, (_, i) => d.serverOfKey(`key${i}`));
  d.setLive([true, false, true]);
  const afterEject = Array.from({ length: 2000 }, (_, i) => d.serverOfKey(`key${i}`));
  for (let i = 0; i < 2000; i++) if (before[i] !== 1) assert.equal(afterEject[i], before[i]);
  assert.ok(!afterEject.includes(1));
});

test('modula: one entry per unit of weight; random picks live servers only', () => {
  const servers = [
    { name: 'a', weight: 2 },
    { name: 'b', weight: 1 },
  ];
  const d = new PoolDistribution({ hash: 'crc32a', distribution: 'modula', hashTag: '', servers });
  for (const k of ['x', 'y', 'zz', 'hello']) assert.equal(d.serverOfKey(k), [0, 0, 1][h('crc32a', k) % 3]);
  let seed = 1;
  const r = new PoolDistribution({
    hash: 'md5',
    distribution: 'random',
    hashTag: '',
    servers,
    random: () => (seed = (seed * 48271) % 2147483647) / 2147483647,
  });
  r.setLive([false, true]);
  for (let i = 0; i < 50; i++) assert.equal(r.serverOfKey(`k${i}`), 1);
  r.setLive([false, false]);
  assert.equal(r.serverOfKey('k'), -1);
});

test('hash_tag: only a non-empty tag counts; a one-server pool takes every key', () => {
  const b = Buffer.from('{}a{user}b');
  assert.deepEqual(hashTagRange(b, 0, b.length, [0x7b, 0x7d]), [0, b.length]); // first '{' then first '}' after it: empty -> whole key
  const c = Buffer.from('x{user}y');
  assert.deepEqual(hashTagRange(c, 0, c.length, [0x7b, 0x7d]), [2, 6]);
  const e = Buffer.from('$a$b');
  assert.deepEqual(hashTagRange(e, 0, e.length, [0x24, 0x24]), [1, 2]);
  const one = new PoolDistribution({ hash: 'md5', distribution: 'ketama', hashTag: '', servers: [{ name: 'only', weight: 1 }] });
  assert.equal(one.serverOfKey('anything'), 0);
});

test('auto_eject_hosts: ejected at server_failure_limit consecutive failures, back after server_retry_timeout', () => {
  let now = 1_000_000;
  const servers = [
    { name: 'a', weight: 1 },
    { name: 'b', weight: 1 },
  ];
  const d = new PoolDistribution({ hash: 'fnv1a_64', distribution: 'ketama', hashTag: '', servers });
  const e = new Ejector(d, { autoEject: true, failureLimit: 2, retryTimeoutMs: 30000, now: () => now });
  e.failure(1);
  e.ok(1); // a reply resets the count
  e.failure(1);
  assert.equal(d.isLive(1), true);
  e.failure(1);
  assert.equal(d.isLive(1), false);
  assert.equal(e.ejects, 1);
  assert.equal(e.ejectedAt[1], now * 1000);
  now += 30000;
  assert.equal(e.update(), true);
  assert.equal(d.isLive(1), false, 'still out at exactly the retry time (nutcracker: now <= next_rebuild)');
  now += 1;
  e.update();
  assert.equal(d.isLive(1), true);
  e.failure(0);
  e.failure(0);
  e.failure(1);
  e.failure(1);
  assert.equal(e.update(), false, 'every server ejected: requests fail');
  const off = new Ejector(d, { autoEject: false, failureLimit: 1, retryTimeoutMs: 1, now: () => now });
  off.failure(0);
  assert.equal(off.ejects, 0);
});

const cfg = (s: string): string => s.replace(/^\n/, '');
function configError(text: string): string {
  try {
    parseNutcrackerConfig(cfg(text), 'n.yml');
  } catch (e) {
    assert.ok(e instanceof NutcrackerConfigError, String(e));
    return e.message;
  }
  assert.fail('expected a config error');
}

test('nutcracker.yml: every key read with nutcracker defaults; servers sorted as nutcracker sorts them', () => {
  const pools = parseNutcrackerConfig(
    cfg(`
beta:
  listen: /tmp/beta.sock 0666
  hash: murmur
  hash_tag: "{}"
  distribution: modula
  timeout: 400
  backlog: 1024
  preconnect: true
  redis: true
  redis_auth: secret
  redis_db: 3
  server_connections: 2
  auto_eject_hosts: true
  server_retry_timeout: 2000
  server_failure_limit: 3
  client_connections: 100
  tcpkeepalive: true
  servers:
   - 127.0.0.1:6380:1 server-long-name
   - 127.0.0.1:6381:2
   - 127.0.0.1:11211:1
alpha:
  listen: 127.0.0.1:22121
  redis: true
  servers:
   - 127.0.0.1:6379:1
`),
  );
  assert.deepEqual(
    pools.map((p) => p.name),
    ['beta', 'alpha'],
  ); // shorter name first, as nutcracker orders pools
  const a = pools.find((p) => p.name === 'alpha')!;
  assert.equal(a.hash, 'fnv1a_64');
  assert.equal(a.distribution, 'ketama');
  assert.equal(a.timeout, -1);
  assert.equal(a.backlog, 512);
  assert.equal(a.serverRetryTimeout, 30000);
  assert.equal(a.serverFailureLimit, 2);
  assert.equal(a.serverConnections, 1);
  assert.deepEqual(a.listen, { kind: 'tcp', host: '127.0.0.1', port: 22121, text: '127.0.0.1:22121' });
  const b = pools.find((p) => p.name === 'beta')!;
  assert.deepEqual(b.listen, { kind: 'unix', path: '/tmp/beta.sock', mode: 0o666, text: '/tmp/beta.sock 0666' });
  assert.equal(b.hashTag, '{}');
  assert.equal(b.redisDb, 3);
  assert.equal(b.redisAuth, 'secret');
  assert.equal(b.autoEjectHosts, true);
  assert.equal(b.tcpkeepalive, true);
  assert.equal(b.clientConnections, 100);
  // Names: given name; host:port; host alone for port 11211. Sorted shorter-first, then bytewise.
  assert.deepEqual(
    b.servers.map((s) => s.name),
    ['127.0.0.1', '127.0.0.1:6381', 'server-long-name'],
  );
  assert.deepEqual(
    b.servers.map((s) => s.weight),
    [1, 2, 1],
  );
});

test('nutcracker.yml: bad input gets an error naming the line', () => {
  assert.match(
    configError(`
a:
  listen: 127.0.0.1:1
  redis: true
  bogus: 1
  servers:
   - 127.0.0.1:2:1
`),
    /n\.yml:4: directive "bogus" .*unknown/,
  );
  assert.match(
    configError(`
a:
  listen: 127.0.0.1:1
  servers:
   - 127.0.0.1:2:1
`),
    /n\.yml:1: pool 'a' is a memcached pool/,
  );
  assert.match(
    configError(`
a:
  listen: 127.0.0.1:1
  redis: false
  servers:
   - 127.0.0.1:2:1
`),
    /n\.yml:3: pool 'a' is a memcached pool/,
  );
  assert.match(
    configError(`
a:
  listen: 127.0.0.1:1
  redis: true
  hash: sha1
  servers:
   - 127.0.0.1:2:1
`),
    /n\.yml:4: directive "hash:" has an unknown hash function 'sha1'/,
  );
  assert.match(
    configError(`
a:
  listen: 127.0.0.1:1
  redis: true
  servers:
   - 127.0.0.1:2:1
b:
  listen: 127.0.0.1:1
  redis: true
  servers:
   - 127.0.0.1:3:1
`),
    /n\.yml:6: pools 'a' \(line 1\) and 'b' have the same listen address '127\.0\.0\.1:1'/,
  );
  assert.match(
    configError(`
a:
  listen: 127.0.0.1:1
  redis: true
  servers:
   - 127.0.0.1:6379
`),
    /n\.yml:5: server '127\.0\.0\.1:6379' has an invalid/,
  );
  assert.match(
    configError(`
a:
  listen: 127.0.0.1:1
  redis: true
  servers:
   - 127.0.0.1:6379:0
`),
    /n\.yml:5: .*zero weight/,
  );
  assert.match(
    configError(`
a:
  listen: 127.0.0.1:1
  redis: true
  servers: [ 127.0.0.1:6379:1
`),
    /n\.yml:\d+: malformed YAML/,
  );
  assert.match(
    configError(`
a:
  listen: 127.0.0.1:1
  redis: true
  servers:
   - 127.0.0.1:1:1 x
   - 127.0.0.1:2:1 x
`),
    /n\.yml:6: pool 'a' has servers with the same name 'x'/,
  );
  assert.match(
    configError(`
a:
  listen: 127.0.0.1:1
  redis: true
  sentinels:
   - 127.0.0.1:26379
  servers:
   - 127.0.0.1:2:1
`),
    /n\.yml:7: .*needs a name: the Sentinel master name/,
  );
  assert.match(
    configError(`
a:
  listen: 127.0.0.1:1
  redis: true
  server_connections: 0
  servers:
   - 127.0.0.1:2:1
`),
    /n\.yml:4: directive "server_connections:" cannot be 0/,
  );
  assert.match(configError('just a string\n'), /n\.yml:1: the file must be a mapping/);
  assert.match(
    configError(`
a:
  listen: 127.0.0.1:1
  redis: true
  servers:
   - /tmp/redis.sock:1
`),
    /n\.yml:5: .*unix socket: Shardis connects to servers over TCP only/,
  );
});

test('nutcracker.yml: sentinel pools read sentinels (weight ignored) and master names', () => {
  const [p] = parseNutcrackerConfig(
    cfg(`
s:
  listen: 127.0.0.1:1
  redis: true
  sentinels:
   - 127.0.0.1:26379:1
   - 127.0.0.1:26380
  servers:
   - 127.0.0.1:6379:1 master-a
   - 127.0.0.1:6380:1 master-b
`),
  );
  assert.deepEqual(p!.sentinels, ['127.0.0.1:26379', '127.0.0.1:26380']);
  assert.deepEqual(
    p!.servers.map((s) => s.givenName),
    ['master-a', 'master-b'],
  );
});

test("stats document: rendered in nutcracker's shape and read back by the same parser", () => {
  const pc = newPoolCounters();
  pc.server_ejects = 2;
  const sc = newServerCounters();
  sc.requests = 10;
  const text = renderStats(
    {
      service: 'nutcracker',
      source: 'host',
      version: '0.5.0',
      uptime: 3,
      timestamp: 1700000000,
      total_connections: 4,
      curr_connections: 1,
    },
    [{ name: 'alpha', counters: pc, servers: [{ name: '127.0.0.1:6379', counters: sc }] }],
  );
  assert.match(text, /^\{"service":"nutcracker", "source":"host", "version":"0\.5\.0", "uptime":3, /);
  const doc = parseStats(text);
  assert.equal(doc.pools.get('alpha')!.counters.server_ejects, 2);
  assert.equal(doc.pools.get('alpha')!.servers.get('127.0.0.1:6379')!.requests, 10);
  assert.throws(() => parseStats('{"service":"x"}'), /"source" is missing/);
});
