// Blocking commands (BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP, BZPOPMIN, BZPOPMAX, BZMPOP, XREAD and
// XREADGROUP with BLOCK, WAIT) on borrowed connections:
// - the keys must be in one slot (CROSSSLOT otherwise); the call runs on a dedicated connection to
//   the slot's group, so a blocked client never delays other sessions' pipelines; the session itself
//   dispatches nothing else until the call returns (as a blocked Redis client does);
// - the backend applies the timeout, so it is exact; a client that disconnects while blocked has its
//   borrowed connection closed, which unblocks it at the backend without consuming anything;
// - when the slot's routing changes while a call is blocked (migration, failover), the proxy sends
//   CLIENT UNBLOCK (timeout mode, so nothing is consumed) and re-issues the call on the slot's new
//   owner with the time that is left, after moving the keys.
// - WAIT runs on every group master: a PUBLISH on a borrowed connection makes that connection's write
//   offset cover every write the master acknowledged before, then WAIT on the same connection; the
//   reply is the smallest count.
import { encodeCommand, errorReply, intReply } from '../../resp/encode.js';
import { integerOf, isErrorReply } from '../../resp/reply-scanner.js';
import { keyIndexes, xreadBlockIndex, type CommandSpec } from '../../commands/table.js';
import { rawOf, type Request } from '../../resp/request-parser.js';
import type { CommandStats } from '../stats.js';
import type { BorrowedConn } from '../borrowed-pool.js';
import type { AppsHost } from './host.js';
import { ask, barrier, moveKeysFirst } from './common.js';
import { argBuf, argText, crossSlotError, oneSlot } from './slot-keys.js';

import type { BlockedCall } from './apps-context.js';
import { at } from '../../util/at.js';
export type { BlockedCall };

/** Where the timeout argument is and its unit; undefined when the request does not block. */
export function timeoutArg(spec: CommandSpec, req: Request): { index: number; ms: boolean } | undefined {
  switch (spec.name) {
    case 'blpop':
    case 'brpop':
    case 'bzpopmin':
    case 'bzpopmax':
    case 'blmove':
    case 'brpoplpush':
      return { index: req.argc - 1, ms: false };
    case 'blmpop':
    case 'bzmpop':
      return { index: 1, ms: false };
    case 'xread':
    case 'xreadgroup': {
      const i = xreadBlockIndex(spec, req);
      return i < 0 ? undefined : { index: i, ms: true };
    }
    default:
      return undefined;
  }
}

/** A timeout argument in ms (0 = forever); NaN when Redis would reject it (Redis then says why). */
export function timeoutMs(text: string, ms: boolean): number {
  if (!/^\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*$/.test(text)) return NaN;
  const v = Number(text);
  if (!Number.isFinite(v) || v < 0) return NaN;
  return ms ? Math.floor(v) : v * 1000;
}

/** True for the reply a blocking command gives on timeout (null array, null bulk, RESP3 null). */
export function isTimeoutReply(r: Buffer): boolean {
  return (r.length === 5 && (r[0] === 42 || r[0] === 36) && r[1] === 45 && r[2] === 49) || (r.length === 3 && r[0] === 95);
}

/** One session's blocking state: at most one call at a time (the session holds later requests). */
export class BlockState {
  call: BlockedCall | null = null;
  waitConns: BorrowedConn[] = [];

  /** A call is blocked at a backend (or WAIT is running). */
  get busy(): boolean {
    return this.call !== null || this.waitConns.length > 0;
  }

  /** The client left: close the borrowed connections, which unblocks them at the backend. */
  close(h: AppsHost): void {
    if (this.call !== null) {
      h.ctx.apps.borrowed.discard(this.call.conn);
      this.call = null;
    }
    for (const c of this.waitConns) h.ctx.apps.borrowed.discard(c);
    this.waitConns = [];
  }

