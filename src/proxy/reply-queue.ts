// The in-order reply queue of one client session (Twemproxy's nc_response side). Every request gets
// a Pending slot when it is dispatched; backends (or the proxy itself) fill slots in any order, and
// the queue hands replies to the client connection strictly in request order, recording per-command
// stats and the slow log as each reply leaves. Fan-out requests (MGET across groups, DBSIZE...) are a
// Fanout that merges their parts before filling the one slot. No I/O here: unit-testable alone.
import { latencyThresholdMs } from './latency-monitor.js';
import type { Request } from '../resp/request-parser.js';
import { errorReply } from '../resp/encode.js';
import { isErrorAt } from '../resp/reply-scanner.js';
import { viewOf } from '../resp/copy-bytes.js';
import { ioNow } from './io-scope.js';
import { replyRange, type ReplySink } from './backend-conn.js';
import type { ProxyContext } from './context.js';
import type { CommandStats } from './stats.js';

/** What the queue needs from its session. */
export interface ReplyQueueOwner {
  readonly ctx: ProxyContext;
  /** Shown in the slow log. */
  readonly remote: string;
  readonly name: string;
  /** True once the client is gone: replies are dropped. */
  isClosed(): boolean;
  /** A reply, buf[start, end), in request order, ready to be written to the client. */
  emit(buf: Buffer, start: number, end: number): void;
  /** Stop reading and end the session once the replies queued so far are written (break_on_failure). */
  drain(): void;
  /** Called after each completion: the queue may have shrunk (resume reading, or finish after EOF/QUIT). */
  afterReplies(): void;
}

const NO_REPLY = Buffer.alloc(0);

/**
 * A request waiting for its reply, in the session's ordered queue. It keeps the reply as a range of
 * the bytes it came in, buf[start, end) (a backend connection's read: no view made for it).
 */
export class Pending implements ReplySink {
  /** NO_REPLY until the reply arrives. */
  buf: Buffer = NO_REPLY;
  start = 0;
  end = 0;

  constructor(
    private readonly queue: ReplyQueue,
    readonly cmd: CommandStats | null,
    /** performance.now() when the request was read (io-scope.ts); 0 for replies known at once. */
    readonly started: number,
    /** The request, kept for the slow log (null for replies known at once). */
    readonly req: Request | null,
  ) {}

  onReply(reply: Buffer): void {
    this.onReplyAt(reply, 0, reply.length);
  }

  onReplyAt(buf: Buffer, start: number, end: number): void {
    this.buf = buf;
    this.start = start;
    this.end = end;
    this.queue.complete();
  }
}

export class ReplyQueue {
  /**
   * items[head, tail) are waiting. When the queue empties, head and tail go back to 0 but the array
   * keeps its length (slots are overwritten): emptying it with `length = 0` made V8 drop its backing
   * store, re-allocated by the next request's push (at pipeline 1: on every request). Only a queue
   * that grew past 64 slots is emptied that way.
   */
  private readonly items: Array<Pending | undefined> = [];
  private head = 0;
  private tail = 0;

  constructor(private readonly owner: ReplyQueueOwner) {}

  /** Requests dispatched and not yet answered to the client. */
  get length(): number {
    return this.tail - this.head;
  }

  private add(p: Pending): void {
    if (this.tail === this.items.length) this.items.push(p);
    else this.items[this.tail] = p;
    this.tail++;
  }

  /** Queues a reply that is already known (null stats: protocol-level replies, not counted as commands). */
  reply(cmd: CommandStats | null, r: Buffer): void {
    const p = new Pending(this, cmd, 0, null);
    this.add(p);
    p.onReply(r);
  }

  /** Reserves the next place in reply order; its reply arrives later through onReply / onReplyAt. */
  defer(cmd: CommandStats | null, req: Request | null): Pending {
    const p = new Pending(this, cmd, ioNow(), req);
    this.add(p);
    return p;
  }

  /** Called when any queued request has its reply: emits every finished reply at the head. */
  complete(): void {
    const owner = this.owner;
    if (owner.isClosed()) return;
    const ctx = owner.ctx;
    const q = this.items;
    while (this.head < this.tail) {
      const p = q[this.head]!; // hot path: head < tail (loop condition)
      const buf = p.buf;
      if (buf === NO_REPLY) break;
      q[this.head++] = undefined;
      const start = p.start,
        end = p.end,
        cmd = p.cmd;
      const isErr = isErrorAt(buf, start);
      if (cmd !== null) {
        const us = p.started > 0 ? (performance.now() - p.started) * 1000 : 0;
        cmd.record(us, isErr);
        const slower = ctx.config.slowlogSlowerThan;
        if (us >= slower && slower >= 0 && p.req !== null) {
          ctx.stats.slowlog.add(p.req, us, owner);
          // Latency monitor: its threshold is the slow-log one in whole ms (latency-monitor.ts).
          if (us >= latencyThresholdMs(slower) * 1000) ctx.stats.latency.add('command', us / 1000);
        }
        ctx.stats.opsTotal++;
        if (isErr) ctx.stats.opsErrors++;
      }
      owner.emit(buf, start, end);
      if (isErr && cmd !== null && ctx.config.breakOnFailure) {
        owner.drain();
        break;
      }
    }
    if (this.head === this.tail) {
      this.head = 0;
      this.tail = 0;
      if (q.length > 64) q.length = 0; // after a deep pipeline: do not keep its slots per session
    } else if (this.head > 4096) {
      q.copyWithin(0, this.head, this.tail);
      this.tail -= this.head;
      this.head = 0;
      q.fill(undefined, this.tail);
    }
    owner.afterReplies();
  }
}

