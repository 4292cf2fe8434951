// `shardis nutcracker` and `shardis proxy --nutcracker` as processes: bad files are refused with the
// file line and a non-zero exit before anything listens (also when a later pool cannot bind: no
// half-configured process), -t and -D behave like nutcracker's, and a pool on a unix socket with a
// mode serves requests. Expected duration: ~5-15 s (ten short node processes).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRedisServer, type RedisServer } from '../../src/util/redis-server.js';
import { SHARDIS_BIN, startShardisProcess, type ShardisProcess } from '../../src/util/shardis-process.js';
import { freePort } from '../../src/util/free-port.js';
import { accepts } from '../../src/util/nutcracker-server.js';

const dir = mkdtempSync(join(tmpdir(), 'shardis-twem-cli-'));
let redis: RedisServer;
const running: ShardisProcess[] = [];

before(async () => {
  redis = await startRedisServer();
});
after(async () => {
  for (const p of running) await p.proc.stop();
  await redis.stop();
});

function run(args: string[], file?: { name: string; text: string }): { code: number | null; out: string; err: string } {
  if (file) writeFileSync(join(dir, file.name), file.text);
  const r = spawnSync(process.execPath, [SHARDIS_BIN, ...args], { encoding: 'utf8', timeout: 20000, cwd: dir });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

const pool = (name: string, listen: string, extra: string[] = [], servers = [`${'127.0.0.1:6379'}:1`]): string =>
  [
    `${name}:`,
    `  listen: ${listen}`,
    '  redis: true',
    ...extra.map((l) => `  ${l}`),
    '  servers:',
    ...servers.map((s) => `   - ${s}`),
    '',
  ].join('\n');

test('bad files: clear error with the file line, exit 1, nothing started', () => {
  const cases: Array<[string, string, RegExp]> = [
    ['yaml.yml', 'a:\n  listen: 127.0.0.1:1\n  servers: [ x\n', /yaml\.yml:\d+: malformed YAML/],
    ['hash.yml', pool('a', '127.0.0.1:1', ['hash: sha256']), /hash\.yml:4: directive "hash:" has an unknown hash function 'sha256'/],
    [
      'dup.yml',
      pool('a', '127.0.0.1:7') + pool('b', '127.0.0.1:7'),
      /dup\.yml:6: pools 'a' \(line 1\) and 'b' have the same listen address/,
    ],
    [
      'weight.yml',
      pool('a', '127.0.0.1:1', [], ['127.0.0.1:6379']),
      /weight\.yml:5: server '127\.0\.0\.1:6379' has an invalid "hostname:port:weight \[name\]"/,
    ],
    ['memcache.yml', 'm:\n  listen: 127.0.0.1:1\n  servers:\n   - 127.0.0.1:11211:1\n', /memcache\.yml:1: pool 'm' is a memcached pool/],
    ['unknown.yml', pool('a', '127.0.0.1:1', ['sentinel_auth: x']), /unknown\.yml:4: directive "sentinel_auth" in pool 'a' is unknown/],
  ];
  for (const [name, text, re] of cases) {
    const r = run(['nutcracker', '-c', name, '-s', '0'], { name, text });
    assert.equal(r.code, 1, `${name}: exit code (stderr: ${r.err})`);
    assert.match(r.err, re, name);
    assert.doesNotMatch(r.out, /ready/, `${name}: nothing started`);
  }
  const t = run(['nutcracker', '-t', '-c', 'hash.yml']);
  assert.equal(t.code, 1, '-t fails on a bad file too');
  assert.match(t.err, /hash\.yml:4:/);
});

test('a pool that cannot bind stops the whole process: no half-configured proxy', async () => {
  const busy = net.createServer();
  const busyPort = await freePort();
  await new Promise<void>((r) => busy.listen(busyPort, '127.0.0.1', () => r()));
  try {
    const free = await freePort();
    // Pools are started in nutcracker's order (shorter name first): 'a' binds, then 'bb' fails.
    const text = pool('a', `127.0.0.1:${free}`, [], [`${redis.addr}:1`]) + pool('bb', `127.0.0.1:${busyPort}`, [], [`${redis.addr}:1`]);
    const r = run(['nutcracker', '-c', 'bind.yml', '-s', '0', '-a', '127.0.0.1'], { name: 'bind.yml', text });
    assert.equal(r.code, 1);
    assert.match(r.err, /pool 'bb' \(line 6\): cannot listen on 127\.0\.0\.1:\d+/);
    assert.doesNotMatch(r.out, /ready/);
    assert.equal(await accepts('127.0.0.1', free), false, 'the first pool is not left listening');
  } finally {
    await new Promise<void>((r) => busy.close(() => r()));
  }
});

test('-t accepts a good file; -D describes the stats', () => {
  const t = run(['nutcracker', '-t', '-c', 'good.yml'], {
    name: 'good.yml',
    text: pool('a', '127.0.0.1:1', ['hash: crc16', 'distribution: modula']),
  });
  assert.equal(t.code, 0, t.err);
  assert.match(t.out, /configuration file 'good\.yml' syntax is ok/);
  const d = run(['nutcracker', '-D']);
  assert.match(d.out, /pool stats:[\s\S]*server_ejects[\s\S]*server stats:[\s\S]*server_ejected_at/);
});

test('a pool on a unix socket with a mode serves requests; `shardis proxy --nutcracker` runs the same file', async () => {
  const sock = join(dir, 'pool.sock');
  const tcp = await freePort();
  const text =
    pool('u', `${sock} 0660`, ['hash: crc32a', 'redis_db: 2'], [`${redis.addr}:1`]) +
    pool('tcp', `127.0.0.1:${tcp}`, [], [`${redis.addr}:1`]);
  writeFileSync(join(dir, 'unix.yml'), text);
  const p = startShardisProcess(
    'proxy',
    ['--nutcracker', join(dir, 'unix.yml'), '--nutcracker-stats', '127.0.0.1:0', '--admin-addr', '127.0.0.1:0'],
    join(dir, 'unix.log'),
  );
  running.push(p);
  await p.waitLine(/shardis nutcracker ready/);
  assert.equal(statSync(sock).mode & 0o777, 0o660);
  const reply = await new Promise<string>((resolve, reject) => {
    const s = net.connect(sock);
    let buf = '';
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error('no reply on the unix socket'));
    }, 5000);
    s.on('connect', () => s.write('*3\r\n$3\r\nSET\r\n$1\r\nu\r\n$1\r\n1\r\n*2\r\n$3\r\nGET\r\n$1\r\nu\r\n'));
    s.on('data', (d) => {
      buf += d.toString();
      if (buf.endsWith('$1\r\n1\r\n')) {
        clearTimeout(timer);
        s.destroy();
        resolve(buf);
      }
    });
    s.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
  });
  assert.equal(reply, '+OK\r\n$1\r\n1\r\n');
  // redis_db: 2 — the key is in DB 2 of the server, not DB 0.
  const { rawCommand } = await import('../../src/util/redis-server.js');
  assert.match(await rawCommand(redis.host, redis.port, 'EXISTS u'), /^:0/);
  const s = net.connect(redis.port, redis.host);
  const inDb2 = await new Promise<string>((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => {
      s.destroy();
      reject(new Error('no reply from redis'));
    }, 3000);
    s.on('connect', () => s.write('SELECT 2\r\nEXISTS u\r\n'));
    s.on('data', (d) => {
      buf += d.toString();
      if (buf.split('\r\n').length > 2) {
        clearTimeout(timer);
        s.destroy();
        resolve(buf);
      }
    });
  });
  assert.equal(inDb2, '+OK\r\n:1\r\n');
});

