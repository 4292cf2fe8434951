// One address type for the whole tree: `host:port` as Codis writes it in its models and options.
// Parses (IPv6 in brackets, `[::1]:6379`, or bare as Codis sometimes writes it, `::1:6379`),
// validates (non-empty host without blanks or slashes, decimal port in range) and formats back
// (brackets an IPv6 host). Every place that splits, checks or builds an address uses this instead of
// its own `lastIndexOf(':')`, so an IPv6 address or a bad port is handled the same way everywhere.

export interface HostPort {
  /** The host without brackets (`::1`, `127.0.0.1`, `redis-1`). */
  host: string;
  port: number;
}

export interface ParseAddrOptions {
  /** Accept `:port` (a listen address on every interface); the host is then `emptyHost`. */
  allowEmptyHost?: boolean;
  /** Host to use for `:port` (default 0.0.0.0). */
  emptyHost?: string;
  /** Accept port 0 (a listen address asking for a free port). */
  allowPortZero?: boolean;
}

export class AddressError extends Error {
  override readonly name = 'AddressError';
}

/** Splits `addr` into host and port text without checking them; null when there is no colon. */
function splitRaw(addr: string): { host: string; port: string } | null {
  if (addr.startsWith('[')) {
    const close = addr.indexOf(']');
    if (close < 0 || addr[close + 1] !== ':') return null;
    return { host: addr.slice(1, close), port: addr.slice(close + 2) };
  }
  const i = addr.lastIndexOf(':');
  if (i < 0) return null;
  return { host: addr.slice(0, i), port: addr.slice(i + 1) };
}

/** Parses `host:port`; throws AddressError saying what is wrong. */
export function parseAddr(addr: string, o: ParseAddrOptions = {}): HostPort {
  const raw = typeof addr === 'string' ? splitRaw(addr) : null;
  if (!raw) throw new AddressError(`"${String(addr)}" is not host:port`);
  if (!/^\d{1,5}$/.test(raw.port)) throw new AddressError(`"${addr}" has a bad port (not a number from 1 to 65535)`);
  const port = Number(raw.port);
  if (port > 65535 || (port === 0 && !o.allowPortZero)) throw new AddressError(`"${addr}" has a bad port (not a number from 1 to 65535)`);
  let host = raw.host;
  if (host === '') {
    if (!o.allowEmptyHost) throw new AddressError(`"${addr}" has no host`);
    host = o.emptyHost ?? '0.0.0.0';
  }
  if (/[\s/]/.test(host)) throw new AddressError(`"${addr}" is not host:port (the host has a blank or a slash)`);
  return { host, port };
}

/** parseAddr, or null instead of an error. */
export function tryParseAddr(addr: string, o: ParseAddrOptions = {}): HostPort | null {
  try {
    return parseAddr(addr, o);
  } catch {
    return null;
  }
}

/** True when `addr` is a valid `host:port` with a port from 1 to 65535. */
export const isValidAddr = (addr: string): boolean => tryParseAddr(addr) !== null;

/** `host:port`, with an IPv6 host in brackets. */
export function formatAddr(host: string, port: number | string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** The host part (no brackets) of an address that may be malformed: '' when there is none. */
export function hostOf(addr: string): string {
  return splitRaw(addr)?.host ?? '';
}

/** The port text of an address that may be malformed: '' when there is none. */
export function portTextOf(addr: string): string {
  return splitRaw(addr)?.port ?? '';
}

/** True for the hosts that mean "every interface" in a listen address. */
export const isWildcardHost = (host: string): boolean => host === '' || host === '0.0.0.0' || host === '::' || host === '[::]';

/** True for hosts reachable from this machine only: 127.0.0.0/8, ::1, localhost. */
export const isLoopbackHost = (host: string): boolean => host === 'localhost' || host === '::1' || /^127\./.test(host);
