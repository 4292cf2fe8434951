// TLS for the control plane's own connections to redis-servers and sentinels (the dashboard's probes,
// admin commands, sentinel commands and subscriptions, migration connections; the proxy's sentinel
// connections): one setting per process, made once at start from its config (backend_tls and the
// backend_tls_* files), read by every such connection. A process talks to one product's servers,
// which use one TLS policy, so one process-wide setting is enough and keeps the many call sites
// (redisCall(addr, ...)) unchanged. Off by default: plain TCP.
import { readFileSync } from 'node:fs';
import net, { isIP } from 'node:net';
import tls from 'node:tls';

/** The files of a TLS client (all optional: '' = not used). */
export interface ClientTlsFiles {
  /** CA bundle the servers' certificates must be signed by ('' = the system CAs). */
  caFile: string;
  /** Client certificate and key, for servers with tls-auth-clients yes. */
  certFile: string;
  keyFile: string;
  /** Name checked against the server certificates ('' = the host of each address). */
  serverName: string;
}

let current: tls.ConnectionOptions | null = null;

function read(file: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    throw new Error(`${what} ${file}: ${(e as Error).message}`);
  }
}

/** TLS client options from files (TLS 1.2 minimum). */
export function clientTlsOptions(f: ClientTlsFiles, what = 'backend_tls'): tls.ConnectionOptions {
  const o: tls.ConnectionOptions = { minVersion: 'TLSv1.2' };
  if (f.caFile) o.ca = read(f.caFile, `${what}_ca_cert_file`);
  if (f.certFile) o.cert = read(f.certFile, `${what}_cert_file`);
  if (f.keyFile) o.key = read(f.keyFile, `${what}_key_file`);
  if (f.serverName) o.servername = f.serverName;
  return o;
}

/** Sets (or clears, with null) the process's TLS for redis and sentinel connections. */
export function setRedisClientTls(o: tls.ConnectionOptions | null): void {
  current = o;
}

/** The TLS options for a connection to `host` (SNI for host names), or undefined for plain TCP. */
export function redisTlsFor(host: string): tls.ConnectionOptions | undefined {
  if (!current) return undefined;
  return current.servername === undefined && isIP(host) === 0 ? { ...current, servername: host } : { ...current };
}

/** A socket to a redis-server or sentinel, plain or TLS as set; `ready` is its connect event name. */
export function connectRedisSocket(host: string, port: number): { sock: net.Socket; ready: 'connect' | 'secureConnect' } {
  const t = redisTlsFor(host);
  if (!t) return { sock: net.connect({ host, port, noDelay: true }), ready: 'connect' };
  const sock = tls.connect({ ...t, host, port });
  sock.setNoDelay(true);
  return { sock, ready: 'secureConnect' };
}
