// The dispatcher (Twemproxy's nc_request side): decides what happens to one parsed request, in
// Redis's order of checks — command-name length, lookup and pre-checks (precheckCommand, the same
// function the command-table tests exercise), authentication, the open transaction — then ONE switch
// over the command table's policy:
//   denied -> the table's refusal;  local -> the typed handler map (local-commands.ts);
//   split  -> one sub-request per backend, merged (split.ts);  keyed -> the backend of the keys' slot.
// Routing goes through the Placement interface (placement.ts). A request touching a slot under
// migration takes the rare branch at the bottom (migrate-on-access.ts) while later requests are held.
//
// Borrowed-connection commands (blocking pops, pub/sub, MULTI/EXEC/WATCH, keyspace scans, script
// fan-out, the cluster façade) have the policy kind 'app': the switch hands them to the session's
// SessionApps (src/proxy/apps/), which borrows dedicated backend connections where needed and uses
// host.hold() to keep later requests in order. While a transaction is open or a RESP2 session is
// subscribed, SessionApps.intercept sees every request first.
//
// Hot path (keyed and split): no allocation besides the Pending slot and what split needs.
import { ownRequest, type Request } from '../resp/request-parser.js';
import { errorReply } from '../resp/encode.js';
import { slotOfRange } from '../slots/hash.js';
import { lookupCommand, precheckCommand } from '../commands/table.js';
import { argEnd, argStart, keyIndexes, type CommandSpec } from '../commands/keys.js';
import type { SessionHost } from './session-host.js';
import { planSplit } from './split.js';
import { runLocal } from './local-commands.js';
import { aclRefusal } from './acl-check.js';
import type { CommandStats } from './stats.js';
import { TransactionState } from './transaction.js';
import { canRunInPlace, prepareKeys, runInPlace } from './migrate-on-access.js';
import { SCRIPT_COMMANDS, waitSlotSettled } from './script-slots.js';
import { xreadBlockIndex } from '../commands/keys.js';
import { at } from '../util/at.js';
import type { ClientPause } from './client-pause.js';

/** Commands a client may send before it has authenticated. */
const NO_AUTH = new Set(['auth', 'hello', 'quit', 'reset']);
const NOAUTH = 'NOAUTH Authentication required.';
const OFFLINE = errorReply('ERR proxy is not online yet (no slot table)');

/** Answers a request refused before it runs; a refused EXEC discards the open transaction, as Redis does. */
function refuse(s: SessionHost, spec: CommandSpec, cmd: CommandStats, line: string): void {
  if (spec.name !== 'exec') {
    s.reply(cmd, errorReply(line));
    return;
  }
  if (s.apps.tx.multi) s.apps.tx.reset(s.apps.host);
  s.reply(cmd, s.tx.execRejected(line));
}

/** Dispatches `req` once the CLIENT PAUSE ends (its own function: a closure in dispatch would cost a context per request). */
function holdForPause(s: SessionHost, parsed: Request, premigrated: number, pz: ClientPause): void {
  const req = ownRequest(parsed);
  s.hold(async () => {
    await pz.wait();
    if (!s.isClosed()) dispatch(s, req, premigrated);
  }, true);
}

/**
 * Dispatches one request of `s`. `premigrated` = the router version at which this request's keys
 * were moved out of migrating slots (-1: not yet).
 */
