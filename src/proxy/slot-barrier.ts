// Applying a slot table that changes where a slot's writes go (lock, migration start/end) safely: the
// proxy acknowledges the push only after every request it already sent for the old routing has been
// answered. Backend connections are FIFO, so a PING sent now on each connection to the old backends
// is answered only after everything queued before it; when all PINGs are back, no request of the
// old table is still in flight (Codis's blockAndWait, without per-slot reference counting on the hot
// path). Only connections with requests in flight are pinged.
import type { Slot } from '../models/slot.js';
import type { Router } from './router.js';
import type { BackendPool } from './backend-pool.js';
import type { BackendConn } from './backend-conn.js';

const PING = Buffer.from('*1\r\n$4\r\nPING\r\n');

/** Backends whose slots change routing (backend, migration source or lock) when `next` is applied. */
export function changedBackends(router: Router, next: readonly Slot[]): Set<string> {
  const out = new Set<string>();
  for (const s of next) {
    const cur = router.slot(s.id);
    if (
      (cur.backend_addr ?? '') === (s.backend_addr ?? '') &&
      (cur.migrate_from ?? '') === (s.migrate_from ?? '') &&
      (cur.locked ?? false) === (s.locked ?? false)
    )
      continue;
    if (cur.backend_addr) out.add(cur.backend_addr);
    if (cur.migrate_from) out.add(cur.migrate_from);
  }
  return out;
}

/** The connections to `addrs` that have requests in flight now. */
export function busyConns(pool: BackendPool, addrs: Iterable<string>): BackendConn[] {
  const out: BackendConn[] = [];
  for (const a of addrs) for (const c of pool.connsTo(a)) if (c.inflight > 0 && c.state !== 'closed' && c.state !== 'down') out.push(c);
  return out;
}

/** Resolves once every request in flight on `conns` now has its reply (or after `timeoutMs`). */
export function drainConns(conns: readonly BackendConn[], timeoutMs: number): Promise<void> {
  const waits = conns.map((c) => new Promise<void>((r) => c.send(PING, { onReply: () => r() })));
  if (waits.length === 0) return Promise.resolve();
  let t: NodeJS.Timeout | undefined;
  return Promise.race([
    Promise.all(waits).then(() => undefined),
    new Promise<void>((r) => {
      t = setTimeout(r, timeoutMs);
    }),
  ]).finally(() => clearTimeout(t));
}
