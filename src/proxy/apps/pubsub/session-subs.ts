// One client session's pub/sub side: its channels, patterns and shard channels, the confirmations
// (RESP2 arrays, RESP3 push frames) with Redis's counts, subscribed-mode rules for RESP2 clients,
// message framing, and the slow-subscriber limit (like Redis's client-output-buffer-limit pubsub:
// a session whose unsent output passes session_max_pubsub_outbuf is disconnected; others are not
// affected). Also PUBLISH/SPUBLISH (to the channel's group) and PUBSUB introspection (fan-out).
import { encode, errorReply, arr, bulk, int, type RespValue } from '../../../resp/encode.js';
import { arrayElements, integerOf, isErrorReply } from '../../../resp/reply-scanner.js';
import { rawOf, type Request } from '../../../resp/request-parser.js';
import type { CommandSpec } from '../../../commands/table.js';
import { slotOf } from '../../../slots/hash.js';
import type { CommandStats } from '../../stats.js';
import type { AppsHost } from '../host.js';
import { argBuf } from '../slot-keys.js';
import type { Listener } from './hub.js';
import { bulkAt, type SubKind } from './subscriber-conn.js';
import { bulkPart, confirmFrame } from './frames.js';
import { argEnd, argStart } from '../../../commands/keys.js';
export { confirmFrame, messageFrame } from './frames.js';

const SUBSCRIBED_MODE_ALLOWED = new Set([
  'subscribe',
  'ssubscribe',
  'psubscribe',
  'unsubscribe',
  'sunsubscribe',
  'punsubscribe',
  'ping',
  'quit',
  'reset',
]);

export class SessionSubs implements Listener {
  /** name (latin1) -> [name bytes, confirmed to the client] */
  private readonly chans = new Map<string, [Buffer, boolean]>();
  private readonly pats = new Map<string, [Buffer, boolean]>();
  private readonly shard = new Map<string, [Buffer, boolean]>();
  /** Set when the session was closed for being too slow. */
  droppedSlow = false;

  constructor(private readonly h: AppsHost) {}

  /** RESP2 subscribed mode: some subscription is active. */
  get subscribed(): boolean {
    return this.chans.size + this.pats.size + this.shard.size > 0;
  }
  get count(): number {
    return this.chans.size + this.pats.size;
  }

  private mapOf(kind: SubKind): Map<string, [Buffer, boolean]> {
    return kind === 'c' ? this.chans : kind === 'p' ? this.pats : this.shard;
  }

  deliver(kind: SubKind, pattern: Buffer | null, channel: Buffer, frame: (proto: 2 | 3) => Buffer): void {
    const h = this.h;
    if (h.isClosed()) return;
    const e = this.mapOf(kind).get((pattern ?? channel).toString('latin1'));
    if (e === undefined || !e[1]) return; // not yet confirmed to the client: published before it
    h.push(frame(h.proto));
    if (h.pendingOutput() > h.ctx.config.sessionMaxPubsubOutbuf) {
      this.droppedSlow = true;
      h.ctx.apps.slowSubscribersClosed++;
      h.close();
    }
  }

  /** RESP2 sessions in subscribed mode may only send the subscribe family, PING, QUIT and RESET. Returns true when handled (refused). */
  refuseInSubscribedMode(spec: CommandSpec | undefined, req: Request, cmd: CommandStats | null): boolean {
    const h = this.h;
    if (h.proto === 3 || !this.subscribed) return false;
    const name = spec?.name ?? '';
    if (SUBSCRIBED_MODE_ALLOWED.has(name)) return false;
    const shown = req.buf.toString('utf8', argStart(req, 0), argEnd(req, 0)).toLowerCase();
    h.reply(
      cmd,
      errorReply(`ERR Can't execute '${shown}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context`),
    );
    return true;
  }

  /** PING in RESP2 subscribed mode answers ["pong", arg]. */
  ping(req: Request, cmd: CommandStats): boolean {
    const h = this.h;
    if (h.proto === 3 || !this.subscribed) return false;
    const arg = req.argc > 1 ? argBuf(req, 1) : Buffer.alloc(0);
    h.reply(cmd, Buffer.concat([Buffer.from('*2\r\n$4\r\npong\r\n'), ...bulkPart(Buffer.from(arg))]));
    return true;
  }

  handle(spec: CommandSpec, req: Request, cmd: CommandStats): void {
    switch (spec.name) {
      case 'subscribe':
        return this.sub('c', 'subscribe', req, cmd);
      case 'psubscribe':
        return this.sub('p', 'psubscribe', req, cmd);
      case 'ssubscribe':
        return this.sub('s', 'ssubscribe', req, cmd);
      case 'unsubscribe':
        return this.unsub('c', 'unsubscribe', req, cmd);
      case 'punsubscribe':
        return this.unsub('p', 'punsubscribe', req, cmd);
      case 'sunsubscribe':
        return this.unsub('s', 'sunsubscribe', req, cmd);
      case 'publish':
      case 'spublish':
        return this.publish(req, cmd);
      default:
        return this.introspect(spec, req, cmd);
    }
  }

  private countFor(kind: SubKind): number {
    return kind === 's' ? this.shard.size : this.count;
  }

