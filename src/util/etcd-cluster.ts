// Starts a real multi-member etcd cluster (Debian `etcd-server`), one member per given host address —
// in tests, one per network namespace of the multi-host harness — all started at once (a member
// reports healthy only once a quorum has formed), and stops them. Each member is an `EtcdServer`, so a
// test can kill -9 or restart one; `endpoints` is what `openStore({ kind: 'etcd' })` wants.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startEtcd, type EtcdServer } from './etcd-server.js';

export interface EtcdMemberSpec {
  host: string;
  /** Network namespace to run the member in (multi-host tests). */
  netns?: string;
  /** Default 2379 (each namespace has its own ports). */
  clientPort?: number;
  /** Default 2380. */
  peerPort?: number;
}

export interface EtcdCluster {
  members: EtcdServer[];
  /** `host:port` client endpoints of every member. */
  endpoints: string[];
  stop(): Promise<void>;
}

export async function startEtcdCluster(
  specs: EtcdMemberSpec[],
  o: { dir: string; token?: string; args?: string[]; startTimeoutMs?: number },
): Promise<EtcdCluster> {
  if (specs.length === 0) throw new Error('an etcd cluster needs at least one member');
  const token = o.token ?? `shardis-etcd-${process.pid}-${Date.now()}`;
  const members = specs.map((s, i) => ({
    ...s,
    name: `m${i + 1}`,
    clientPort: s.clientPort ?? 2379,
    peerPort: s.peerPort ?? 2380,
    dir: join(o.dir, `etcd-m${i + 1}`),
  }));
  const initialCluster = members.map((m) => `${m.name}=http://${m.host}:${m.peerPort}`).join(',');
  for (const m of members) mkdirSync(m.dir, { recursive: true });
  const started = await Promise.allSettled(
    members.map((m) =>
      startEtcd({
        host: m.host,
        netns: m.netns,
        clientPort: m.clientPort,
        peerPort: m.peerPort,
        dir: m.dir,
        name: m.name,
        initialCluster,
        clusterToken: token,
        startTimeoutMs: o.startTimeoutMs ?? 30000,
        // A shared 2-core machine stalls processes for hundreds of ms: a 1 s election timeout keeps the
        // leader from flapping while still electing within seconds after a real loss.
        // --pre-vote: a member that was cut off does not force a new election (and cost every lease a
        // leader change) when it comes back; etcd 3.4 has it off by default.
        args: ['--heartbeat-interval', '100', '--election-timeout', '1000', '--pre-vote', ...(o.args ?? [])],
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
    endpoints: ok.map((m) => `${m.host}:${m.clientPort}`),
    stop: async () => {
      await Promise.all(ok.map((m) => m.stop()));
    },
  };
}
