// Small async helpers shared by the app families: ask a borrowed connection, wait until a session's
// earlier requests to a server have run (a PING barrier on its shared connection), move the keys of a
// migrating slot before a request runs on the slot's new owner.
import { encodeCommand, errorReply } from '../../resp/encode.js';
import type { BorrowedConn } from '../borrowed-pool.js';
import { prepareKeys } from '../migrate-on-access.js';
import type { AppsHost } from './host.js';
import { keysRequest } from './slot-keys.js';

const PING = encodeCommand(['PING']);

/** Sends `raw` on a borrowed connection; resolves with a copy of its reply. */
export const ask = (c: BorrowedConn, raw: Buffer): Promise<Buffer> => new Promise((resolve) => c.send(raw, (r) => resolve(Buffer.from(r))));

/** Resolves once every request this session sent earlier to `addr` (shared connection) has been answered. */
export const barrier = (h: AppsHost, addr: string): Promise<void> =>
  new Promise((resolve) => h.forward(addr, PING, { onReply: () => resolve() }));

/**
 * Moves `keys` of migrating slots to their new owner (as the session's migration path does); null
 * when the request may now be routed by the table, else the error reply to send.
 */
export function moveKeysFirst(h: AppsHost, keys: readonly Buffer[]): Promise<Buffer | null> {
  const c = h.ctx.config;
  const r = keysRequest(keys);
  return prepareKeys(h.ctx.migration, h, h.ctx.router, r, r.argIdx, {
    auth: c.productAuth,
    timeoutMs: 5000,
    bigKeyElements: c.migrationBigKeyElements,
    lockWaitMs: c.migrationLockWait,
  }).catch((e: Error) => errorReply(`ERR proxy migration step failed: ${e.message}`));
}

/** Text of an error reply without the leading '-' and CRLF. */
export const errorText = (r: Buffer): string => r.toString('utf8', 1, Math.max(1, r.length - 2));
