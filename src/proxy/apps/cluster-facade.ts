// The opt-in Redis Cluster façade (cluster_facade = true): CLUSTER SLOTS/SHARDS/NODES/INFO/KEYSLOT/MYID
// answered as a Redis Cluster whose nodes are the live proxies the dashboard pushed (the 16384 slots
// split over them, cluster-layout.ts), or, without that list, this proxy alone owning every slot.
// Cluster-only clients (ioredis Cluster, node-redis createCluster, redis-py RedisCluster) then spread
// their commands over the proxies, each routing by its own slot table. KEYSLOT uses Redis Cluster's CRC16 so the
// clients' own hash-tag checks agree; the proxy's CROSSSLOT rule (Codis slots) is checked on the
// same hash tags, so a request a cluster client accepts is one the proxy accepts when it uses tags.
import { encode, errorReply, arr, bulk, int, map, type RespValue } from '../../resp/encode.js';
import type { Request } from '../../resp/request-parser.js';
import type { CommandSpec } from '../../commands/table.js';
import type { CommandStats } from '../stats.js';
import type { AppsHost } from './host.js';
import { argBuf } from './slot-keys.js';
import { CLUSTER_SLOTS, facadeNodes, nodeId, reachableAddr, type FacadeNode } from './cluster-layout.js';

/** CRC16-CCITT (XModem), as Redis Cluster's keyHashSlot uses. */
export function crc16(buf: Uint8Array, start = 0, end = buf.length): number {
  let crc = 0;
  for (let i = start; i < end; i++) {
    crc ^= (buf[i] ?? 0) << 8; // start <= i < end <= buf.length: always a byte
    for (let j = 0; j < 8; j++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

/** Redis Cluster's slot of a key: CRC16 of the hash tag (non-empty {...}) or of the key, mod 16384. */
export function clusterKeySlot(key: Uint8Array): number {
  const open = key.indexOf(0x7b);
  if (open >= 0) {
    const close = key.indexOf(0x7d, open + 1);
    if (close > open + 1) return crc16(key, open + 1, close) % CLUSTER_SLOTS;
  }
  return crc16(key) % CLUSTER_SLOTS;
}

export { nodeId };

export function handleCluster(h: AppsHost, spec: CommandSpec, req: Request, cmd: CommandStats): void {
  const reply = (r: Buffer): void => h.reply(cmd, r);
  if (spec.name === 'cluster|keyslot') return reply(encode(int(clusterKeySlot(argBuf(req, 2))), h.proto));
  if (!h.ctx.config.clusterFacade) {
    return reply(
      errorReply('ERR This instance has cluster support disabled (the proxy answers CLUSTER commands only with cluster_facade = true)'),
    );
  }
  const product = h.ctx.config.productName;
  const nodes = facadeNodes(h.ctx.apps.selfAddr, h.ctx.apps.clusterPeers, product);
  const online = h.ctx.online;
  switch (spec.name) {
    case 'cluster|myid':
      return reply(encode(bulk(nodeId(reachableAddr(h.ctx.apps.selfAddr), product)), h.proto));
    case 'cluster|slots':
      return reply(
        encode(
          arr(online ? nodes.map((n) => arr([int(n.from), int(n.to), arr([bulk(n.host), int(n.port), bulk(n.id), arr([])])])) : []),
          h.proto,
        ),
      );
    case 'cluster|shards': {
      const shard = (n: FacadeNode): RespValue =>
        map([
          [bulk('slots'), arr(online ? [int(n.from), int(n.to)] : [])],
          [
            bulk('nodes'),
            arr([
              map([
                [bulk('id'), bulk(n.id)],
                [bulk('port'), int(n.port)],
                [bulk('ip'), bulk(n.host)],
                [bulk('endpoint'), bulk(n.host)],
                [bulk('role'), bulk('master')],
                [bulk('replication-offset'), int(0)],
                [bulk('health'), bulk(online ? 'online' : 'loading')],
              ]),
            ]),
          ],
        ]);
      return reply(encode(arr(nodes.map(shard)), h.proto));
    }
    case 'cluster|nodes': {
      const lines = nodes.map(
        (n, i) =>
          `${n.id} ${n.host}:${n.port}@${n.port} ${n.self ? 'myself,' : ''}master - 0 0 ${i + 1} connected${online ? ` ${n.from}-${n.to}` : ''}\n`,
      );
      return reply(encode({ t: 'verbatim', v: lines.join('') }, h.proto));
    }
    case 'cluster|info': {
      const ok = online ? 'ok' : 'fail';
      const assigned = online ? CLUSTER_SLOTS : 0;
      const mine = nodes.findIndex((n) => n.self) + 1;
      const text = [
        `cluster_state:${ok}`,
        `cluster_slots_assigned:${assigned}`,
        `cluster_slots_ok:${assigned}`,
        'cluster_slots_pfail:0',
        'cluster_slots_fail:0',
        `cluster_known_nodes:${nodes.length}`,
        `cluster_size:${nodes.length}`,
        `cluster_current_epoch:${nodes.length}`,
        `cluster_my_epoch:${mine > 0 ? mine : 1}`,
        'cluster_stats_messages_sent:0',
        'cluster_stats_messages_received:0',
        'total_cluster_links_buffer_limit_exceeded:0',
        '',
      ].join('\r\n');
      return reply(encode({ t: 'verbatim', v: text }, h.proto));
    }
    default:
      return reply(errorReply(`ERR command '${spec.display}' is not supported by the proxy`));
  }
}
