// The one error type every coordinator store throws (re-exported by store.ts). A file of its own so
// that paths.ts can throw it without importing store.ts (which imports paths.ts).

/** Which coordinator backend a store talks to. */
export type StoreKind = 'filesystem' | 'etcd' | 'zookeeper';

export type StoreErrorCode =
  /** `create` / `createEphemeral` found the node already present. */
  | 'EXISTS'
  /** `delete` of a node that still has children. */
  | 'NOT_EMPTY'
  /** The path cannot hold data here (filesystem: it is a directory, or a parent is a file). */
  | 'CONFLICT'
  /** The path is not an absolute, normalised coordinator path. */
  | 'BAD_PATH'
  /** The coordinator cannot be reached (server down, connection refused, session expired). */
  | 'UNAVAILABLE'
  /** The operation did not complete within the store's timeout; its outcome is unknown. */
  | 'TIMEOUT'
  /** The store (or the handle) was closed. */
  | 'CLOSED'
  /** A lease or ephemeral entry was lost (session expired, lease not renewed, node removed). */
  | 'LOST'
  /** A local I/O error (filesystem backend) or an unexpected server error. */
  | 'IO';

/** The only error type stores throw. `message` names the coordinator, the operation and the path. */
export class StoreError extends Error {
  override readonly name = 'StoreError';
  constructor(
    readonly code: StoreErrorCode,
    message: string,
    readonly kind?: StoreKind,
    readonly path?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export function isStoreError(e: unknown, code?: StoreErrorCode): e is StoreError {
  return e instanceof StoreError && (code === undefined || e.code === code);
}
