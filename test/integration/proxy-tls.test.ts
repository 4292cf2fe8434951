// TLS on both sides of the proxy, with real TLS redis-servers and a throwaway CA made with openssl:
// redis-cli --tls and ioredis `tls:` clients through the proxy's TLS listener (client certificates
// required), the plain listener beside it, TLS from the proxy to the redis-servers (their tls-port),
// a client without a certificate or without the CA refused, and the admin API over HTTPS.
// Expected duration: about 4 s.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { Redis } from 'ioredis';
import { makeTestPki, type TestPki } from '../../src/util/tls-certs.js';
import { startRedisServer, type RedisServer } from '../../src/util/redis-server.js';
import { evenSlots } from '../../src/models/layout.js';
import { startProxyProcess } from '../../src/util/shardis-process.js';
import { freePort } from '../../src/util/free-port.js';
import type { Spawned } from '../../src/util/processes.js';

let dir: string;
let pki: TestPki;
const servers: RedisServer[] = [];
let proxy: { proc: Spawned; port: number; adminPort: number };
let tlsPort: number;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'shardis-tls-'));
  pki = makeTestPki(join(dir, 'pki'));
  for (let i = 0; i < 2; i++) {
    servers.push(await startRedisServer({ tls: { cert: pki.serverCert, key: pki.serverKey, ca: pki.caCert, authClients: 'yes' } }));
  }
  // The slot table names the servers' TLS ports: the proxy can reach them only with TLS and its client certificate.
  const slotsFile = join(dir, 'slots.json');
  const { writeFileSync } = await import('node:fs');
  writeFileSync(slotsFile, JSON.stringify(evenSlots(servers.map((s, i) => ({ id: i + 1, addr: `127.0.0.1:${s.tlsPort!}` })))));
  tlsPort = await freePort('127.0.0.1');
  proxy = await startProxyProcess(
    [
      '--fillslots',
      slotsFile,
      '--proxy-addr',
      '127.0.0.1:0',
      '--admin-addr',
      '127.0.0.1:0',
      '--proxy-tls-addr',
      `127.0.0.1:${tlsPort}`,
      '--tls-cert-file',
      pki.serverCert,
      '--tls-key-file',
      pki.serverKey,
      '--tls-ca-cert-file',
      pki.caCert,
      '--tls-auth-clients',
      'yes',
      '--admin-tls',
      'true',
      '--backend-tls',
      'true',
      '--backend-tls-ca-cert-file',
      pki.caCert,
      '--backend-tls-cert-file',
      pki.clientCert,
      '--backend-tls-key-file',
      pki.clientKey,
    ],
    join(dir, 'proxy.log'),
  );
});
after(async () => {
  await proxy?.proc.stop();
  await Promise.all(servers.map((s) => s.stop()));
  rmSync(dir, { recursive: true, force: true });
});

const cli = (...args: string[]): string =>
  execFileSync(
    'redis-cli',
    ['--tls', '--cacert', pki.caCert, '--cert', pki.clientCert, '--key', pki.clientKey, '-p', String(tlsPort), ...args],
    { timeout: 10000 },
  )
    .toString()
    .trim();

test('redis-cli --tls through the proxy to TLS redis-servers: keys land on both groups', () => {
  for (let i = 0; i < 40; i++) assert.equal(cli('SET', `k${i}`, `v${i}`), 'OK');
  assert.equal(cli('GET', 'k7'), 'v7');
  assert.equal(cli('DBSIZE'), '40');
  for (const s of servers) {
    const n = Number(
      execFileSync('redis-cli', ['-p', String(s.port), 'DBSIZE'])
        .toString()
        .trim(),
    );
    assert.ok(n > 0 && n < 40, `each group holds some of the keys (got ${n})`);
  }
});

