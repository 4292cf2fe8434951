// Where a key goes: the seam between the shared request path (sessions, backends, split/merge,
// replies) and a placement. Codis mode leaves ProxyContext.placement unset and routes by slot table
// (crc32 % 1024 -> group master); Twemproxy mode (src/twemproxy/) sets one per pool: nutcracker's
// hash function and ketama/modula/random over the pool's servers.
import type { ReplySink } from './backend-conn.js';

export interface KeyPlacement {
  /** The routing unit of the key buf[start, end): keys with the same unit go to the same backend. */
  unitOf(buf: Uint8Array, start: number, end: number): number;
  /** The backend address of a unit ('' when no server takes it now). */
  backendOf(unit: number): string;
  /** The error reply text for a unit without a backend. */
  noBackendError(unit: number): string;
  /** The error reply text for a multi-key command whose keys have different units. */
  crossError(command: string): string;
  /** An error text when this placement refuses a command the slot path would run (e.g. SELECT), else null. */
  refuse(command: string): string | null;
  /** Observes a request forwarded to `addr` (per-server stats, failure counts); returns the sink to use. */
  track(addr: string, raw: Buffer, sink: ReplySink): ReplySink;
}
