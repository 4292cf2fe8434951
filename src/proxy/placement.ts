// Where a key's requests go: the one question the request path asks of the data layout. Codis slots
// (crc32(hashtag) % 1024 -> group master, router.ts) implement it today; Twemproxy pools (hash
// function + ketama/modula/random over weighted servers) are meant to be a second implementation
// behind the same dispatcher, split/merge and reply queue (DESIGN.md §8 "One request path, two
// placements"). Hot path: called once per key, must not allocate.
import type { ReplySink } from './backend-conn.js';

export interface Placement {
  /**
   * The placement unit of the key buf[start, end): a slot for Codis placement (0..1023), a server
   * index for a Twemproxy pool. Keys with equal units are always served together.
   */
  unitOf(buf: Uint8Array, start: number, end: number): number;
  /** The backend address ("host:port") that serves `unit` now; '' when none does. */
  backendOf(unit: number): string;
  /** The error reply text (without '-') for a unit no backend serves. */
  noBackendError(unit: number): string;
  /** The error reply text (without '-') for a multi-key command whose keys are in different units. */
  crossError(command: string): string;
  /** Every backend that holds data (commands fanned out to all of them: DBSIZE, FLUSHDB, INFO keyspace). */
  masters(): string[];
  /**
   * Units being moved (Codis slot migration) or locked; 0 lets the hot path skip every migration
   * check. A placement that never moves data keeps it at 0.
   */
  readonly unsettled: number;
  /** Optional (Twemproxy pools): an error text for a command this placement does not serve (SELECT), else null. */
  refuse?(command: string): string | null;
  /**
   * Optional: false when this placement cannot serve the commands that need borrowed connections or
   * the slot table (MULTI, blocking, pub/sub, SCAN, scripts, cluster façade: src/proxy/apps/).
   */
  readonly servesApps?: boolean;
  /** Optional (Twemproxy pools): observes a request forwarded to `addr` (per-server stats, failure counts); returns the sink to use. */
  track?: (addr: string, bytes: number, sink: ReplySink) => ReplySink;
}