test('ioredis with tls options, and a plain client on the plain listener at the same time', async () => {
  const secure = new Redis({
    host: '127.0.0.1',
    port: tlsPort,
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    tls: { ca: readFileSync(pki.caCert), cert: readFileSync(pki.clientCert), key: readFileSync(pki.clientKey), servername: 'localhost' },
  });
  const plain = new Redis({ host: '127.0.0.1', port: proxy.port, lazyConnect: true, maxRetriesPerRequest: 0 });
  try {
    await secure.connect();
    await plain.connect();
    const p = secure.pipeline();
    for (let i = 0; i < 200; i++) p.incr(`{c}n`);
    const res = await p.exec();
    assert.equal(res?.length, 200);
    assert.deepEqual(res?.at(-1), [null, 200]);
    assert.equal(await plain.get('{c}n'), '200');
    assert.deepEqual(await secure.mget('k1', 'k2', 'nothing'), ['v1', 'v2', null]);
  } finally {
    secure.disconnect();
    plain.disconnect();
  }
});

test('pub/sub through the TLS listener reaches the TLS-only servers (subscriber connections use backend TLS too)', async () => {
  const tlsOpts = {
    ca: readFileSync(pki.caCert),
    cert: readFileSync(pki.clientCert),
    key: readFileSync(pki.clientKey),
    servername: 'localhost',
  };
  const sub = new Redis({ host: '127.0.0.1', port: tlsPort, lazyConnect: true, maxRetriesPerRequest: 0, tls: tlsOpts });
  const pub = new Redis({ host: '127.0.0.1', port: tlsPort, lazyConnect: true, maxRetriesPerRequest: 0, tls: tlsOpts });
  try {
    await sub.connect();
    await pub.connect();
    const got = new Promise<string>((resolve) => sub.on('message', (_ch: string, m: string) => resolve(m)));
    await sub.subscribe('tls-news');
    // The subscription is confirmed once the proxy's subscriber connection to the channel's server is up.
    let delivered = 0;
    for (let i = 0; i < 50 && delivered === 0; i++) {
      delivered = Number(await pub.publish('tls-news', 'hello'));
      if (delivered === 0) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(delivered > 0, 'PUBLISH reached a subscriber');
    assert.equal(
      await Promise.race([got, new Promise<string>((_r, rej) => setTimeout(() => rej(new Error('no message')), 5000))]),
      'hello',
    );
  } finally {
    sub.disconnect();
    pub.disconnect();
  }
});

function handshake(opts: tls.ConnectionOptions): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port: tlsPort, servername: 'localhost', ...opts }, () => s.write('PING\r\n'));
    const t = setTimeout(() => {
      s.destroy();
      reject(new Error('timeout'));
    }, 5000);
    let got = '';
    s.on('data', (d) => {
      got += d.toString();
      if (got.includes('\r\n')) {
        clearTimeout(t);
        s.destroy();
        resolve(got);
      }
    });
    s.on('error', (e) => {
      clearTimeout(t);
      reject(e instanceof Error ? e : new Error(String(e)));
    });
    s.on('close', () => {
      clearTimeout(t);
      if (!got) reject(new Error('closed without a reply'));
    });
  });
}

test('clients without a certificate, with an untrusted one, or without the CA are refused; TLS 1.1 is refused', async () => {
  const ca = readFileSync(pki.caCert);
  await assert.rejects(handshake({ ca }), 'no client certificate');
  await assert.rejects(handshake({}), /self-signed|unable to verify|certificate/i);
  const other = makeTestPki(join(dir, 'other'));
  await assert.rejects(
    handshake({ ca, cert: readFileSync(other.clientCert), key: readFileSync(other.clientKey) }),
    'a certificate from another CA',
  );
  await assert.rejects(
    handshake({ ca, cert: readFileSync(pki.clientCert), key: readFileSync(pki.clientKey), maxVersion: 'TLSv1.1', minVersion: 'TLSv1' }),
  );
  assert.equal(await handshake({ ca, cert: readFileSync(pki.clientCert), key: readFileSync(pki.clientKey) }), '+PONG\r\n');
});

test('the admin API answers over HTTPS with the same certificate', async () => {
  const body = await new Promise<string>((resolve, reject) => {
    const req = https.get(
      { host: '127.0.0.1', port: proxy.adminPort, path: '/health', ca: readFileSync(pki.caCert), servername: 'localhost', timeout: 5000 },
      (res) => {
        let b = '';
        res.on('data', (d: Buffer) => {
          b += d.toString();
        });
        res.on('end', () => resolve(b));
      },
    );
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
  });
  assert.equal(JSON.parse(body).status, 'ok');
});