test('the admin paths name every server: a token is required off loopback, and with one they need it (but /health)', async () => {
  const tcp = await freePort();
  writeFileSync(join(dir, 'admin.yml'), pool('a', `127.0.0.1:${tcp}`, [], [`${redis.addr}:1`]));
  // Off loopback without a token: refused before anything listens.
  const open = run(['nutcracker', '-c', join(dir, 'admin.yml'), '-s', '0', '--admin-addr', '0.0.0.0:0'], undefined);
  assert.equal(open.code, 1);
  assert.match(open.err, /not on loopback.*admin token/);
  // With a token.
  const p = startShardisProcess(
    'nutcracker',
    ['-c', join(dir, 'admin.yml'), '-s', '0', '--admin-addr', '127.0.0.1:0', '--admin-token', 'sekrit'],
    join(dir, 'admin.log'),
  );
  running.push(p);
  const port = Number((await p.waitLine(/ready stats_port=\d+ admin_port=(\d+)/))[1]);
  const get = async (path: string, token?: string): Promise<number> => {
    const r = await fetch(`http://127.0.0.1:${port}${path}`, {
      headers: token ? { authorization: `Bearer ${token}` } : {},
      signal: AbortSignal.timeout(5000),
    });
    await r.text();
    return r.status;
  };
  for (const path of ['/stats', '/metrics', '/sentinels']) {
    assert.equal(await get(path), 401, `${path} without a token`);
    assert.equal(await get(path, 'wrong'), 403, `${path} with a wrong token`);
    assert.equal(await get(path, 'sekrit'), 200, `${path} with the token`);
  }
  assert.equal(await get('/health'), 200, '/health is public');
  // nutcracker's stats port listens on loopback unless told otherwise (-a).
  const help = run(['nutcracker', '--help']);
  assert.match(help.out, /-a, --stats-addr <addr>.*\(default: "127\.0\.0\.1"\)/s);
});
