// What the dispatcher and the local commands need from a client session, as an interface: they
// depend on no session implementation (no import cycle with session.ts), and unit tests drive them
// with a fake host and no sockets.
import type { Request } from '../resp/request-parser.js';
import type { ReplySink } from './backend-conn.js';
import type { Fanout } from './reply-queue.js';
import type { ProxyContext, SessionInfo } from './context.js';
import type { CommandStats } from './stats.js';
import type { TransactionState } from './transaction.js';
import type { SessionApps } from './apps/session-apps.js';

export interface SessionHost extends SessionInfo {
  readonly ctx: ProxyContext;
  /** AUTH done (or no session_auth configured). */
  authed: boolean;
  /** Set by the first command that is not read-only: replica reads stop for this session. */
  wroteOnce: boolean;
  /** Set by READONLY: replica reads even after this session wrote (it accepts reading stale data). */
  replicaReadsOptIn: boolean;
  lastCommand: string;
  /** MULTI ... EXEC state. */
  readonly tx: TransactionState;
  /** Transactions, blocking commands, pub/sub, keyspace scans ... (src/proxy/apps/). */
  readonly apps: SessionApps;
  /** Queues a reply that is already known, in request order (null stats: not counted as a command). */
  reply(cmd: CommandStats | null, r: Buffer): void;
  /** Reserves the next place in reply order for `req`; the returned sink completes it later. */
  defer(cmd: CommandStats | null, req?: Request | null): ReplySink;
  /** Sends `raw` on the session's pipelined connection to `addr`; its reply goes to `sink`. */
  forward(addr: string, raw: Buffer, sink: ReplySink): void;
  /** Sends `req`'s own bytes (a range: no view made for them) to `addr`; its reply takes the next place in reply order. */
  forwardRequest(addr: string, req: Request, cmd: CommandStats | null): void;
  /** Sends each part of `f` to its address and completes `sink` with the merge of their replies (in part order). */
  fanout(f: Fanout, sink: ReplySink): void;
  /** Dispatches none of the later requests until `task` settles. */
  hold(task: () => Promise<void>, keepReading?: boolean): void;
  /** Forget cached backend connections (after SELECT, HELLO or RESET changed db/protocol). */
  resetConns(): void;
  isClosed(): boolean;
}
