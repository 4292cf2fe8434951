// The per-session entry point of the application families: the session calls `intercept` before it
// routes a request (transaction queueing, RESP2 subscribed mode), `dispatch` for commands whose
// policy is 'app', and `close`/`reset` when the client leaves or sends RESET.
import type { Request } from '../../resp/request-parser.js';
import { lookupCommand, type CommandSpec } from '../../commands/table.js';
import type { CommandStats } from '../stats.js';
import type { AppsHost } from './host.js';
import { TxState } from './transactions.js';
import { BlockState } from './blocking.js';
import { SessionSubs } from './pubsub/session-subs.js';
import { handleKeyspace } from './keyspace.js';
import { handleScripting } from './scripting.js';
import { handleCluster } from './cluster-facade.js';

export class SessionApps {
  readonly tx = new TxState();
  readonly block = new BlockState();
  readonly subs: SessionSubs;

  constructor(readonly host: AppsHost) {
    this.subs = new SessionSubs(host);
  }

  private get h(): AppsHost {
    return this.host;
  }

  /** Cheap check for the hot path: does `intercept` need to look at requests? */
  get active(): boolean {
    return this.tx.multi || this.subs.subscribed;
  }

  /**
   * Before routing: inside MULTI the request is queued (or refused, flagging the transaction); a RESP2
   * session in subscribed mode may only send the subscribe family. True when the request was handled.
   */
  intercept(req: Request, cmd: CommandStats | null): boolean {
    const spec = lookupCommand(req);
    const name = spec?.name;
    if (this.tx.queues(name)) {
      this.tx.enqueue(this.h, req);
      return true;
    }
    if (this.subs.subscribed) {
      if (this.subs.refuseInSubscribedMode(spec, req, cmd)) return true;
      if (name === 'ping' && spec !== undefined) return this.subs.ping(req, cmd ?? this.h.ctx.stats.command('ping'));
    }
    return false;
  }

  dispatch(spec: CommandSpec, req: Request, cmd: CommandStats): void {
    const p = spec.policy;
    if (p.kind !== 'app') return;
    switch (p.family) {
      case 'transaction':
        return this.tx.handle(this.h, spec, req, cmd);
      case 'blocking':
        return this.block.handle(this.h, spec, req, cmd);
      case 'pubsub':
        return this.subs.handle(spec, req, cmd);
      case 'keyspace':
        return handleKeyspace(this.h, spec, req, cmd);
      case 'scripting':
        return handleScripting(this.h, spec, req, cmd);
      case 'cluster':
        return handleCluster(this.h, spec, req, cmd);
    }
  }

  /** XREAD/XREADGROUP with BLOCK (keyed commands that block). */
  blocking(spec: CommandSpec, req: Request, cmd: CommandStats): void {
    this.block.handle(this.h, spec, req, cmd);
  }

  /** RESET: leave MULTI, drop the watch and every subscription. */
  reset(): void {
    this.tx.reset(this.h);
    this.subs.clear();
  }

  /** The client half-closed: a blocked call ends at once (Redis frees such a client), closing the session. */
  onClientEof(): void {
    if (this.block.busy) this.h.close();
  }

  /** The client left: close borrowed connections (unblocking at the backend), drop subscriptions. */
  close(): void {
    this.tx.reset(this.h);
    this.block.close(this.h);
    this.subs.clear();
  }
}