export function dispatch(s: SessionHost, req: Request, premigrated = -1): void {
  // Hot path: argc >= 1 (the parser drops empty requests), key indexes are < argc, and a unit of the
  // placement always indexes slotOps: the `!` reads below are in range.
  const { buf, offs, base } = req;
  const ctx = s.ctx;
  if (offs[base + 1]! - offs[base]! > ctx.config.maxCommandLen) {
    s.reply(null, errorReply(`ERR command name longer than ${ctx.config.maxCommandLen} bytes`));
    return;
  }
  // Inside MULTI (queued at the proxy) or RESP2 subscribed mode: SessionApps answers first.
  if (s.apps.active && s.apps.intercept(req, null)) return;
  const spec = lookupCommand(req);
  const bad = precheckCommand(spec, req);
  // Unknown command or subcommand: answered, not counted under any command.
  if (spec === undefined || (spec.isContainer && req.argc >= 2)) {
    s.reply(null, errorReply(bad, 'latin1'));
    return;
  }
  const cmd = ctx.stats.command(spec.name);
  s.lastCommand = spec.name;
  if (bad !== '') {
    refuse(s, spec, cmd, bad);
    return;
  }
  if (!s.authed && !NO_AUTH.has(spec.name)) {
    refuse(s, spec, cmd, NOAUTH);
    return;
  }
  const denied = aclRefusal(ctx, s.aclUser, spec, req);
  if (denied !== null) {
    refuse(s, spec, cmd, denied);
    return;
  }
  // CLIENT PAUSE (client-pause.ts): hold the request (and the session's later ones) until the pause ends.
  const pz = ctx.pause;
  if (pz !== undefined && pz.until !== 0 && pz.holds(spec)) {
    holdForPause(s, req, premigrated, pz);
    return;
  }
  const policy = spec.policy;
  const refused = ctx.placement.refuse?.(spec.name) ?? null;
  if (refused !== null) {
    s.reply(cmd, errorReply(refused));
    return;
  }
  // Transactions (transaction.ts): MULTI/EXEC/DISCARD/WATCH, and every command while one is open.
  const tx = s.tx;
  if (tx.mode !== 'none' || (policy.kind === 'denied' && TransactionState.isControl(spec))) {
    const r = TransactionState.isControl(spec) ? tx.control(spec, spec.deniedError) : tx.intercept(spec);
    if (r !== null) {
      s.reply(cmd, r);
      return;
    }
  }
  if (!spec.readonly && policy.kind !== 'local' && policy.kind !== 'denied') s.wroteOnce = true;
  switch (policy.kind) {
    case 'denied':
      s.reply(cmd, errorReply(spec.deniedError));
      return;
    case 'local':
      runLocal(s, spec, req, cmd);
      return;
    case 'app':
      if (ctx.placement.servesApps === false) {
        const refusal = `ERR '${spec.name}' is not available in Twemproxy mode (transactions, blocking commands, pub/sub and keyspace scans need the Codis slot layout)`;
        // A refused MULTI puts the session in the failed-transaction state, so nothing after it runs piecemeal.
        s.reply(cmd, (TransactionState.isControl(spec) ? s.tx.control(spec, refusal) : null) ?? errorReply(refusal));
        return;
      }
      s.apps.dispatch(spec, req, cmd);
      return;
    case 'split': {
      if (!ctx.online) {
        s.reply(cmd, OFFLINE);
        return;
      }
      if (policy.merge === 'mset' && (req.argc - 1) % 2 !== 0) {
        s.reply(cmd, errorReply(spec.arityError));
        return;
      }
      const router = ctx.router;
      if (ctx.placement.unsettled !== 0 && premigrated !== router.version) {
        const step = policy.merge === 'mset' ? 2 : 1;
        const idx: number[] = [];
        for (let i = 1; i < req.argc; i += step) idx.push(i);
        if (touchesUnsettled(s, req, idx) && !ctx.migration.goneKeys.allGone(router, req, idx)) {
          viaMigration(s, req, idx);
          return;
        }
      }
      const plan = planSplit(policy.merge, req, ctx.placement, ctx.stats.slotOps);
      if (typeof plan === 'string') s.forwardRequest(plan, req, cmd);
      else if (Buffer.isBuffer(plan)) s.reply(cmd, plan);
      else s.fanout(plan, s.defer(cmd, req));
      return;
    }
    case 'keyed': {
      if (!ctx.online) {
        s.reply(cmd, OFFLINE);
        return;
      }
      if ((spec.name === 'xread' || spec.name === 'xreadgroup') && xreadBlockIndex(spec, req) >= 0) {
        s.apps.blocking(spec, req, cmd);
        return;
      }
      const kr = keyIndexes(spec, req);
      if (!kr.ok) {
        s.reply(cmd, errorReply(kr.error));
        return;
      }
      const keys = kr.keys;
      const place = ctx.placement;
      let unit = 0;
      if (keys.length > 0) {
        const k0 = keys[0]!;
        unit = place.unitOf(buf, offs[base + 2 * k0]!, offs[base + 2 * k0 + 1]!);
        for (let j = 1; j < keys.length; j++) {
          const k = keys[j]!;
          if (place.unitOf(buf, offs[base + 2 * k]!, offs[base + 2 * k + 1]!) !== unit) {
            s.reply(cmd, errorReply(place.crossError(spec.display)));
            return;
          }
        }
      }
      if (
        place.unsettled !== 0 &&
        premigrated !== ctx.router.version &&
        ctx.router.isUnsettled(unit) &&
        !ctx.migration.goneKeys.allGone(ctx.router, req, keys)
      ) {
        viaMigration(s, req, keys, spec);
        return;
      }
      const addr = place.backendOf(unit);
      if (addr === '') {
        s.reply(cmd, errorReply(place.noBackendError(unit)));
        return;
      }
      ctx.stats.slotOps[unit]!++;
      // Replica reads (replica-reads.ts): only read-only commands, only before the session's first other command.
      const rr = ctx.replicas;
      if (rr !== undefined && rr.enabled && spec.readonly && (!s.wroteOnce || s.replicaReadsOptIn) && rr.count !== 0) {
        s.forwardRequest(rr.pick(unit, addr, ctx.pool), req, cmd);
        return;
      }
      s.forwardRequest(addr, req, cmd);
      return;
    }
  }
}

