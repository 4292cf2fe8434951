// Makes a throwaway PKI with Debian's `openssl`: a CA, a server certificate (for proxies, dashboards,
// redis-servers and sentinels on this machine: localhost, 127.0.0.1, ::1 and any extra names) and a
// client certificate, all signed by that CA. Used by `shardis up --tls`, tests and benchmarks — never
// for production, where operators bring their own certificates.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface TestPki {
  dir: string;
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
}

function openssl(args: string[], cwd: string): void {
  try {
    execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'], timeout: 20000 });
  } catch (e) {
    const err = e as { stderr?: Buffer; message: string };
    throw new Error(`openssl ${args[0] ?? ''} failed: ${err.stderr?.toString().trim() || err.message}`);
  }
}

/**
 * Writes ca.crt/ca.key, server.crt/server.key and client.crt/client.key into `dir` (EC P-256 keys,
 * valid `days` days). `names`: extra DNS names or IP addresses for the server certificate.
 */
export function makeTestPki(dir: string, opts: { names?: string[]; days?: number } = {}): TestPki {
  mkdirSync(dir, { recursive: true });
  const days = String(opts.days ?? 30);
  const ip = (n: string): boolean => /^[0-9.]+$/.test(n) || n.includes(':');
  const names = ['localhost', '127.0.0.1', '::1', ...(opts.names ?? [])];
  const san = [...new Set(names)].map((n) => (ip(n) ? `IP:${n}` : `DNS:${n}`)).join(',');
  const p = (f: string): string => join(dir, f);
  writeFileSync(p('server.ext'), `subjectAltName=${san}\nextendedKeyUsage=serverAuth,clientAuth\n`);
  writeFileSync(p('client.ext'), 'extendedKeyUsage=clientAuth\n');
  const key = (f: string): void => openssl(['ecparam', '-name', 'prime256v1', '-genkey', '-noout', '-out', f], dir);
  key('ca.key');
  openssl(['req', '-x509', '-new', '-key', 'ca.key', '-sha256', '-days', days, '-subj', '/CN=Shardis test CA', '-out', 'ca.crt'], dir);
  for (const who of ['server', 'client']) {
    key(`${who}.key`);
    openssl(['req', '-new', '-key', `${who}.key`, '-subj', `/CN=shardis-${who}`, '-out', `${who}.csr`], dir);
    openssl(
      [
        'x509',
        '-req',
        '-in',
        `${who}.csr`,
        '-CA',
        'ca.crt',
        '-CAkey',
        'ca.key',
        '-CAcreateserial',
        '-days',
        days,
        '-sha256',
        '-extfile',
        `${who}.ext`,
        '-out',
        `${who}.crt`,
      ],
      dir,
    );
  }
  return {
    dir,
    caCert: p('ca.crt'),
    caKey: p('ca.key'),
    serverCert: p('server.crt'),
    serverKey: p('server.key'),
    clientCert: p('client.crt'),
    clientKey: p('client.key'),
  };
}
