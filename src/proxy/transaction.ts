// The failed-transaction state for a MULTI the proxy cannot honour (Twemproxy pools, or a table that
// refuses transactions), and Redis's replies for a refused EXEC. Such a MULTI answers its refusal AND
// puts the session in Redis's failed-transaction state: every later command is answered with an error
// and NOT run, until EXEC (which answers EXECABORT) or DISCARD (OK), so a client that pipelines MULTI,
// INCR, INCR, EXEC never sees its transaction run piecemeal. Texts are Redis 7.0's.
// Transactions the proxy does run (one slot, queued at the proxy) are apps/transactions.ts.
import { errorReply, OK } from '../resp/encode.js';
import type { CommandSpec } from '../commands/keys.js';

export type TransactionMode = 'none' | 'failed';

const NESTED = errorReply('ERR MULTI calls can not be nested');
const WATCH_INSIDE = errorReply('ERR WATCH inside MULTI is not allowed');
const EXEC_WITHOUT = errorReply('ERR EXEC without MULTI');
const DISCARD_WITHOUT = errorReply('ERR DISCARD without MULTI');
const EXECABORT = errorReply('EXECABORT Transaction discarded because of previous errors.');

/** Commands that run at once even inside MULTI (Redis: EXEC, DISCARD, MULTI, WATCH, QUIT, RESET). */
const CONTROL = new Set(['multi', 'exec', 'discard', 'watch']);

export class TransactionState {
  /** 'none': no transaction open; 'failed': MULTI could not be honoured, EXEC will abort. */
  mode: TransactionMode = 'none';
  /** Error line sent for commands inside a failed transaction (names why MULTI was refused). */
  private notRun: Buffer = EXECABORT;

  /** True for the commands this state answers itself (MULTI, EXEC, DISCARD, WATCH). */
  static isControl(spec: CommandSpec): boolean {
    return CONTROL.has(spec.name);
  }

  /** Leaves any transaction (RESET, connection reuse). */
  reset(): void {
    this.mode = 'none';
  }

  /**
   * The reply to MULTI / EXEC / DISCARD / WATCH, given that the proxy cannot run transactions
   * (`refusal` = MULTI's refusal line, as the command table words it). Null: not answered here
   * (WATCH outside a transaction: its table policy applies).
   */
  control(spec: CommandSpec, refusal: string): Buffer | null {
    switch (spec.name) {
      case 'multi':
        if (this.mode !== 'none') return NESTED;
        this.mode = 'failed';
        this.notRun = errorReply(
          `ERR command not run: this session is inside a transaction that the proxy refused at MULTI (${refusal.replace(/^ERR /, '')}); send DISCARD, or EXEC (which answers EXECABORT)`,
        );
        return errorReply(refusal);
      case 'exec':
        if (this.mode === 'none') return EXEC_WITHOUT;
        this.mode = 'none';
        return EXECABORT;
      case 'discard':
        if (this.mode === 'none') return DISCARD_WITHOUT;
        this.mode = 'none';
        return OK;
      case 'watch':
        return this.mode === 'none' ? null : WATCH_INSIDE;
      default:
        return null;
    }
  }

  /**
   * EXEC rejected before it ran (wrong arity, NOAUTH): Redis discards the transaction and answers
   * "EXECABORT Transaction discarded because of: <error without its ERR code>".
   */
  execRejected(error: string): Buffer {
    this.mode = 'none';
    return errorReply(`EXECABORT Transaction discarded because of: ${error.replace(/^ERR /, '')}`);
  }

  /**
   * For a command other than MULTI/EXEC/DISCARD/WATCH while a transaction is open: the error to
   * answer instead of running it, or null to run it (QUIT and RESET run at once, as in Redis).
   */
  intercept(spec: CommandSpec): Buffer | null {
    if (spec.name === 'quit' || spec.name === 'reset') return null;
    return this.notRun;
  }
}
