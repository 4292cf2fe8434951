// The per-proxy state of the application families as the proxy context sees it (an interface, so
// that context.ts depends on nothing in src/proxy/apps/ that depends back on it). Implemented by
// AppsRuntime (runtime.ts).
import type { BorrowedConn, BorrowedPool } from '../borrowed-pool.js';
import type { PubSubHub } from './pubsub/hub.js';
import type { ScanPasses } from './scan-walk.js';

/** A call blocked at a backend, known to the runtime so table changes can move it. */
export interface BlockedCall {
  conn: BorrowedConn;
  slot: number;
  gen: number;
  /** Set when the proxy unblocked it (CLIENT UNBLOCK) to re-issue it elsewhere. */
  movedByProxy: boolean;
}

export interface AppsContext {
  readonly borrowed: BorrowedPool;
  readonly blocked: Set<BlockedCall>;
  readonly pubsub: PubSubHub;
  /** Calls unblocked to follow a slot move (stats). */
  movedCalls: number;
  /** Sessions disconnected for reading pub/sub messages too slowly (stats). */
  slowSubscribersClosed: number;
  /** Scripts loaded and the last function dump, replayed on masters first seen later. */
  readonly scripts: { scripts: Map<string, Buffer>; functionDump: Buffer | null };
  /** This proxy's client address (host:port as bound), for the cluster façade. */
  selfAddr: string;
  /** The live façade proxies' client addresses, as the dashboard pushed them (null: none pushed yet). */
  clusterPeers: string[] | null;
  /** The passes of recent SCANs (which slots moved since each began). */
  readonly scanPasses: ScanPasses;
  /** After every slot-table change (dashboard push, migration step, failover). */
  onTableChange(): void;
  close(): void;
}
