// TLS for the proxy: the options of its TLS client listener (certificate, key, client-certificate
// policy, TLS 1.2 minimum) and of its TLS connections to redis-servers, read from the files named in
// the config. Kept apart so the plain-TCP hot path does not change when TLS is off.
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import tls from 'node:tls';
import type { TlsConfig } from './config.js';

function read(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    throw new Error(`${what} ${file}: ${(e as Error).message}`);
  }
}

/** Options for the client-facing TLS server (and the HTTPS admin API). */
export function serverTlsOptions(c: TlsConfig): tls.TlsOptions {
  const o: tls.TlsOptions = {
    cert: read(c.certFile, 'tls_cert_file'),
    key: read(c.keyFile, 'tls_key_file'),
    minVersion: 'TLSv1.2',
  };
  if (c.authClients !== 'no') {
    o.ca = read(c.caFile, 'tls_ca_cert_file');
    o.requestCert = true;
    // 'optional': a client without a certificate is let in; one with a bad certificate is not.
    o.rejectUnauthorized = c.authClients === 'yes';
  }
  return o;
}

/** Options added to every backend connection when backend_tls is on (null: plain TCP). */
export function backendTlsOptions(c: TlsConfig): tls.ConnectionOptions | null {
  if (!c.backend) return null;
  const o: tls.ConnectionOptions = { minVersion: 'TLSv1.2' };
  if (c.backendCaFile !== '') o.ca = read(c.backendCaFile, 'backend_tls_ca_cert_file');
  if (c.backendCertFile !== '') o.cert = read(c.backendCertFile, 'backend_tls_cert_file');
  if (c.backendKeyFile !== '') o.key = read(c.backendKeyFile, 'backend_tls_key_file');
  if (c.backendServerName !== '') o.servername = c.backendServerName;
  return o;
}

/** A TLS connection to a backend redis-server (`o` from backendTlsOptions); ready on 'secureConnect'. */
export function connectBackendTls(host: string, port: number, o: tls.ConnectionOptions): tls.TLSSocket {
  const opts: tls.ConnectionOptions = { ...o, host, port };
  // SNI and the certificate check use the backend's host name when it has one (not for an IP address).
  if (opts.servername === undefined && isIP(host) === 0) opts.servername = host;
  const s = tls.connect(opts);
  s.setNoDelay(true);
  return s;
}

/**
 * With tls_auth_clients optional, a client that did present a certificate must present a valid one
 * (Node lets such a handshake finish; Redis does not). True when the socket may be served.
 */
export function clientCertAcceptable(socket: tls.TLSSocket, c: TlsConfig): boolean {
  if (c.authClients !== 'optional') return true;
  const peer = socket.getPeerCertificate();
  const presented = peer !== null && Object.keys(peer).length > 0;
  return !presented || socket.authorized;
}
