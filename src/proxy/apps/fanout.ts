// Sends one request to every group master on the session's shared connections and collects the
// replies (copies), in master order.
import type { AppsHost } from './host.js';

export function toEachMaster(h: AppsHost, raw: Buffer | ((addr: string) => Buffer), masters = h.ctx.router.masters()): Promise<Buffer[]> {
  return Promise.all(
    masters.map(
      (addr) =>
        new Promise<Buffer>((resolve) =>
          h.forward(addr, typeof raw === 'function' ? raw(addr) : raw, { onReply: (r) => resolve(Buffer.from(r)) }),
        ),
    ),
  );
}

/** Group masters in a stable order (by address) for cursors that walk them in turn. */
export function sortedMasters(h: AppsHost): string[] {
  return h.ctx.router.masters().slice().sort();
}