  private sub(kind: SubKind, type: string, req: Request, cmd: CommandStats): void {
    const h = this.h;
    if (kind === 's') {
      let slot = -1;
      for (let i = 1; i < req.argc; i++) {
        const s = slotOf(argBuf(req, i));
        if (slot >= 0 && s !== slot) {
          h.reply(cmd, errorReply("CROSSSLOT Keys in request don't hash to the same slot"));
          return;
        }
        slot = s;
      }
    }
    const m = this.mapOf(kind);
    const frames: Buffer[] = [];
    const waits: Array<Promise<void>> = [];
    const entries: Array<[Buffer, boolean]> = [];
    for (let i = 1; i < req.argc; i++) {
      const name = Buffer.from(argBuf(req, i));
      const k = name.toString('latin1');
      let e = m.get(k);
      if (e === undefined) {
        e = [name, false];
        m.set(k, e);
        waits.push(h.ctx.apps.pubsub.add(kind, name, this));
      }
      entries.push(e);
      frames.push(confirmFrame(h.proto, type, name, this.countFor(kind)));
    }
    const p = h.defer(cmd);
    void Promise.all(waits)
      .then(() => {
        for (const e of entries) e[1] = true;
        p.onReply(Buffer.concat(frames));
      })
      .catch(() => p.onReply(errorReply('ERR subscription failed')));
  }

  private unsub(kind: SubKind, type: string, req: Request, cmd: CommandStats): void {
    const h = this.h;
    const m = this.mapOf(kind);
    const names: Buffer[] = [];
    if (req.argc === 1) for (const [n] of m.values()) names.push(n);
    else for (let i = 1; i < req.argc; i++) names.push(Buffer.from(argBuf(req, i)));
    const frames: Buffer[] = [];
    for (const name of names) {
      const k = name.toString('latin1');
      if (m.delete(k)) h.ctx.apps.pubsub.remove(kind, name, this);
      frames.push(confirmFrame(h.proto, type, name, this.countFor(kind)));
    }
    if (frames.length === 0) frames.push(confirmFrame(h.proto, type, null, this.countFor(kind)));
    h.reply(cmd, Buffer.concat(frames));
  }

  /** The client left or sent RESET: drop every subscription. */
  clear(): void {
    const hub = this.h.ctx.apps.pubsub;
    for (const kind of ['c', 'p', 's'] as const) {
      const m = this.mapOf(kind);
      for (const [n] of m.values()) hub.remove(kind, n, this);
      m.clear();
    }
  }

  /** PUBLISH/SPUBLISH go to the group of the channel's slot; the count is of subscribed proxies there. */
  private publish(req: Request, cmd: CommandStats): void {
    const h = this.h;
    if (!h.ctx.online) {
      h.reply(cmd, errorReply('ERR proxy is not online yet (no slot table)'));
      return;
    }
    const addr = h.ctx.router.backendOf(slotOf(argBuf(req, 1)));
    if (addr === '') {
      h.reply(cmd, errorReply("ERR the channel's slot is not served by any group"));
      return;
    }
    h.forward(addr, rawOf(req), h.defer(cmd));
  }

  /** PUBSUB CHANNELS/SHARDCHANNELS (union), NUMSUB/SHARDNUMSUB (each on its channel's group), NUMPAT (max). */
  private introspect(spec: CommandSpec, req: Request, cmd: CommandStats): void {
    const h = this.h;
    const masters = h.ctx.router.masters();
    if (!h.ctx.online || masters.length === 0) {
      h.reply(cmd, errorReply('ERR proxy is not online yet (no slot table)'));
      return;
    }
    const p = h.defer(cmd);
    const ask = (addr: string): Promise<Buffer> =>
      new Promise((resolve) => h.forward(addr, rawOf(req), { onReply: (r) => resolve(Buffer.from(r)) }));
    const list = (r: Buffer): Buffer[] => (arrayElements(r) ?? []).map(([s, e]) => Buffer.from(bulkAt(r, s, e)));
    void (async () => {
      if (spec.name === 'pubsub|channels' || spec.name === 'pubsub|shardchannels') {
        const replies = await Promise.all(masters.map(ask));
        const bad = replies.find(isErrorReply);
        if (bad) return p.onReply(bad);
        const seen = new Map<string, Buffer>();
        for (const r of replies) for (const n of list(r)) seen.set(n.toString('latin1'), n);
        return p.onReply(encode(arr([...seen.values()].map((n) => bulk(n))), h.proto));
      }
      if (spec.name === 'pubsub|numpat') {
        const replies = await Promise.all(masters.map(ask));
        return p.onReply(encode(int(Math.max(0, ...replies.map((r) => integerOf(r) ?? 0))), h.proto));
      }
      // NUMSUB / SHARDNUMSUB: each channel asked on its own group.
      const out: RespValue[] = [];
      for (let i = 2; i < req.argc; i++) {
        const ch = Buffer.from(argBuf(req, i));
        const addr = h.ctx.router.backendOf(slotOf(ch));
        let n = 0;
        if (addr !== '') {
          const sub = spec.name === 'pubsub|numsub' ? 'NUMSUB' : 'SHARDNUMSUB';
          const r = await new Promise<Buffer>((resolve) =>
            h.forward(addr, Buffer.concat([Buffer.from(`*3\r\n$6\r\nPUBSUB\r\n$${sub.length}\r\n${sub}\r\n`), ...bulkPart(ch)]), {
              onReply: (x) => resolve(Buffer.from(x)),
            }),
          );
          const els = arrayElements(r);
          const count = els !== null && els.length === 2 ? els[1] : undefined;
          if (count !== undefined) n = integerOf(r.subarray(count[0], count[1])) ?? 0;
        }
        out.push(bulk(ch), int(n));
      }
      return p.onReply(encode(h.proto === 3 ? { t: 'map', v: pairs(out) } : arr(out), h.proto));
    })().catch((e: Error) => p.onReply(errorReply(`ERR ${e.message}`)));
  }
}

function pairs(flat: RespValue[]): Array<[RespValue, RespValue]> {
  const out: Array<[RespValue, RespValue]> = [];
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const k = flat[i],
      v = flat[i + 1];
    if (k !== undefined && v !== undefined) out.push([k, v]);
  }
  return out;
}
