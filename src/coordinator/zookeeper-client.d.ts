// Owns the type declarations for the parts of `node-zookeeper-client` (1.1.x, ships no types) that
// src/coordinator/zk-store.ts uses.
declare module 'node-zookeeper-client' {
  import { EventEmitter } from 'node:events';

  export class Exception extends Error {
    static readonly OK: 0;
    static readonly CONNECTION_LOSS: -4;
    static readonly OPERATION_TIMEOUT: -7;
    static readonly NO_NODE: -101;
    static readonly NO_AUTH: -102;
    static readonly BAD_VERSION: -103;
    static readonly NO_CHILDREN_FOR_EPHEMERALS: -108;
    static readonly NODE_EXISTS: -110;
    static readonly NOT_EMPTY: -111;
    static readonly SESSION_EXPIRED: -112;
    static readonly AUTH_FAILED: -115;
    readonly code: number;
    getCode(): number;
    getName(): string;
    getPath(): string | undefined;
  }

  export class State {
    readonly name: string;
    readonly code: number;
    static readonly DISCONNECTED: State;
    static readonly SYNC_CONNECTED: State;
    static readonly AUTH_FAILED: State;
    static readonly CONNECTED_READ_ONLY: State;
    static readonly SASL_AUTHENTICATED: State;
    static readonly EXPIRED: State;
    getName(): string;
    getCode(): number;
  }

  export class Event {
    static readonly NODE_CREATED: 1;
    static readonly NODE_DELETED: 2;
    static readonly NODE_DATA_CHANGED: 3;
    static readonly NODE_CHILDREN_CHANGED: 4;
    readonly type: number;
    readonly name: string;
    readonly path: string;
    getType(): number;
    getName(): string;
    getPath(): string;
  }

  export const CreateMode: {
    readonly PERSISTENT: 0;
    readonly EPHEMERAL: 1;
    readonly PERSISTENT_SEQUENTIAL: 2;
    readonly EPHEMERAL_SEQUENTIAL: 3;
  };

  export class Id {
    constructor(scheme: string, id: string);
  }

  export class ACL {
    constructor(permission: number, id: Id);
    static readonly OPEN_ACL_UNSAFE: ACL[];
  }

  export interface Stat {
    /** 8-byte big-endian session id of the owner of an ephemeral node; all zero otherwise. */
    ephemeralOwner: Buffer;
    version: number;
    numChildren: number;
    dataLength: number;
    mtime: Buffer;
  }

  export interface ClientOptions {
    sessionTimeout?: number;
    spinDelay?: number;
    retries?: number;
  }

  export type Watcher = (event: Event) => void;

  /** A multi-op: all operations apply, or none. */
  export class Transaction {
    check(path: string, version?: number): Transaction;
    create(path: string, data: Buffer | undefined, mode: number): Transaction;
    create(path: string, data: Buffer | undefined, acls: ACL[], mode: number): Transaction;
    setData(path: string, data: Buffer | null, version?: number): Transaction;
    remove(path: string, version?: number): Transaction;
    commit(cb: (err: Exception | Error | null, results?: Array<{ type: number; err?: number }>) => void): void;
  }

  export class Client extends EventEmitter {
    transaction(): Transaction;
    connect(): void;
    close(): void;
    getState(): State;
    getSessionId(): Buffer;
    getSessionTimeout(): number;
    addAuthInfo(scheme: string, auth: Buffer): void;
    create(
      path: string,
      data: Buffer | undefined,
      acls: ACL[],
      mode: number,
      cb: (err: Exception | Error | null, path?: string) => void,
    ): void;
    create(path: string, data: Buffer | undefined, mode: number, cb: (err: Exception | Error | null, path?: string) => void): void;
    remove(path: string, version: number, cb: (err: Exception | Error | null) => void): void;
    setData(path: string, data: Buffer | null, version: number, cb: (err: Exception | Error | null, stat?: Stat) => void): void;
    getData(path: string, watcher: Watcher | undefined, cb: (err: Exception | Error | null, data?: Buffer, stat?: Stat) => void): void;
    exists(path: string, watcher: Watcher | undefined, cb: (err: Exception | Error | null, stat?: Stat | null) => void): void;
    getChildren(
      path: string,
      watcher: Watcher | undefined,
      cb: (err: Exception | Error | null, children?: string[], stat?: Stat) => void,
    ): void;
    on(event: 'state', listener: (state: State) => void): this;
    on(event: 'connected' | 'connectedReadOnly' | 'disconnected' | 'expired' | 'authenticationFailed', listener: () => void): this;
    once(event: 'state', listener: (state: State) => void): this;
    once(event: 'connected' | 'connectedReadOnly' | 'disconnected' | 'expired' | 'authenticationFailed', listener: () => void): this;
  }

  export function createClient(connectionString: string, options?: ClientOptions): Client;

  const zookeeper: {
    createClient: typeof createClient;
    Exception: typeof Exception;
    State: typeof State;
    Event: typeof Event;
    CreateMode: typeof CreateMode;
    ACL: typeof ACL;
    Id: typeof Id;
  };
  export default zookeeper;
}