/**
 * A request answered by several sub-requests (MGET across groups, DBSIZE...): holds the parts,
 * collects their replies in any order, then completes the request's sink with their merge. It is
 * the sink of every part: a backend connection hands each reply back with the tag it was sent with,
 * the part's index. One object and one array per request: part i is slots[4i .. 4i + 3] = address,
 * buffer, start, end, the range holding the sub-request's bytes until it is sent and then its reply
 * (a range of the bytes the backend read: no view per reply). At pipeline 1 every object per request
 * is scavenge work in the p99; an object per part was 64 bytes of it.
 */
export abstract class Fanout implements ReplySink {
  private readonly slots: Array<string | Buffer | number>;
  readonly partCount: number;
  private left = -1;
  private parent: ReplySink | null = null;
  /** Set by a merge whose reply is a range of the buffer it returns (see mergedRange). */
  private mergedStart = 0;
  private mergedEnd = -1;

  constructor(n: number) {
    this.partCount = n;
    this.slots = new Array<string | Buffer | number>(4 * n);
  }

  /** Sets part `i` (each of 0 .. n-1 once, before start): raw[start, end) goes to `addr`. */
  setPart(i: number, addr: string, raw: Buffer, start = 0, end = raw.length): void {
    const s = this.slots;
    s[4 * i] = addr;
    s[4 * i + 1] = raw;
    s[4 * i + 2] = start;
    s[4 * i + 3] = end;
  }

  /** Where part i goes. */
  partAddr(i: number): string {
    return this.slots[4 * i] as string;
  }
  /** Part i's range: its sub-request until it is sent, then its reply (once it arrived). */
  partBuf(i: number): Buffer {
    return this.slots[4 * i + 1] as Buffer;
  }
  partStart(i: number): number {
    return this.slots[4 * i + 2] as number;
  }
  partEnd(i: number): number {
    return this.slots[4 * i + 3] as number;
  }
  /** Part i's range as a Buffer (a view unless it is the whole buffer). */
  partBytes(i: number): Buffer {
    return viewOf(this.partBuf(i), this.partStart(i), this.partEnd(i));
  }

  /**
   * Turns the replies of the parts (partBuf/partStart/partEnd) into the client's reply: the buffer
   * returned, or its range [start, end) when the merge called mergedRange(start, end).
   */
  abstract merge(): Buffer;

  /** Called by merge: the reply is [start, end) of the buffer it returns (a shared slab). */
  protected mergedRange(start: number, end: number): void {
    this.mergedStart = start;
    this.mergedEnd = end;
  }

  /** The first part's reply that is an error, if any. */
  protected firstError(): Buffer | undefined {
    for (let i = 0; i < this.partCount; i++) if (isErrorAt(this.partBuf(i), this.partStart(i))) return this.partBytes(i);
    return undefined;
  }

  /** Call once, before sending any part: the merge of the parts' replies goes to `parent`. */
  start(parent: ReplySink): void {
    if (this.parent !== null) throw new Error('fan-out started twice');
    this.parent = parent;
    this.left = this.partCount;
    if (this.left === 0) this.done();
  }

  /** Part `tag`'s reply. */
  onReply(reply: Buffer, tag = 0): void {
    this.onReplyAt(reply, 0, reply.length, tag);
  }

  /** Part `tag`'s reply, buf[start, end); merges once every part has answered. */
  onReplyAt(buf: Buffer, start: number, end: number, tag = 0): void {
    const s = this.slots;
    s[4 * tag + 1] = buf;
    s[4 * tag + 2] = start;
    s[4 * tag + 3] = end;
    if (--this.left === 0) this.done();
  }

  private done(): void {
    let out: Buffer;
    try {
      out = this.merge();
    } catch (e) {
      out = errorReply(`ERR proxy could not merge replies: ${(e as Error).message}`);
      this.mergedEnd = -1;
    }
    const parent = this.parent!; // hot path: set by start, before any part can answer
    const end = this.mergedEnd;
    if (end < 0) parent.onReply(out);
    else replyRange(parent, out, this.mergedStart, end);
  }
}

/** A fan-out of one request to several servers, merged by a function of their replies. */
export class FanoutTo extends Fanout {
  constructor(
    addrs: readonly string[],
    raw: Buffer,
    private readonly fn: (replies: Buffer[]) => Buffer,
  ) {
    super(addrs.length);
    for (let i = 0; i < addrs.length; i++) this.setPart(i, addrs[i]!, raw);
  }

  merge(): Buffer {
    const replies: Buffer[] = [];
    for (let i = 0; i < this.partCount; i++) replies.push(this.partBytes(i));
    return this.fn(replies);
  }
}
