// The per-proxy state of the application families: the borrowed-connection pool, the calls blocked
// at backends (moved when their slot's routing changes) and the pub/sub hub. One per ProxyServer.
import { BorrowedPool, type BorrowedPoolOptions } from '../borrowed-pool.js';
import type { BackendOptions } from '../backend-conn.js';
import type { BackendPool } from '../backend-pool.js';
import type { Router } from '../router.js';
import { unblockMoved, type BlockedCall } from './blocking.js';
import { PubSubHub } from './pubsub/hub.js';
import { replayCommands } from './scripting.js';
import type { AppsContext } from './apps-context.js';
import { ScanPasses } from './scan-walk.js';

export class AppsRuntime implements AppsContext {
  readonly borrowed: BorrowedPool;
  readonly blocked = new Set<BlockedCall>();
  readonly pubsub: PubSubHub;
  /** Calls unblocked to follow a slot move (stats). */
  movedCalls = 0;
  /** Sessions disconnected for reading pub/sub messages too slowly (stats). */
  slowSubscribersClosed = 0;
  /** Scripts loaded and the last function dump, replayed on masters first seen later. */
  readonly scripts = { scripts: new Map<string, Buffer>(), functionDump: null as Buffer | null };
  private readonly seenMasters = new Set<string>();
  /** This proxy's client address (host:port as bound), for the cluster façade. */
  selfAddr = '127.0.0.1:0';
  /** The live façade proxies' client addresses, as the dashboard pushed them (null: none pushed yet). */
  clusterPeers: string[] | null = null;
  readonly scanPasses = new ScanPasses();

  constructor(
    backend: BackendOptions,
    borrowed: BorrowedPoolOptions,
    private readonly router: Router,
    private readonly pool: BackendPool,
  ) {
    this.borrowed = new BorrowedPool(backend, borrowed);
    this.pubsub = new PubSubHub(router, { auth: backend.auth, connectTimeout: backend.connectTimeout, tls: backend.tls });
  }

  /** After every slot-table change (dashboard push, migration step, failover). */
  onTableChange(): void {
    if (this.blocked.size > 0) {
      this.movedCalls += unblockMoved(
        this.blocked,
        (s) => this.router.generation(s),
        (addr, raw) => {
          this.pool.get(addr, 0, 2, 0).send(raw, { onReply: () => {} });
        },
      );
    }
    this.pubsub.onTableChange();
    for (const addr of this.router.masters()) {
      if (this.seenMasters.has(addr)) continue;
      this.seenMasters.add(addr);
      for (const raw of replayCommands(this.scripts)) this.pool.get(addr, 0, 2, 0).send(raw, { onReply: () => {} });
    }
  }

  close(): void {
    this.borrowed.close();
    this.pubsub.close();
  }
}
