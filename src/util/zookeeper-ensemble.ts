// Starts a real ZooKeeper ensemble (Debian `zookeeper`, QuorumPeerMain), one server per given host
// address — in tests, one per network namespace of the multi-host harness — all at once (a server
// serves only once a leader is elected), and stops them. Each member is a `ZooKeeperServer`, so a
// test can kill -9 or restart one; `connect` is the connection string `openStore` wants.
import { join } from 'node:path';
import { startZooKeeper, type ZooKeeperServer } from './zookeeper-server.js';

export interface ZooKeeperMemberSpec {
  host: string;
  /** Network namespace to run the server in (multi-host tests). */
  netns?: string;
  /** Client port, default 2181; quorum and election ports default to 2888 and 3888. */
  port?: number;
  quorumPort?: number;
  electionPort?: number;
}

export interface ZooKeeperEnsemble {
  members: ZooKeeperServer[];
  /** `host:port,host:port,...` */
  connect: string;
  stop(): Promise<void>;
}

export async function startZooKeeperEnsemble(
  specs: ZooKeeperMemberSpec[],
  o: { dir: string; tickTimeMs?: number; maxSessionTimeoutMs?: number; startTimeoutMs?: number },
): Promise<ZooKeeperEnsemble> {
  if (specs.length === 0) throw new Error('a ZooKeeper ensemble needs at least one server');
  const servers = specs.map((s, i) => `server.${i + 1}=${s.host}:${s.quorumPort ?? 2888}:${s.electionPort ?? 3888}`);
  const started = await Promise.allSettled(
    specs.map((s, i) =>
      startZooKeeper({
        host: s.host,
        netns: s.netns,
        port: s.port ?? 2181,
        dir: join(o.dir, `zk-${i + 1}`),
        tickTimeMs: o.tickTimeMs ?? 500,
        maxSessionTimeoutMs: o.maxSessionTimeoutMs,
        ensemble: { myId: i + 1, servers },
        startTimeoutMs: o.startTimeoutMs ?? 60000,
      }),
    ),
  );
  const ok = started.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await Promise.all(ok.map((m) => m.kill9()));
    throw failed.reason instanceof Error ? failed.reason : new Error(String(failed.reason));
  }
  return {
    members: ok,
    connect: ok.map((m) => m.connect).join(','),
    stop: async () => {
      await Promise.all(ok.map((m) => m.stop()));
    },
  };
}
