// What every panel gets: the parsed cluster, and the actions it may start.
import type { CallResult } from '../connection.js';
import type { Cluster } from '../cluster.js';

export interface Ops {
  /** True when the admin token was not given (read-only viewing): actions are hidden. */
  readOnly: boolean;
  /** Asks for confirmation naming what will happen, then runs `PUT path` (`_` in the token position). */
  ask(question: string, path: string, o?: { detail?: string; danger?: boolean; done?(body: Record<string, unknown>): void }): void;
  /** A call without confirmation (previews such as a rebalance plan). */
  call(method: 'GET' | 'PUT', path: string): Promise<CallResult>;
  /** Shows a message (errors of previews) in the page's status line. */
  note(text: string, isError: boolean): void;
}

export interface PanelProps {
  c: Cluster;
  ops: Ops;
}

export const enc = encodeURIComponent;
