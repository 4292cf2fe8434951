// MULTI/EXEC/DISCARD/WATCH/UNWATCH through the proxy, with Redis Cluster's rule: every key of a
// transaction (and every watched key) hashes to one slot. How it works:
// - MULTI opens a transaction kept at the proxy. Each later command is checked at once (unknown
//   command, arity, commands the proxy cannot run inside a transaction, a key outside the
//   transaction's slot) and answered +QUEUED or with the error; an error flags the transaction, so
//   EXEC answers -EXECABORT and nothing runs — a refused transaction never runs piecemeal.
// - EXEC sends MULTI, the queued commands and EXEC in one write on a borrowed (dedicated) connection
//   to the slot's group, after a barrier so the session's earlier requests have run; the client gets
//   EXEC's reply. The backend's own atomicity does the rest: it is all on one group, never half.
// - While the slot migrates, the transaction's keys are first moved to the target (as any request's
//   are), then the whole transaction runs on the target.
// - WATCH borrows a connection to the watched slot's group and keeps it until EXEC/DISCARD/UNWATCH,
//   and EXEC runs on that connection. If the slot's routing changed since WATCH (migration step,
//   failover) EXEC answers a null reply, as for a conflicting write: the client retries.
import { encodeCommand, errorReply, OK } from '../../resp/encode.js';
import { resolveCommand, type CommandSpec } from '../../commands/table.js';
import { rawOf, type Request } from '../../resp/request-parser.js';
import type { CommandStats } from '../stats.js';
import type { BorrowedConn } from '../borrowed-pool.js';
import type { AppsHost } from './host.js';
import { ask, barrier, errorText, moveKeysFirst } from './common.js';
import { SCRIPT_COMMANDS, waitSlotSettled } from '../script-slots.js';
import { argBuf, crossSlotError, oneSlot, slotArgs } from './slot-keys.js';
import { aclRefusal } from '../acl-check.js';

const QUEUED = Buffer.from('+QUEUED\r\n');
const EMPTY_ARRAY = Buffer.from('*0\r\n');
const EXECABORT = errorReply('EXECABORT Transaction discarded because of previous errors.');
const MULTI = encodeCommand(['MULTI']);
const EXEC = encodeCommand(['EXEC']);
const UNWATCH = encodeCommand(['UNWATCH']);
/** Most commands queued in one transaction (bounded memory; Redis has no limit but its own memory). */
export const MAX_QUEUED = 100_000;

/** Commands without keys that may be queued (they answer the same on any group). */
const KEYLESS_OK = new Set(['ping', 'echo', 'time']);
/** Handled by the transaction state itself even inside MULTI. */
const TX_CONTROL = new Set(['exec', 'discard', 'multi', 'watch', 'quit', 'reset']);

interface Watch {
  conn: BorrowedConn;
  slot: number;
  gen: number;
  db: number;
}

/** One session's transaction state. */
export class TxState {
  multi = false;
  dirty = false;
  queued: Buffer[] = [];
  keys: Buffer[] = [];
  /** Slot of the transaction's keys (-1: none yet). */
  slot = -1;
  watch: Watch | null = null;
  /** A script or function is queued: EXEC on a migrating slot waits until it settled (script-slots.ts). */
  scripted = false;

  /** True when `name` (a request inside MULTI) must be queued rather than run. */
  queues(name: string | undefined): boolean {
    return this.multi && (name === undefined || !TX_CONTROL.has(name));
  }

  private clearMulti(): void {
    this.multi = false;
    this.dirty = false;
    this.queued = [];
    this.keys = [];
    this.slot = -1;
    this.scripted = false;
  }

  /** Drops the watch (gives the connection back after UNWATCH, or closes it). */
  unwatch(h: AppsHost): void {
    const w = this.watch;
    this.watch = null;
    if (w === null) return;
    const pool = h.ctx.apps.borrowed;
    if (!w.conn.usable) {
      pool.discard(w.conn);
      return;
    }
    w.conn.send(UNWATCH, () => pool.giveBack(w.conn));
  }

  /** RESET / the client left: forget everything, close the watch connection. */
  reset(h: AppsHost): void {
    this.clearMulti();
    const w = this.watch;
    this.watch = null;
    if (w !== null) h.ctx.apps.borrowed.discard(w.conn);
  }

