// The opt-in Redis Cluster façade (cluster_facade = true): CLUSTER SLOTS/SHARDS/NODES/INFO/KEYSLOT/MYID
// answered as a one-node Redis Cluster whose node is this proxy, owning all 16384 slots. Cluster-only
// clients (ioredis Cluster, node-redis createCluster, redis-py RedisCluster) then send every command
// here and the proxy routes it by its own slot table. KEYSLOT uses Redis Cluster's CRC16 so the
// clients' own hash-tag checks agree; the proxy's CROSSSLOT rule (Codis slots) is checked on the
// same hash tags, so a request a cluster client accepts is one the proxy accepts when it uses tags.
import { createHash } from 'node:crypto';
import { encode, errorReply, arr, bulk, int, map, type RespValue } from '../../resp/encode.js';
import type { Request } from '../../resp/request-parser.js';
import type { CommandSpec } from '../../commands/table.js';
import type { CommandStats } from '../stats.js';
import type { AppsHost } from './host.js';
import { argBuf } from './slot-keys.js';

const CLUSTER_SLOTS = 16384;

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

/** A stable 40-hex node id for this proxy (from its address and product). */
export function nodeId(addr: string, product: string): string {
  return createHash('sha1').update(`${product}/${addr}`).digest('hex');
}

export function handleCluster(h: AppsHost, spec: CommandSpec, req: Request, cmd: CommandStats): void {
  const reply = (r: Buffer): void => h.reply(cmd, r);
  if (spec.name === 'cluster|keyslot') return reply(encode(int(clusterKeySlot(argBuf(req, 2))), h.proto));
  if (!h.ctx.config.clusterFacade) {
    return reply(
      errorReply('ERR This instance has cluster support disabled (the proxy answers CLUSTER commands only with cluster_facade = true)'),
    );
  }
  const self = h.ctx.apps.selfAddr;
  const i = self.lastIndexOf(':');
  const host = self.slice(0, i),
    port = Number(self.slice(i + 1));
  const id = nodeId(self, h.ctx.config.productName);
  const online = h.ctx.online;
  switch (spec.name) {
    case 'cluster|myid':
      return reply(encode(bulk(id), h.proto));
    case 'cluster|slots':
      return reply(
        encode(arr(online ? [arr([int(0), int(CLUSTER_SLOTS - 1), arr([bulk(host), int(port), bulk(id), arr([])])])] : []), h.proto),
      );
    case 'cluster|shards': {
      const node: RespValue = map([
        [bulk('id'), bulk(id)],
        [bulk('port'), int(port)],
        [bulk('ip'), bulk(host)],
        [bulk('endpoint'), bulk(host)],
        [bulk('role'), bulk('master')],
        [bulk('replication-offset'), int(0)],
        [bulk('health'), bulk(online ? 'online' : 'loading')],
      ]);
      return reply(
        encode(
          arr([
            map([
              [bulk('slots'), arr(online ? [int(0), int(CLUSTER_SLOTS - 1)] : [])],
              [bulk('nodes'), arr([node])],
            ]),
          ]),
          h.proto,
        ),
      );
    }
    case 'cluster|nodes': {
      const line = `${id} ${host}:${port}@${port} myself,master - 0 0 1 connected${online ? ` 0-${CLUSTER_SLOTS - 1}` : ''}\n`;
      return reply(encode({ t: 'verbatim', v: line }, h.proto));
    }
    case 'cluster|info': {
      const ok = online ? 'ok' : 'fail';
      const n = online ? CLUSTER_SLOTS : 0;
      const text = [
        `cluster_state:${ok}`,
        `cluster_slots_assigned:${n}`,
        `cluster_slots_ok:${n}`,
        'cluster_slots_pfail:0',
        'cluster_slots_fail:0',
        'cluster_known_nodes:1',
        'cluster_size:1',
        'cluster_current_epoch:1',
        'cluster_my_epoch:1',
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
