// The node layout the cluster façade answers with: every live proxy (the list the dashboard pushes)
// as one Redis Cluster master, the 16384 slots split into contiguous ranges over them in address
// order, so every proxy given the same list answers with the same view. Without a list (standalone
// proxy, no dashboard, or an empty list) the proxy alone owns every slot, as before.
import { createHash } from 'node:crypto';

export const CLUSTER_SLOTS = 16384;

export interface FacadeNode {
  addr: string;
  host: string;
  port: number;
  id: string;
  /** First and last slot (inclusive). */
  from: number;
  to: number;
  self: boolean;
}

/** A stable 40-hex node id for a proxy (from its client address and product). */
export function nodeId(addr: string, product: string): string {
  return createHash('sha1').update(`${product}/${addr}`).digest('hex');
}

/** A client address a peer can be reached at: a wildcard host (0.0.0.0, ::, empty) becomes 127.0.0.1. */
export function reachableAddr(addr: string): string {
  const i = addr.lastIndexOf(':');
  const host = addr.slice(0, i).replace(/^\[(.*)\]$/, '$1');
  return host === '' || host === '0.0.0.0' || host === '::' ? `127.0.0.1:${addr.slice(i + 1)}` : addr;
}

/** The façade's nodes: `peers` (client addresses; null or empty = this proxy alone) sorted, slots split evenly. */
export function facadeNodes(selfAddr: string, peers: readonly string[] | null, product: string): FacadeNode[] {
  const self = reachableAddr(selfAddr);
  const addrs = peers && peers.length > 0 ? [...new Set(peers.map(reachableAddr))].sort() : [self];
  const n = addrs.length;
  return addrs.map((addr, i) => {
    const c = addr.lastIndexOf(':');
    return {
      addr,
      host: addr.slice(0, c).replace(/^\[(.*)\]$/, '$1'),
      port: Number(addr.slice(c + 1)),
      id: nodeId(addr, product),
      from: Math.floor((i * CLUSTER_SLOTS) / n),
      to: Math.floor(((i + 1) * CLUSTER_SLOTS) / n) - 1,
      self: addr === self,
    };
  });
}
