// Owns checking front-door generator input before anything is written: a VIP that is an IPv4/IPv6
// address (with an optional prefix length), an interface that exists on this host, peers that are
// addresses, host:port binds. Each failure is a FrontdoorInputError with a message a person can act on.
import { existsSync } from 'node:fs';
import { isIP } from 'node:net';

export class FrontdoorInputError extends Error {
  override readonly name = 'FrontdoorInputError';
}

/** "192.0.2.100" or "192.0.2.100/24" → with a prefix length (default /32, /128). */
export function parseVip(vip: string): { addr: string; cidr: string } {
  const m = /^([^/\s]+)(?:\/(\d{1,3}))?$/.exec(vip.trim());
  const addr = m?.[1];
  const fam = addr === undefined ? 0 : isIP(addr);
  if (!m || addr === undefined || fam === 0)
    throw new FrontdoorInputError(`--vip "${vip}" is not an IP address (examples: 192.0.2.100, 192.0.2.100/24)`);
  const max = fam === 4 ? 32 : 128;
  const len = m[2] === undefined ? max : Number(m[2]);
  if (len < 1 || len > max) throw new FrontdoorInputError(`--vip "${vip}": prefix length must be 1..${max}`);
  return { addr, cidr: `${addr}/${len}` };
}

export function checkInterface(name: string, sysfs = '/sys/class/net'): void {
  if (!/^[\w.@:-]{1,15}$/.test(name)) throw new FrontdoorInputError(`--interface "${name}" is not an interface name`);
  if (!existsSync(`${sysfs}/${name}`))
    throw new FrontdoorInputError(
      `--interface "${name}": no such network interface on this host (see \`ip link\`; --no-interface-check to generate for another host)`,
    );
}

export function checkPeer(p: string): string {
  if (isIP(p) === 0) throw new FrontdoorInputError(`--peer "${p}" is not an IP address`);
  return p;
}

export function checkHostPort(v: string, what: string): string {
  const i = v.lastIndexOf(':');
  const port = Number(v.slice(i + 1));
  if (i <= 0 || !Number.isInteger(port) || port < 1 || port > 65535) throw new FrontdoorInputError(`${what} "${v}" is not HOST:PORT`);
  return v;
}

export function intIn(v: string | number, what: string, min: number, max: number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new FrontdoorInputError(`${what} must be an integer from ${min} to ${max}, got "${v}"`);
  return n;
}
