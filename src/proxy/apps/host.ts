// What the application-level command families (transactions, blocking commands, pub/sub, keyspace
// scans, script fan-out, the cluster façade) need from a client session, and the per-proxy runtime
// they share. Kept as an interface so these modules depend on no session implementation and can be
// unit-tested with a fake host.
import type { ReplySink } from '../backend-conn.js';
import type { ProxyContext } from '../context.js';
import type { CommandStats } from '../stats.js';
import type { AclUser } from '../../acl/user.js';

export interface AppsHost {
  readonly id: number;
  readonly ctx: ProxyContext;
  readonly db: number;
  readonly proto: 2 | 3;
  /** The ACL user the session runs as (null: not authenticated). */
  readonly aclUser: AclUser | null;
  /** Requests of this session still waiting for their reply (0: every earlier request has run). */
  readonly queued: number;
  /** Queues a reply that is already known, in request order. */
  reply(cmd: CommandStats | null, r: Buffer): void;
  /** Reserves the next place in the reply order; the sink completes it later. */
  defer(cmd: CommandStats | null): ReplySink;
  /** Sends a request on the session's shared pipelined connection to `addr`. */
  forward(addr: string, raw: Buffer, sink: ReplySink): void;
  isClosed(): boolean;
  /**
   * Dispatches none of the session's later requests until `task` settles (ordering of async steps).
   * keepReading: keep reading the client (input buffered, bounded) so its disconnect is seen at once.
   */
  hold(task: () => Promise<void>, keepReading?: boolean): void;
  /** Writes an out-of-band frame (a pub/sub message) between replies, now. */
  push(frame: Buffer): void;
  /** Output bytes not yet taken by the client's socket. */
  pendingOutput(): number;
  /** Closes the client connection at once (e.g. a pub/sub reader too slow to keep up). */
  close(): void;
}