  handle(h: AppsHost, spec: CommandSpec, req: Request, cmd: CommandStats): void {
    if (spec.name === 'wait') return this.wait(h, req, cmd);
    if (!h.ctx.online) {
      h.reply(cmd, errorReply('ERR proxy is not online yet (no slot table)'));
      return;
    }
    const kr = keyIndexes(spec, req);
    if (!kr.ok) {
      h.reply(cmd, errorReply(kr.error));
      return;
    }
    const slot = oneSlot(req, kr.keys);
    if (slot === -2) {
      h.reply(cmd, errorReply(crossSlotError(spec.display)));
      return;
    }
    const args: Buffer[] = [];
    for (let i = 0; i < req.argc; i++) args.push(Buffer.from(argBuf(req, i)));
    const keys = kr.keys.map((i) => at(args, i, 'key argument'));
    const to = timeoutArg(spec, req);
    const total = to === undefined ? 0 : timeoutMs(argText(req, to.index), to.ms);
    const started = Date.now();
    // Nothing earlier pending: no barrier needed before the borrowed connection (saves a round trip).
    let needBarrier = h.queued > 0;
    const p = h.defer(cmd);
    let raw: Buffer = Buffer.from(rawOf(req)); // copied before the wait: the request's chunk is not kept
    h.hold(async () => {
      const pool = h.ctx.apps.borrowed;
      for (let attempt = 0; ; attempt++) {
        const router = h.ctx.router;
        if (slot >= 0 && router.isUnsettled(slot)) {
          const err = await moveKeysFirst(h, keys);
          if (err !== null) {
            p.onReply(err);
            return;
          }
        }
        const addr = slot >= 0 ? router.backendOf(slot) : (router.masters()[0] ?? '');
        if (addr === '') {
          p.onReply(errorReply(`ERR slot ${slot} is not served by any group (no backend in the slot table)`));
          return;
        }
        const conn = pool.borrow(addr, h.db, h.proto);
        if (typeof conn === 'string') {
          p.onReply(errorReply(conn));
          return;
        }
        if (needBarrier) {
          await barrier(h, addr);
          needBarrier = false;
        }
        if (h.isClosed()) {
          pool.discard(conn);
          return;
        }
        const call: BlockedCall = { conn, slot, gen: slot >= 0 ? router.generation(slot) : 0, movedByProxy: false };
        this.call = call;
        h.ctx.apps.blocked.add(call);
        const r = await ask(conn, raw);
        h.ctx.apps.blocked.delete(call);
        if (this.call === call) this.call = null;
        if (h.isClosed()) {
          pool.discard(conn);
          return;
        }
        pool.giveBack(conn);
        // Re-issue a call the proxy unblocked because its slot moved, with the time that is left.
        if (call.movedByProxy && isTimeoutReply(r) && to !== undefined && Number.isFinite(total) && attempt < 100) {
          const left = total === 0 ? 0 : total - (Date.now() - started);
          if (total === 0 || left > 0) {
            args[to.index] = Buffer.from(total === 0 ? '0' : to.ms ? String(Math.max(1, Math.ceil(left))) : (left / 1000).toFixed(3));
            raw = encodeCommand(args);
            continue;
          }
        }
        p.onReply(r);
        return;
      }
    }, true);
  }

  private wait(h: AppsHost, req: Request, cmd: CommandStats): void {
    const masters = h.ctx.router.masters();
    if (!h.ctx.online || masters.length === 0) {
      h.reply(cmd, errorReply('ERR proxy is not online yet (no slot table)'));
      return;
    }
    const raw = Buffer.from(rawOf(req));
    const mark = encodeCommand(['PUBLISH', '__shardis_wait', '']);
    const p = h.defer(cmd);
    h.hold(async () => {
      const pool = h.ctx.apps.borrowed;
      const conns: BorrowedConn[] = [];
      for (const addr of masters) {
        const c = pool.borrow(addr, h.db, h.proto);
        if (typeof c === 'string') {
          for (const x of conns) pool.giveBack(x);
          p.onReply(errorReply(c));
          return;
        }
        conns.push(c);
      }
      this.waitConns = conns;
      const replies = await Promise.all(
        conns.map(async (c) => {
          await ask(c, mark);
          return ask(c, raw);
        }),
      );
      this.waitConns = [];
      if (h.isClosed()) {
        for (const c of conns) pool.discard(c);
        return;
      }
      for (const c of conns) pool.giveBack(c);
      const bad = replies.find(isErrorReply);
      if (bad !== undefined) {
        p.onReply(bad);
        return;
      }
      p.onReply(intReply(Math.min(...replies.map((r) => integerOf(r) ?? 0))));
    }, true);
  }
}

/** After a slot-table change: unblock calls whose slot's routing changed, so they re-run on the new owner. */
export function unblockMoved(
  calls: Iterable<BlockedCall>,
  generation: (slot: number) => number,
  sendUnblock: (addr: string, raw: Buffer) => void,
): number {
  let n = 0;
  for (const c of calls) {
    if (c.slot < 0 || c.movedByProxy || generation(c.slot) === c.gen || c.conn.clientId < 0) continue;
    c.movedByProxy = true;
    sendUnblock(c.conn.addr, encodeCommand(['CLIENT', 'UNBLOCK', String(c.conn.clientId)]));
    n++;
  }
  return n;
}