/** True when some key (argument indexes `argIdx`) of the request is in a migrating or locked slot. */
function touchesUnsettled(s: SessionHost, req: Request, argIdx: readonly number[]): boolean {
  const { buf, offs, base } = req;
  const router = s.ctx.router;
  // Hot path: argIdx are key indexes < argc, so both offsets are set.
  for (const i of argIdx) if (router.isUnsettled(slotOfRange(buf, offs[base + 2 * i]!, offs[base + 2 * i + 1]!))) return true;
  return false;
}

/**
 * Rare path (a slot of the request is migrating or locked): hold this session's later requests,
 * move the request's keys from the migration source to the target, then dispatch the request again.
 * `argIdx` are the argument indexes of the keys.
 */
function viaMigration(s: SessionHost, parsed: Request, argIdx: readonly number[], spec?: CommandSpec): void {
  const req = ownRequest(parsed);
  const ctx = s.ctx;
  const c = ctx.config;
  const router = ctx.router;
  const m = ctx.migration;
  const version = router.version;
  // A script waits for its slot to settle instead (script-slots.ts); its keys are all in one slot.
  const k0 = argIdx[0];
  const scriptSlot =
    k0 !== undefined && spec !== undefined && SCRIPT_COMMANDS.has(spec.name)
      ? slotOfRange(req.buf, argStart(req, k0), argEnd(req, k0))
      : -1;
  const move = (): Promise<Buffer | null> =>
    scriptSlot >= 0
      ? waitSlotSettled(router, scriptSlot, c.migrationLockWait, () => s.isClosed())
      : prepareKeys(m, s, router, req, argIdx, {
          auth: c.productAuth,
          timeoutMs: 5000,
          bigKeyElements: c.migrationBigKeyElements,
          lockWaitMs: c.migrationLockWait,
        });
  // A one-key request first tries to run where its key still is (see runInPlace).
  const inPlace = spec !== undefined && argIdx.length === 1 && s.proto === 2 && canRunInPlace(spec, req.argc);
  const step = async (): Promise<Buffer | null | { ran: Buffer }> => {
    if (!inPlace) return move();
    const r = await runInPlace(m, s, router, req, at(argIdx, 0, 'key argument')); // inPlace: exactly one key
    if (r === 'gone') return null;
    if (r === 'locked') return move();
    return { ran: r };
  };
  s.hold(async () => {
    const res = await step().catch((e: Error) => errorReply(`ERR proxy migration step failed: ${e.message}`));
    if (s.isClosed()) return;
    if (res !== null && !Buffer.isBuffer(res)) {
      s.reply(ctx.stats.command(spec!.name), res.ran);
    } else if (res !== null) {
      const sp = lookupCommand(req);
      s.reply(sp ? ctx.stats.command(sp.name) : null, res);
    } else {
      dispatch(s, req, version);
    }
  });
}
