// Reads and writes one product's Codis 3.2 metadata in the coordinator, as pretty JSON at the Codis
// paths (/codis3/<product>/{topom, slots/slot-NNNN, group/group-NNNN, proxy/proxy-<token>, sentinel}),
// so a store written by Codis can be loaded and ours can be read by Codis tools.
import {
  groupDir,
  groupPath,
  idFromPath,
  proxyDir,
  proxyPath,
  proxyTokenFromPath,
  sentinelPath,
  slotPath,
  slotsDir,
  topomPath,
  type FencedWriter,
  type Store,
} from '../coordinator/index.js';
import { encodeGroup, parseGroup, type Group } from '../models/group.js';
import { encodeSlotMapping, offlineSlot, parseSlotMapping, type SlotMapping } from '../models/slot-mapping.js';
import { encodeSentinel, emptySentinel, parseSentinel, type SentinelModel } from '../models/sentinel.js';
import { parseTopom, type TopomModel } from '../models/topom.js';
import type { ProxyModel } from '../models/proxy.js';
import { MAX_SLOT_NUM } from '../slots/hash.js';

/** Codis writes `json.MarshalIndent(v, "", "    ")`. */
export const encodeJson = (v: unknown): Buffer => Buffer.from(JSON.stringify(v, null, 4));

/** Reads a stored proxy record (ours or Codis's); missing fields become empty. */
export function parseProxyModel(input: unknown, where = 'proxy'): ProxyModel {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new Error(`${where}: expected an object`);
  const o = input as Record<string, unknown>;
  const s = (k: string): string => (typeof o[k] === 'string' ? (o[k] as string) : '');
  const n = (k: string): number => (typeof o[k] === 'number' ? (o[k] as number) : 0);
  if (!s('token')) throw new Error(`${where}: token is missing`);
  return {
    id: n('id'),
    token: s('token'),
    start_time: s('start_time'),
    admin_addr: s('admin_addr'),
    proto_type: s('proto_type'),
    proxy_addr: s('proxy_addr'),
    jodis_path: s('jodis_path'),
    product_name: s('product_name'),
    pid: n('pid'),
    pwd: s('pwd'),
    sys: s('sys'),
    hostname: s('hostname'),
    datacenter: s('datacenter'),
  };
}

export interface ProductSnapshot {
  slots: SlotMapping[];
  groups: Map<number, Group>;
  proxies: Map<string, ProxyModel>;
  sentinel: SentinelModel;
}

function parseJson(buf: Buffer, path: string): unknown {
  try {
    return JSON.parse(buf.toString('utf8'));
  } catch (e) {
    throw new Error(`${path}: not valid JSON (${(e as Error).message})`);
  }
}

export class ProductStore {
  /** Called before every write; throws to refuse it (the dashboard's fence after a lost lease). */
  beforeWrite: () => void = () => {};
  /**
   * Where writes go: the product lock's `Lease.fenced` while a dashboard holds it (run.ts sets it),
   * so the coordinator itself refuses a write from a dashboard whose lease another one has taken.
   */
  writer: FencedWriter;

  constructor(
    readonly store: Store,
    readonly product: string,
  ) {
    this.writer = store;
  }

  async readTopom(): Promise<TopomModel | null> {
    const b = await this.store.read(topomPath(this.product));
    return b ? parseTopom(parseJson(b, topomPath(this.product))) : null;
  }

  async loadSlots(): Promise<SlotMapping[]> {
    const slots = Array.from({ length: MAX_SLOT_NUM }, (_, i) => offlineSlot(i));
    const paths = await this.store.list(slotsDir(this.product));
    await Promise.all(
      paths.map(async (p) => {
        const id = idFromPath(p);
        if (id === null || id >= MAX_SLOT_NUM) return;
        const b = await this.store.read(p);
        if (!b) return;
        const m = parseSlotMapping(parseJson(b, p), p);
        if (m.id !== id) throw new Error(`${p}: holds slot ${m.id}`);
        slots[id] = m;
      }),
    );
    return slots;
  }

  async loadGroups(): Promise<Map<number, Group>> {
    const out = new Map<number, Group>();
    const paths = await this.store.list(groupDir(this.product));
    await Promise.all(
      paths.map(async (p) => {
        if (idFromPath(p) === null) return;
        const b = await this.store.read(p);
        if (!b) return;
        const g = parseGroup(parseJson(b, p), p);
        out.set(g.id, g);
      }),
    );
    return new Map([...out.entries()].sort((a, b) => a[0] - b[0]));
  }

  async loadProxies(): Promise<Map<string, ProxyModel>> {
    const list: ProxyModel[] = [];
    const paths = await this.store.list(proxyDir(this.product));
    await Promise.all(
      paths.map(async (p) => {
        if (proxyTokenFromPath(p) === null) return;
        const b = await this.store.read(p);
        if (!b) return;
        list.push(parseProxyModel(parseJson(b, p), p));
      }),
    );
    list.sort((a, b) => a.id - b.id || a.token.localeCompare(b.token));
    return new Map(list.map((p) => [p.token, p]));
  }

  async loadSentinel(): Promise<SentinelModel> {
    const p = sentinelPath(this.product);
    const b = await this.store.read(p);
    return b ? parseSentinel(parseJson(b, p)) : emptySentinel();
  }

  async loadAll(): Promise<ProductSnapshot> {
    const [slots, groups, proxies, sentinel] = await Promise.all([
      this.loadSlots(),
      this.loadGroups(),
      this.loadProxies(),
      this.loadSentinel(),
    ]);
    return { slots, groups, proxies, sentinel };
  }

  async writeSlots(ms: readonly SlotMapping[]): Promise<void> {
    this.beforeWrite();
    await this.writer.updateMany(ms.map((m) => [slotPath(this.product, m.id), encodeJson(encodeSlotMapping(m))] as const));
  }

  async writeGroup(g: Group): Promise<void> {
    this.beforeWrite();
    await this.writer.update(groupPath(this.product, g.id), encodeJson(encodeGroup(g)));
  }

  async deleteGroup(id: number): Promise<void> {
    this.beforeWrite();
    await this.writer.delete(groupPath(this.product, id));
  }

  async writeProxy(p: ProxyModel): Promise<void> {
    this.beforeWrite();
    await this.writer.update(proxyPath(this.product, p.token), encodeJson(p));
  }

  async deleteProxy(token: string): Promise<void> {
    this.beforeWrite();
    await this.writer.delete(proxyPath(this.product, token));
  }

  async writeSentinel(s: SentinelModel): Promise<void> {
    this.beforeWrite();
    await this.writer.update(sentinelPath(this.product), encodeJson(encodeSentinel(s)));
  }
}
