// HTTP routes of slot migration (Codis paths where Codis has them): queue one slot, some slots of a
// group, a range; cancel; interval; busy share; pause/resume; rebalance; empty a group; progress. Registered by
// api.ts with its authenticated `put` / `getAuthed` helpers. Documented in src/dashboard/README.md.
import type { FastifyRequest } from 'fastify';
import { badRequest } from './errors.js';
import { parseGroupId, parseSlotId, type Topom } from './topom.js';

type Req = FastifyRequest<{ Params: Record<string, string>; Querystring: Record<string, string> }>;
type Put = (path: string, fn: (req: Req, t: Topom) => Promise<unknown>, codis?: (result: unknown) => unknown) => void;
type Get = (path: string, fn: (req: Req, t: Topom) => unknown) => void;

function bool01(v: string | undefined, what: string): boolean {
  if (v === '0' || v === 'false') return false;
  if (v === '1' || v === 'true') return true;
  throw badRequest(`${what} must be 0 or 1, got "${v}"`);
}

function count(v: string | undefined, what: string): number {
  if (!v || !/^\d+$/.test(v) || Number(v) < 1 || Number(v) > 1024)
    throw badRequest(`${what} must be an integer from 1 to 1024, got "${v}"`);
  return Number(v);
}

/** `codisRead`: a read Codis serves without a token (token needed unless codis_compat_xauth). */
export function registerMigrationRoutes(put: Put, getAuthed: Get, codisRead: Get): void {
  const P = '/api/topom/slots/action';
  put(`${P}/create/:token/:sid/:gid`, (req, t) => t.actions.createOne(parseSlotId(req.params.sid), parseGroupId(req.params.gid)));
  put(`${P}/create-some/:token/:src/:dst/:num`, (req, t) =>
    t.actions.createSome(parseGroupId(req.params.src), parseGroupId(req.params.dst), count(req.params.num, 'num')),
  );
  put(`${P}/create-range/:token/:beg/:end/:gid`, (req, t) =>
    t.actions.createRange(parseSlotId(req.params.beg), parseSlotId(req.params.end), parseGroupId(req.params.gid)),
  );
  put(`${P}/remove/:token/:sid`, (req, t) => t.actions.remove(parseSlotId(req.params.sid)));
  put(`${P}/remove-pending/:token`, (_req, t) => t.actions.removeAllPending());
  put(`${P}/interval/:token/:us`, async (req, t) => {
    const us = /^\d+$/.test(req.params.us ?? '') ? Number(req.params.us) : NaN;
    return t.actions.setInterval(us);
  });
  put(`${P}/busy/:token/:percent`, async (req, t) => {
    const p = /^\d+$/.test(req.params.percent ?? '') ? Number(req.params.percent) : NaN;
    return t.actions.setBusyPercent(p);
  });
  put(`${P}/disabled/:token/:value`, async (req, t) => t.actions.setDisabled(bool01(req.params.value, 'disabled')));
  put(`${P}/drain/:token/:gid/:confirm`, (req, t) =>
    t.actions.drainGroup(parseGroupId(req.params.gid), bool01(req.params.confirm, 'confirm')),
  );
  // Codis's tools read the rebalance plan as a flat {"<slot>": gid}.
  put(
    '/api/topom/slots/rebalance/:token/:confirm',
    (req, t) => t.actions.rebalance(bool01(req.params.confirm, 'confirm')),
    (r) => (r as { plan: unknown }).plan,
  );
  getAuthed(`${P}/progress/:token`, (_r, t) => t.actions.statsSection());
  codisRead('/topom/slots/progress', (_r, t) => t.actions.statsSection());
}
