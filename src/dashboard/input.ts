// Checks of what operators send to the dashboard (ids and addresses in API paths and bodies): each
// either returns the clean value or throws a 400 DashboardError that says what was expected.
import { isValidGroupId, MAX_GROUP_ID, MIN_GROUP_ID } from '../models/group.js';
import { isValidSlotId } from '../models/slot-mapping.js';
import { MAX_SLOT_NUM } from '../slots/hash.js';
import { formatAddr, parseAddr, tryParseAddr, isWildcardHost } from '../util/address.js';
import { badRequest } from './errors.js';

export function parseGroupId(v: unknown): number {
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  if (!isValidGroupId(n)) throw badRequest(`group id must be an integer from ${MIN_GROUP_ID} to ${MAX_GROUP_ID}, got ${JSON.stringify(v)}`);
  return n;
}

export function parseSlotId(v: unknown): number {
  const n = typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v;
  if (!isValidSlotId(n)) throw badRequest(`slot id must be an integer from 0 to ${MAX_SLOT_NUM - 1}, got ${JSON.stringify(v)}`);
  return n;
}

/** `addr` if it is host:port with a port from 1 to 65535; else a 400 naming `what`. */
export function checkAddr(addr: string, what: string): string {
  try {
    parseAddr(addr);
  } catch (e) {
    throw badRequest(`${what}: ${(e as Error).message}`);
  }
  return addr;
}

/** A proxy model may carry 0.0.0.0:port when it listens on all interfaces: use the address we reached it at. */
export function reachableAdminAddr(modelAddr: string, calledAddr: string): string {
  const model = tryParseAddr(modelAddr, { allowEmptyHost: true, emptyHost: '' });
  const called = parseAddr(calledAddr);
  if (!model) return calledAddr;
  return isWildcardHost(model.host) ? formatAddr(called.host, model.port) : modelAddr;
}
