// Owns choosing and opening a coordinator: the `StoreSpec` union, parsing of CLI/config spellings
// (`filesystem:/var/lib/shardis`, `etcd:127.0.0.1:2379,127.0.0.1:22379`, `zookeeper:127.0.0.1:2181`,
// or Codis's `coordinator_name` + `coordinator_addr` pair), and `openStore`. Re-exports the store
// contract and the Codis path helpers so callers import from one place.
// The etcd and ZooKeeper clients (grpc, protobuf, ...) are loaded only when such a store is opened:
// they cost ~30 MB of memory that a proxy on the filesystem coordinator, or with no coordinator, saves.
import { FsStore } from './fs-store.js';
import { StoreError, parseCoordinatorAuth, type Store, type StoreKind, type StoreOptions } from './store.js';

export * from './store.js';
export * from './paths.js';

export type StoreSpec =
  | ({ kind: 'filesystem'; root: string } & StoreOptions)
  | ({ kind: 'etcd'; endpoints: string[] } & StoreOptions)
  | ({ kind: 'zookeeper'; servers: string } & StoreOptions);

const KIND_ALIASES: Record<string, StoreKind> = {
  filesystem: 'filesystem',
  fs: 'filesystem',
  etcd: 'etcd',
  etcdv3: 'etcd',
  zookeeper: 'zookeeper',
  zk: 'zookeeper',
};

function bad(what: string): never {
  throw new StoreError('BAD_PATH', what);
}

/**
 * Builds a spec from a coordinator name (`filesystem`|`fs`, `etcd`, `zookeeper`|`zk`) and an address
 * (a directory; comma-separated `host:port` endpoints, `http://` allowed for etcd; a ZooKeeper
 * connection string, chroot allowed), as in Codis's `coordinator_name` / `coordinator_addr`.
 */
export function specFromNameAndAddr(name: string, addr: string, options: StoreOptions = {}): StoreSpec {
  const kind = KIND_ALIASES[name.trim().toLowerCase()];
  if (!kind) bad(`unknown coordinator "${name}" (expected filesystem, etcd or zookeeper)`);
  const a = addr.trim();
  if (!a) bad(`coordinator ${kind}: missing address`);
  switch (kind) {
    case 'filesystem':
      return { kind, root: a, ...options };
    case 'etcd': {
      const endpoints = a
        .split(',')
        .map((e) => e.trim())
        .filter(Boolean);
      for (const e of endpoints) {
        if (!/^(https?:\/\/)?[^\s/:,]+:\d+\/?$/.test(e)) bad(`coordinator etcd: endpoint "${e}" is not host:port`);
      }
      return { kind, endpoints: endpoints.map((e) => e.replace(/\/$/, '')), ...options };
    }
    case 'zookeeper': {
      const slash = a.indexOf('/'); // servers[/chroot]
      const hosts = slash < 0 ? a : a.slice(0, slash);
      for (const h of hosts.split(',')) {
        if (!/^[^\s/:,]+:\d+$/.test(h.trim())) bad(`coordinator zookeeper: server "${h}" is not host:port`);
      }
      return { kind, servers: a, ...options };
    }
  }
}

/** Parses `<kind>:<address>`, e.g. `filesystem:/tmp/shardis`, `etcd:127.0.0.1:2379`, `zk:127.0.0.1:2181`. */
export function parseStoreSpec(text: string, options: StoreOptions = {}): StoreSpec {
  const i = text.indexOf(':');
  if (i <= 0) bad(`coordinator "${text}": expected <filesystem|etcd|zookeeper>:<address>`);
  return specFromNameAndAddr(text.slice(0, i), text.slice(i + 1), options);
}

/** The inverse of `parseStoreSpec` (options are not included). */
export function formatStoreSpec(spec: StoreSpec): string {
  switch (spec.kind) {
    case 'filesystem':
      return `filesystem:${spec.root}`;
    case 'etcd':
      return `etcd:${spec.endpoints.join(',')}`;
    case 'zookeeper':
      return `zookeeper:${spec.servers}`;
  }
}

/**
 * Opens a store. etcd and ZooKeeper are contacted right away: if the server does not answer within
 * `timeoutMs` this throws StoreError 'UNAVAILABLE' naming the address.
 */
export async function openStore(spec: StoreSpec | string, options: StoreOptions = {}): Promise<Store> {
  const s = typeof spec === 'string' ? parseStoreSpec(spec, options) : { ...spec, ...options };
  // Credentials for every tool at once (admin CLI, fe, client pools) when none were given.
  s.auth ??= parseCoordinatorAuth(process.env.SHARDIS_COORDINATOR_AUTH ?? '');
  switch (s.kind) {
    case 'filesystem':
      return FsStore.open(s);
    case 'etcd':
      return (await import('./etcd-store.js')).EtcdStore.open(s);
    case 'zookeeper':
      return (await import('./zk-store.js')).ZkStore.open(s);
    default:
      return bad(`unknown coordinator kind "${(s as { kind: string }).kind}"`);
  }
}

export { FsStore };