  /** A command inside MULTI: check it now, queue it, answer +QUEUED or the error (and flag the transaction). */
  enqueue(h: AppsHost, req: Request): void {
    const fail = (msg: string): void => {
      this.dirty = true;
      h.reply(null, errorReply(msg));
    };
    const r = resolveCommand(req);
    if (typeof r === 'string') return fail(r);
    const spec: CommandSpec = r;
    const denied = aclRefusal(h.ctx, h.aclUser, spec, req);
    if (denied !== null) return fail(denied);
    if (this.queued.length >= MAX_QUEUED) return fail(`ERR too many commands in one transaction (the proxy queues at most ${MAX_QUEUED})`);
    const p = spec.policy;
    const keyed =
      p.kind === 'keyed' ||
      p.kind === 'split' ||
      (p.kind === 'app' && (p.family === 'blocking' || spec.name === 'publish' || spec.name === 'spublish'));
    if (!keyed && !KEYLESS_OK.has(spec.name)) {
      return fail(
        `ERR command '${spec.display}' cannot be used inside MULTI through the proxy (only commands on keys of one slot, PING, ECHO and TIME)`,
      );
    }
    if (spec.name === 'wait') return fail("ERR command 'WAIT' cannot be used inside MULTI");
    let idx: readonly number[] = [];
    if (keyed) {
      const a = slotArgs(spec, req);
      if (typeof a === 'string') return fail(a);
      idx = a;
    }
    const slot = oneSlot(req, idx);
    if (slot === -2) return fail(crossSlotError(spec.display));
    if (slot >= 0) {
      if (this.slot === -1) this.slot = slot;
      else if (slot !== this.slot) {
        return fail(
          `CROSSSLOT Keys in request don't hash to the same slot as the transaction's other keys (command '${spec.display}'); a transaction runs on one slot: use a {hash tag}`,
        );
      }
      for (const i of idx) this.keys.push(Buffer.from(argBuf(req, i)));
    }
    if (SCRIPT_COMMANDS.has(spec.name)) this.scripted = true;
    this.queued.push(Buffer.from(rawOf(req)));
    h.reply(null, QUEUED);
  }

  /** MULTI, EXEC, DISCARD, WATCH, UNWATCH. */
  handle(h: AppsHost, spec: CommandSpec, req: Request, cmd: CommandStats): void {
    switch (spec.name) {
      case 'multi':
        if (this.multi) {
          h.reply(cmd, errorReply('ERR MULTI calls can not be nested'));
          return;
        }
        this.clearMulti();
        this.multi = true;
        if (this.watch !== null) this.slot = this.watch.slot;
        h.reply(cmd, OK);
        return;
      case 'discard':
        if (!this.multi) {
          h.reply(cmd, errorReply('ERR DISCARD without MULTI'));
          return;
        }
        this.clearMulti();
        this.unwatch(h);
        h.reply(cmd, OK);
        return;
      case 'unwatch':
        this.unwatch(h);
        h.reply(cmd, OK);
        return;
      case 'watch':
        return this.watchKeys(h, req, cmd);
      case 'exec':
        return this.exec(h, cmd);
      default:
        h.reply(cmd, errorReply(`ERR command '${spec.display}' is not a transaction command`));
    }
  }

  private watchKeys(h: AppsHost, req: Request, cmd: CommandStats): void {
    if (this.multi) {
      h.reply(cmd, errorReply('ERR WATCH inside MULTI is not allowed'));
      return;
    }
    const idx: number[] = [];
    for (let i = 1; i < req.argc; i++) idx.push(i);
    const slot = oneSlot(req, idx);
    if (slot === -2) {
      h.reply(cmd, errorReply(crossSlotError('WATCH')));
      return;
    }
    if (this.watch !== null && this.watch.slot !== slot) {
      h.reply(
        cmd,
        errorReply(
          `CROSSSLOT WATCH keys must hash to the slot already watched by this connection (slot ${this.watch.slot}); the proxy runs the transaction on that slot's group`,
        ),
      );
      return;
    }
    if (!h.ctx.online) {
      h.reply(cmd, errorReply('ERR proxy is not online yet (no slot table)'));
      return;
    }
    const keys = idx.map((i) => Buffer.from(argBuf(req, i)));
    const raw = Buffer.from(rawOf(req));
    const p = h.defer(cmd);
    h.hold(async () => {
      const router = h.ctx.router;
      if (router.isUnsettled(slot)) {
        const err = await moveKeysFirst(h, keys);
        if (err !== null) {
          p.onReply(err);
          return;
        }
      }
      const addr = router.backendOf(slot);
      if (addr === '') {
        p.onReply(errorReply(`ERR slot ${slot} is not served by any group (no backend in the slot table)`));
        return;
      }
      let w = this.watch;
      if (w !== null && (w.conn.addr !== addr || !w.conn.usable)) {
        // The slot moved since the first WATCH: the earlier watch can no longer be honoured.
        this.reset(h);
        p.onReply(errorReply('ERR the watched slot moved to another group; UNWATCH and retry the transaction'));
        return;
      }
      if (w === null) {
        const c = h.ctx.apps.borrowed.borrow(addr, h.db, h.proto);
        if (typeof c === 'string') {
          p.onReply(errorReply(c));
          return;
        }
        w = { conn: c, slot, gen: router.generation(slot), db: h.db };
      }
      await barrier(h, addr);
      if (h.isClosed()) {
        h.ctx.apps.borrowed.discard(w.conn);
        return;
      }
      const r = await ask(w.conn, raw);
      if (r[0] === 45 /* - */) {
        if (this.watch === null) h.ctx.apps.borrowed.giveBack(w.conn);
      } else this.watch = w;
      p.onReply(r);
    });
  }

