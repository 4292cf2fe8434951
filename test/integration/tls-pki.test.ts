// The throwaway PKI (src/util/tls-certs.ts) works with a real TLS redis-server: redis-cli --tls and
// Node's TLS client connect with the CA, a client certificate is required when asked for, and a
// client without the CA is refused. Expected duration: about 2 s.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import { makeTestPki } from '../../src/util/tls-certs.js';
import { startRedisServer } from '../../src/util/redis-server.js';

function tlsPing(port: number, opts: tls.ConnectionOptions): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ...opts }, () => s.write('PING\r\n'));
    const t = setTimeout(() => {
      s.destroy();
      reject(new Error('timeout'));
    }, 5000);
    let buf = '';
    s.on('data', (d) => {
      buf += d.toString();
      if (buf.includes('\r\n')) {
        clearTimeout(t);
        s.destroy();
        resolve(buf);
      }
    });
    s.on('error', (e) => {
      clearTimeout(t);
      reject(e instanceof Error ? e : new Error(String(e)));
    });
    s.on('close', () => {
      clearTimeout(t);
      if (!buf) reject(new Error('closed without a reply'));
    });
  });
}

test('test PKI: a TLS redis-server accepts redis-cli --tls and Node TLS clients with the CA, and requires client certs when told to', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'shardis-pki-'));
  const pki = makeTestPki(dir);
  const open = await startRedisServer({ tls: { cert: pki.serverCert, key: pki.serverKey, ca: pki.caCert } });
  const strict = await startRedisServer({ tls: { cert: pki.serverCert, key: pki.serverKey, ca: pki.caCert, authClients: 'yes' } });
  try {
    assert.ok(open.tlsPort);
    const out = execFileSync('redis-cli', ['--tls', '--cacert', pki.caCert, '-p', String(open.tlsPort), 'PING'], {
      timeout: 5000,
    }).toString();
    assert.equal(out.trim(), 'PONG');
    const ca = readFileSync(pki.caCert);
    assert.equal(await tlsPing(open.tlsPort, { ca }), '+PONG\r\n');
    await assert.rejects(
      tlsPing(open.tlsPort, {}),
      /self-signed|unable to verify|certificate/i,
      'no CA: the server certificate is not trusted',
    );
    await assert.rejects(tlsPing(strict.tlsPort!, { ca }), 'authClients yes: no client certificate, no service');
    const withCert = await tlsPing(strict.tlsPort!, { ca, cert: readFileSync(pki.clientCert), key: readFileSync(pki.clientKey) });
    assert.equal(withCert, '+PONG\r\n');
  } finally {
    await open.stop();
    await strict.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
