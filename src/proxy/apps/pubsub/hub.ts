// The proxy's pub/sub hub: which channels and patterns its client sessions listen to, and where they
// are subscribed at the backends. Layout ("pub/sub follows slots", DESIGN.md §8):
// - a channel (and a shard channel) lives on the group that owns its slot (crc32 of its hash tag, as
//   keys): PUBLISH goes there, and every proxy with a listener subscribes there once;
// - a pattern is subscribed on every group master, since a message can be published on any of them;
// - one subscriber connection per master is shared by all sessions of the proxy;
// - after a table change (migration, failover) channels whose owner changed are subscribed on the new
//   owner, then unsubscribed on the old one; patterns follow the set of masters; a lost connection
//   reconnects and subscribes again. Messages published during such a switch may be lost: Redis
//   pub/sub is at-most-once, and so is Shardis.
import { slotOf } from '../../../slots/hash.js';
import type { Router } from '../../router.js';
import { SubscriberConn, type SubKind } from './subscriber-conn.js';
import { messageFrame } from './frames.js';
import type tls from 'node:tls';

/** A session's receiving side (pubsub/session-subs.ts). */
export interface Listener {
  /** `frame(proto)` is the message frame for a RESP2 or RESP3 client, built once per message and protocol. */
  deliver(kind: SubKind, pattern: Buffer | null, channel: Buffer, frame: (proto: 2 | 3) => Buffer): void;
}

interface Entry {
  kind: SubKind;
  name: Buffer;
  listeners: Set<Listener>;
  /** Masters it is subscribed on (or being subscribed). */
  addrs: Set<string>;
  /** Masters that confirmed. */
  confirmed: Set<string>;
  waiters: Array<() => void>;
}

const keyOf = (kind: SubKind, name: string): string => kind + name;

export class PubSubHub {
  private readonly entries = new Map<string, Entry>();
  private readonly conns = new Map<string, SubscriberConn>();
  /** Messages delivered to sessions, subscriptions switched to a new owner (stats). */
  delivered = 0;
  switched = 0;

  constructor(
    private readonly router: Router,
    private readonly opts: { auth: string; connectTimeout: number; tls?: tls.ConnectionOptions | undefined },
  ) {}

  /** Number of channels + patterns with listeners on this proxy. */
  get size(): number {
    return this.entries.size;
  }

  /** Where (kind, name) must be subscribed under the current table. */
  private wanted(kind: SubKind, name: Buffer): string[] {
    if (kind === 'p') return this.router.masters();
    const a = this.router.backendOf(slotOf(name));
    return a === '' ? [] : [a];
  }

  private conn(addr: string): SubscriberConn {
    let c = this.conns.get(addr);
    if (c === undefined) {
      c = new SubscriberConn(
        addr,
        this.opts.auth,
        this.opts.connectTimeout,
        {
          onConfirmed: (a, kind, name) => this.confirmed(a, kind, name),
          onMessage: (kind, pattern, channel, message) => this.message(kind, pattern, channel, message),
          onConnected: (a) => this.resubscribeAll(a),
        },
        this.opts.tls,
      );
      this.conns.set(addr, c);
    }
    return c;
  }

  /** Adds a listener; resolves when the subscription is confirmed by every backend it needs (or at once if it already is). */
  add(kind: SubKind, name: Buffer, l: Listener): Promise<void> {
    const k = keyOf(kind, name.toString('latin1'));
    let e = this.entries.get(k);
    if (e === undefined) {
      e = { kind, name: Buffer.from(name), listeners: new Set(), addrs: new Set(), confirmed: new Set(), waiters: [] };
      this.entries.set(k, e);
      for (const addr of this.wanted(kind, name)) this.place(e, addr);
    }
    e.listeners.add(l);
    return this.ready(e);
  }

  private ready(e: Entry): Promise<void> {
    if ([...e.addrs].every((a) => e.confirmed.has(a))) return Promise.resolve();
    return new Promise((resolve) => {
      // A backend that is down does not confirm: do not hold the client forever (at-most-once anyway).
      const t = setTimeout(resolve, 2000);
      e.waiters.push(() => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  private place(e: Entry, addr: string): void {
    e.addrs.add(addr);
    const c = this.conn(addr);
    if (c.isConnected) c.subscribe(e.kind, [e.name]);
  }

  remove(kind: SubKind, name: Buffer, l: Listener): void {
    const k = keyOf(kind, name.toString('latin1'));
    const e = this.entries.get(k);
    if (e === undefined) return;
    e.listeners.delete(l);
    if (e.listeners.size > 0) return;
    this.entries.delete(k);
    for (const addr of e.addrs) this.conns.get(addr)?.unsubscribe(kind, [e.name]);
    for (const w of e.waiters.splice(0)) w();
    this.dropUnused();
  }

  private confirmed(addr: string, kind: SubKind, name: string): void {
    const e = this.entries.get(keyOf(kind, name));
    if (e === undefined) return;
    e.confirmed.add(addr);
    if ([...e.addrs].every((a) => e.confirmed.has(a))) for (const w of e.waiters.splice(0)) w();
  }

  private message(kind: SubKind, pattern: Buffer | null, channel: Buffer, message: Buffer): void {
    const e = this.entries.get(keyOf(kind, (pattern ?? channel).toString('latin1')));
    if (e === undefined) return;
    const built: [Buffer | null, Buffer | null] = [null, null];
    const frame = (proto: 2 | 3): Buffer => {
      const i = proto === 3 ? 1 : 0;
      return (built[i] ??= messageFrame(proto, kind, pattern, channel, message));
    };
    for (const l of e.listeners) {
      l.deliver(kind, pattern, channel, frame);
      this.delivered++;
    }
  }

  /** A (re)connected subscriber connection: subscribe to everything wanted there. */
  private resubscribeAll(addr: string): void {
    const c = this.conns.get(addr);
    if (c === undefined) return;
    const by: Record<SubKind, Buffer[]> = { c: [], p: [], s: [] };
    for (const e of this.entries.values()) {
      if (!e.addrs.has(addr)) continue;
      e.confirmed.delete(addr);
      by[e.kind].push(e.name);
    }
    for (const kind of ['c', 'p', 's'] as const) c.subscribe(kind, by[kind]);
  }

  /** After a slot-table change: move subscriptions whose owner changed; patterns follow the masters. */
  onTableChange(): void {
    for (const e of this.entries.values()) {
      const want = new Set(this.wanted(e.kind, e.name));
      for (const addr of want)
        if (!e.addrs.has(addr)) {
          this.place(e, addr);
          this.switched++;
        }
      for (const addr of [...e.addrs]) {
        if (want.has(addr)) continue;
        e.addrs.delete(addr);
        e.confirmed.delete(addr);
        this.conns.get(addr)?.unsubscribe(e.kind, [e.name]);
      }
    }
    this.dropUnused();
  }

  /** Closes subscriber connections no entry needs. */
  private dropUnused(): void {
    const used = new Set<string>();
    for (const e of this.entries.values()) for (const a of e.addrs) used.add(a);
    for (const [addr, c] of this.conns)
      if (!used.has(addr)) {
        c.close();
        this.conns.delete(addr);
      }
  }

  close(): void {
    for (const c of this.conns.values()) c.close();
    this.conns.clear();
    this.entries.clear();
  }
}