  private exec(h: AppsHost, cmd: CommandStats): void {
    if (!this.multi) {
      h.reply(cmd, errorReply('ERR EXEC without MULTI'));
      return;
    }
    const queued = this.queued,
      keys = this.keys,
      dirty = this.dirty,
      scripted = this.scripted;
    let slot = this.slot;
    const watch = this.watch;
    this.clearMulti();
    this.watch = null;
    const pool = h.ctx.apps.borrowed;
    if (dirty) {
      if (watch !== null) {
        this.watch = watch;
        this.unwatch(h);
      }
      h.reply(cmd, EXECABORT);
      return;
    }
    if (watch !== null) slot = watch.slot;
    const router = h.ctx.router;
    if (watch !== null) {
      // The slot's routing changed since WATCH (migration step, failover): the watch is void.
      if (router.generation(slot) !== watch.gen || !watch.conn.usable || watch.db !== h.db) {
        pool.discard(watch.conn);
        h.reply(cmd, h.proto === 3 ? Buffer.from('_\r\n') : Buffer.from('*-1\r\n'));
        return;
      }
    }
    if (queued.length === 0 && watch === null) {
      h.reply(cmd, EMPTY_ARRAY);
      return;
    }
    if (!h.ctx.online) {
      h.reply(cmd, errorReply('ERR proxy is not online yet (no slot table)'));
      return;
    }
    const needBarrier = h.queued > 0;
    const p = h.defer(cmd);
    h.hold(async () => {
      let conn: BorrowedConn;
      if (watch !== null) conn = watch.conn;
      else {
        if (slot >= 0 && router.isUnsettled(slot)) {
          const err = scripted
            ? await waitSlotSettled(router, slot, h.ctx.config.migrationLockWait, () => h.isClosed())
            : await moveKeysFirst(h, keys);
          if (err !== null) {
            p.onReply(errorReply(`EXECABORT Transaction discarded: ${errorText(err)}`));
            return;
          }
        }
        const addr = slot >= 0 ? router.backendOf(slot) : (router.masters()[0] ?? '');
        if (addr === '') {
          p.onReply(errorReply(`EXECABORT Transaction discarded: slot ${slot} is not served by any group`));
          return;
        }
        const c = pool.borrow(addr, h.db, h.proto);
        if (typeof c === 'string') {
          p.onReply(errorReply(`EXECABORT Transaction discarded: ${c.replace(/^ERR /, '')}`));
          return;
        }
        conn = c;
      }
      if (needBarrier) await barrier(h, conn.addr);
      if (h.isClosed()) {
        pool.discard(conn);
        return;
      }
      // One write: MULTI, the commands, EXEC. Only EXEC's reply goes to the client.
      let execReply: Buffer | null = null;
      const done = new Promise<void>((resolve) => {
        conn.send(MULTI, () => {});
        for (const q of queued) conn.send(q, () => {});
        conn.send(EXEC, (r) => {
          execReply = Buffer.from(r);
          resolve();
        });
      });
      await done;
      if (h.isClosed() || execReply === null) pool.discard(conn);
      else pool.giveBack(conn);
      p.onReply(execReply ?? errorReply('ERR transaction connection lost'));
    });
  }
}
