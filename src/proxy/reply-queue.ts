// The in-order reply queue of one client session (Twemproxy's nc_response side). Every request gets
// a Pending slot when it is dispatched; backends (or the proxy itself) fill slots in any order, and
// the queue hands replies to the client connection strictly in request order, recording per-command
// stats and the slow log as each reply leaves. Fan-out requests (MGET across groups, DBSIZE...) are a
// Fanout that merges their parts before filling the one slot. No I/O here: unit-testable alone.
import { latencyThresholdMs } from './latency-monitor.js';
import type { Request } from '../resp/request-parser.js';
import { errorReply } from '../resp/encode.js';
import { isErrorAt } from '../resp/reply-scanner.js';
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

/** A reply as a range of bytes: buf[start, end). */
export interface ReplyRange {
  readonly buf: Buffer;
  readonly start: number;
  readonly end: number;
}

const NO_REPLY = Buffer.alloc(0);

/** The reply of a range, as a buffer (a view unless it is the whole buffer). */
export function replyOf(r: ReplyRange): Buffer {
  return r.start === 0 && r.end === r.buf.length ? r.buf : r.buf.subarray(r.start, r.end);
}

/**
 * A sink that keeps its reply as a range of the bytes it came in, buf[start, end) (a backend
 * connection's read: no view made for it), and is told when it arrives.
 */
abstract class RangeSink implements ReplySink, ReplyRange {
  /** NO_REPLY until the reply arrives. */
  buf: Buffer = NO_REPLY;
  start = 0;
  end = 0;

  onReply(reply: Buffer): void {
    this.onReplyAt(reply, 0, reply.length);
  }

  onReplyAt(buf: Buffer, start: number, end: number): void {
    this.buf = buf;
    this.start = start;
    this.end = end;
    this.arrived();
  }

  protected abstract arrived(): void;
}

/** A request waiting for its reply, in the session's ordered queue. */
export class Pending extends RangeSink {
  constructor(
    private readonly queue: ReplyQueue,
    readonly cmd: CommandStats | null,
    /** performance.now() when the request was read (io-scope.ts); 0 for replies known at once. */
    readonly started: number,
    /** The request, kept for the slow log (null for replies known at once). */
    readonly req: Request | null,
  ) {
    super();
  }

  protected arrived(): void {
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
 * One sub-request of a fan-out and the sink of its reply. Its range holds the sub-request's bytes,
 * buf[start, end) (a range of a shared slab: no Buffer per sub-request), until it is sent, and then
 * the reply, as a range of the bytes the backend connection read (no view per reply): sending reads
 * the range before any reply can arrive, and one object serves both (at pipeline 1 every field of it
 * is allocated per part of every split request).
 */
export class FanoutPart extends RangeSink {
  constructor(
    private readonly whole: Fanout,
    readonly addr: string,
    sub: Buffer,
    subStart: number,
    subEnd: number,
  ) {
    super();
    this.buf = sub;
    this.start = subStart;
    this.end = subEnd;
  }

  protected arrived(): void {
    this.whole.got();
  }
}

/**
 * A request answered by several sub-requests (MGET across groups, DBSIZE...): holds the parts,
 * collects their replies in any order, then completes the request's sink with their merge. One
 * object per request with its parts as their own sinks (no separate collector and per-part sink
 * objects: at pipeline 1 every object per request shows up as scavenges in the p99).
 */
export abstract class Fanout {
  readonly parts: FanoutPart[];
  private left = -1;
  private parent: ReplySink | null = null;
  /** Set by a merge whose reply is a range of the buffer it returns (see mergedRange). */
  private mergedStart = 0;
  private mergedEnd = -1;

  constructor(n: number) {
    this.parts = new Array<FanoutPart>(n);
  }

  /** Sets part `i` (each of 0 .. n-1 once, before start): raw[start, end) goes to `addr`. */
  setPart(i: number, addr: string, raw: Buffer, start = 0, end = raw.length): void {
    this.parts[i] = new FanoutPart(this, addr, raw, start, end);
  }

  /**
   * Turns the replies of the parts (in part order) into the client's reply: the buffer returned, or
   * its range [start, end) when the merge called mergedRange(start, end).
   */
  abstract mergeRanges(replies: readonly ReplyRange[]): Buffer;

  /** Called by mergeRanges: the reply is [start, end) of the buffer it returns (a shared slab). */
  protected mergedRange(start: number, end: number): void {
    this.mergedStart = start;
    this.mergedEnd = end;
  }

  /** Call once, before sending any part: the merge of the parts' replies goes to `parent`. */
  start(parent: ReplySink): void {
    if (this.parent !== null) throw new Error('fan-out started twice');
    this.parent = parent;
    this.left = this.parts.length;
    if (this.left === 0) this.done();
  }

  /** A part has its reply; merges once every part has answered. */
  got(): void {
    if (--this.left === 0) this.done();
  }

  private done(): void {
    let out: Buffer;
    try {
      out = this.mergeRanges(this.parts);
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

  mergeRanges(replies: readonly ReplyRange[]): Buffer {
    return this.fn(replies.map(replyOf));
  }
}
