// What the dashboard's HTTP API needs from the process that runs it (the lock loop in run.ts): kept
// apart from api.ts so that route modules (api-console.ts, ...) can name it without an import cycle.
import type { Logger } from '../util/log.js';
import type { DashboardConfig } from './config.js';
import type { Topom } from './topom.js';

/** What the API needs from the process that runs it. */
export interface DashboardHost {
  readonly config: DashboardConfig;
  readonly log: Logger;
  /** The active topom, or null while standby. */
  current(): Topom | null;
  /** Why this dashboard is not active (who holds the lock). */
  standbyReason(): string;
  /** Stops the dashboard (releases the lock) after the reply was sent. */
  requestShutdown(): void;
}
