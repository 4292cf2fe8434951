// One pipelined TCP connection from the proxy to a backend redis-server for one (db, protocol):
// writes requests batched per event-loop turn, matches replies to requests in FIFO order, reconnects
// with back-off, and fails every queued request at once with an error reply when the link dies.
import net from 'node:net';
import type tls from 'node:tls';
import { connectBackendTls } from './tls.js';
import { parseAddr } from '../util/address.js';
import { scanReply, replyNeed, isErrorReply } from '../resp/reply-scanner.js';
import { encodeCommand, errorReply } from '../resp/encode.js';
import { writeBatch } from './output-flusher.js';
import { beginIo, endIo, ioWallClock } from './io-scope.js';
import { copyBytes, viewOf } from '../resp/copy-bytes.js';
import { allocTransient } from '../resp/slab.js';
import { directWriter, type DirectWriter } from './direct-write.js';
import { newRanges, viewsOf, type Ranges } from './ranges.js';
import { Fifo } from '../util/fifo.js';

/**
 * Size of the read buffer of a plain-TCP backend connection. Replies are read into it with
 * net.Socket's `onread` (no Readable stream, no buffer allocated per read); each read's bytes are
 * copied out once before the sinks see them, since sinks keep replies beyond the callback.
 */
const READ_BUFFER = 64 * 1024;

/**
 * Receives the reply (a complete RESP frame) to one request, with the tag the request was sent with
 * (a number the sender chose: a fan-out is the sink of all its parts and tells them apart by it).
 */
export interface ReplySink {
  onReply(reply: Buffer, tag?: number): void;
  /**
   * Optional: the reply as buf[start, end) of the bytes read (never changed afterwards), instead of a
   * view made for it, for sinks that keep it as a range (reply slots, fan-outs).
   */
  onReplyAt?(buf: Buffer, start: number, end: number, tag?: number): void;
}

/** Gives buf[start, end) to `sink`: as a range when it takes ranges, else as a buffer (a view unless it is all of buf). */
export function replyRange(sink: ReplySink, buf: Buffer, start: number, end: number, tag = 0): void {
  if (sink.onReplyAt !== undefined) sink.onReplyAt(buf, start, end, tag);
  else sink.onReply(viewOf(buf, start, end), tag);
}

export interface BackendOptions {
  auth: string;
  connectTimeout: number;
  recvTimeout: number;
  pingPeriod: number;
  maxPipeline: number;
  keepalive: number;
  /** TLS towards the servers (backend_tls); absent: plain TCP. */
  tls?: tls.ConnectionOptions;
  /** Told about a -READONLY reply or a lost connection (the HA watcher re-resolves the master). */
  onTrouble?: (addr: string, why: string) => void;
}

export type BackendState = 'idle' | 'connecting' | 'connected' | 'down' | 'closed';

const IGNORE: ReplySink = {
  onReply() {
    /* keepalive PING */
  },
};

const PING = Buffer.from('*1\r\n$4\r\nPING\r\n');

const NO_DRAIN = (): void => {
  /* requests are bounded by maxPipeline, not by the socket's queue */
};

/**
 * Connections with requests to write this turn, written from one setImmediate (after every read of
 * the turn: requests of all sessions to a server go out in one write). dirty[0, dirtyCount) are set.
 */
const dirty: Array<BackendConn | undefined> = [];
let dirtyCount = 0;

function flushThisTurn(c: BackendConn): void {
  if (dirtyCount === 0) setImmediate(flushDirty);
  dirty[dirtyCount++] = c;
}

function flushDirty(): void {
  // A flush can answer a request at once (a dead link), and its sink send more: those conns are
  // appended and written in this same pass.
  for (let i = 0; i < dirtyCount; i++) dirty[i]!.flush(); // hot path: i < dirtyCount
  dirty.fill(undefined, 0, dirtyCount);
  dirtyCount = 0;
}

export class BackendConn {
  state: BackendState = 'idle';
  lastError = '';
  private socket: net.Socket | null = null;
  /** Writes to the connected plain-TCP socket's handle (direct-write.ts); null: socket.write(). */
  private direct: DirectWriter | null = null;
  /** The sink of each request sent and not yet answered, oldest first, and the tag it was sent with. */
  private sinks = new Fifo<ReplySink>();
  private tags = new Fifo<number>();
  /**
   * Requests to write this turn: the first outboxCount ranges of `outbox` (a sub-request is a range of
   * a shared slab). Two outboxes take turns (their buffer slots are cleared after each write):
   * requests sent while a batch is being written go to the other one.
   */
  private outbox: Ranges = newRanges();
  private spareOutbox: Ranges = newRanges();
  private outboxCount = 0;
  private outboxBytes = 0;
  private failures = 0;
  private retryAt = 0;
  private lastActivity = Date.now();
  private rest: Buffer | null = null;
  private held: Buffer[] = [];
  private heldLen = 0;
  private need = 0;
  /** Requests sent and replies received, for stats. */
  sent = 0;

  constructor(
    readonly addr: string,
    readonly db: number,
    readonly proto: 2 | 3,
    private readonly opts: BackendOptions,
  ) {}

  get inflight(): number {
    return this.sinks.length;
  }

  /** Sends one request (already RESP-encoded); its reply goes to `sink`. */
  send(raw: Buffer, sink: ReplySink): void {
    this.sendRange(raw, 0, raw.length, sink);
  }

  /**
   * Sends the request buf[start, end) (kept unchanged until this turn's write); its reply goes to
   * `sink` with `tag`.
   */
  sendRange(buf: Buffer, start: number, end: number, sink: ReplySink, tag = 0): void {
    if (this.state === 'closed') {
      sink.onReply(errorReply(`ERR backend ${this.addr} connection closed`), tag);
      return;
    }
    if (this.socket === null) {
      if (this.state === 'down' && Date.now() < this.retryAt) {
        sink.onReply(errorReply(`ERR backend ${this.addr} is down: ${this.lastError}`), tag);
        return;
      }
      this.connect();
    }
    if (this.inflight >= this.opts.maxPipeline) {
      sink.onReply(errorReply(`ERR backend ${this.addr} has too many requests in flight (${this.opts.maxPipeline})`), tag);
      return;
    }
    this.write(buf, start, end, sink, tag);
  }

  private writeWhole(raw: Buffer, sink: ReplySink): void {
    this.write(raw, 0, raw.length, sink, 0);
  }

  private write(buf: Buffer, start: number, end: number, sink: ReplySink, tag: number): void {
    if (this.inflight === 0) this.lastActivity = ioWallClock();
    this.sinks.push(sink);
    this.tags.push(tag);
    this.sent++;
    // Batch every request of this event-loop turn (from all sessions) into one write.
    const i = this.outboxCount++,
      o = this.outbox;
    o.bufs[i] = buf;
    o.starts[i] = start;
    o.ends[i] = end;
    this.outboxBytes += end - start;
    if (i === 0) flushThisTurn(this);
  }

  /** Writes this turn's requests (called once per turn by flushThisTurn's immediate). */
  flush(): void {
    const out = this.outbox,
      n = this.outboxCount,
      bytes = this.outboxBytes;
    this.outbox = this.spareOutbox;
    this.spareOutbox = out;
    this.outboxCount = 0;
    this.outboxBytes = 0;
    const s = this.socket;
    try {
      if (s !== null && n > 0) {
        // Once connected (and once Node's own queue of writes made while connecting is empty), requests
        // go straight to the handle; TLS keeps socket.write().
        let d = this.direct;
        if (d === null && this.opts.tls === undefined && !s.connecting)
          d = this.direct = directWriter(s, NO_DRAIN, () => this.fail(s, 'write to the server failed'));
        // Hot path: out.bufs[0, n) are set (the writer copies what it keeps; the slots are cleared below).
        if (d !== null) d.writeRanges(out, n, bytes);
        else writeBatch(s, viewsOf(out, n), bytes);
      }
    } catch (e) {
      // Not expected; if it happens, this connection's requests fail and the other connections of the
      // turn are still written (flushDirty goes on).
      if (s !== null) this.fail(s, `write to the server failed: ${(e as Error).message}`);
    } finally {
      // After a deep batch, do not keep its slots per connection.
      if (n > 1024) this.spareOutbox = newRanges();
      else for (let i = 0; i < n; i++) out.bufs[i] = undefined;
    }
  }

  private connect(): void {
    const { host, port } = parseAddr(this.addr);
    this.state = 'connecting';
    const t = this.opts.tls;
    let s: net.Socket;
    if (t) {
      s = connectBackendTls(host, port, t);
    } else {
      s = net.connect({
        host,
        port,
        noDelay: true,
        onread: {
          buffer: Buffer.allocUnsafe(READ_BUFFER),
          callback: (n: number, buf: Uint8Array): boolean => {
            // Sinks keep replies past this callback and the buffer is reused by the next read: copy once
            // (into a slab: sinks that keep a reply for long copy it themselves).
            const chunk = allocTransient(n);
            copyBytes(buf, 0, n, chunk, 0);
            this.read(s, chunk);
            return true;
          },
        },
      });
    }
    this.socket = s;
    this.direct = null;
    this.rest = null;
    this.held = [];
    this.heldLen = 0;
    this.need = 0;
    const timer = setTimeout(() => this.fail(s, `connect timeout after ${this.opts.connectTimeout} ms`), this.opts.connectTimeout);
    s.once(t ? 'secureConnect' : 'connect', () => {
      clearTimeout(timer);
      if (this.socket !== s) return;
      if (this.opts.keepalive > 0) s.setKeepAlive(true, this.opts.keepalive);
      this.state = 'connected';
      this.failures = 0;
    });
    if (t) s.on('data', (chunk: Buffer) => this.read(s, chunk));
    s.on('error', (e) => {
      clearTimeout(timer);
      this.fail(s, e.message);
    });
    s.on('close', () => {
      clearTimeout(timer);
      this.fail(s, 'connection closed by server');
    });
    // Handshake, pipelined ahead of any request: its replies come first.
    const check = (what: string): ReplySink => ({
      onReply: (r) => {
        if (isErrorReply(r)) this.fail(s, `${what} failed: ${r.toString('latin1', 1, Math.min(r.length, 200)).trim()}`);
      },
    });
    if (this.opts.auth) this.writeWhole(encodeCommand(['AUTH', this.opts.auth]), check('AUTH'));
    if (this.db !== 0) this.writeWhole(encodeCommand(['SELECT', String(this.db)]), check(`SELECT ${this.db}`));
    if (this.proto === 3) this.writeWhole(encodeCommand(['HELLO', '3']), check('HELLO 3'));
  }

  /** A read of `s`: its replies are written to their clients when it ends (io-scope.ts). */
  private read(s: net.Socket, chunk: Buffer): void {
    beginIo();
    try {
      this.onData(s, chunk);
    } finally {
      endIo();
    }
  }

  private onData(s: net.Socket, chunk: Buffer): void {
    if (this.socket !== s) return;
    this.lastActivity = ioWallClock();
    let buf: Buffer;
    if (this.rest === null) buf = chunk;
    else {
      if (this.need > 0 && this.rest.length + this.heldLen + chunk.length < this.need) {
        this.held.push(chunk);
        this.heldLen += chunk.length;
        return;
      }
      buf = Buffer.concat([this.rest, ...this.held, chunk]);
      this.rest = null;
      this.held = [];
      this.heldLen = 0;
      this.need = 0;
    }
    let pos = 0;
    const len = buf.length;
    while (pos < len) {
      let end: number;
      try {
        end = scanReply(buf, pos);
      } catch (e) {
        this.fail(s, (e as Error).message);
        return;
      }
      if (end < 0) {
        this.rest = buf.subarray(pos);
        this.need = replyNeed;
        return;
      }
      if (buf[pos] === 62 /* > push: not a reply */) {
        pos = end;
        continue;
      }
      const sink = this.sinks.shift(),
        tag = this.tags.shift()!; // pushed with every sink
      if (sink === undefined) {
        this.fail(s, 'reply without a request (stream out of sync)');
        return;
      }
      if (buf[pos] === 45 /* - */ && this.opts.onTrouble && buf.toString('latin1', pos, pos + 9) === '-READONLY')
        this.opts.onTrouble(this.addr, 'READONLY reply');
      replyRange(sink, buf, pos, end, tag);
      pos = end;
      if (this.socket !== s) return; // a sink's callback failed the connection
    }
  }

  /** Tears the connection down and answers every queued request with an error. */
  private fail(s: net.Socket, reason: string): void {
    if (this.socket !== s) return;
    this.socket = null;
    this.direct = null;
    s.destroy();
    if (this.state !== 'closed') this.state = 'down';
    this.lastError = reason;
    this.failures++;
    // The first failures retry at once; then exponential back-off from 50 ms to 5 s.
    const delay = this.failures <= 3 ? 0 : Math.min(5000, 50 * 2 ** Math.min(this.failures - 4, 7));
    this.retryAt = Date.now() + delay;
    const sinks = this.sinks.drain(),
      tags = this.tags.drain();
    for (let i = 0; i < this.outboxCount; i++) this.outbox.bufs[i] = undefined;
    this.outboxCount = 0;
    this.outboxBytes = 0;
    const err = errorReply(`ERR backend ${this.addr} connection lost: ${reason}`);
    for (let i = 0; i < sinks.length; i++) sinks[i]!.onReply(err, tags[i]!);
    if (this.state !== 'closed') this.opts.onTrouble?.(this.addr, reason);
  }

  /** Called about once a second by the pool: stalled replies and idle keepalive. */
  tick(now: number): void {
    const s = this.socket;
    if (s === null) return;
    if (this.inflight > 0 && this.opts.recvTimeout > 0 && now - this.lastActivity > this.opts.recvTimeout) {
      this.fail(s, `no reply for ${this.opts.recvTimeout} ms`);
    } else if (
      this.inflight === 0 &&
      this.opts.pingPeriod > 0 &&
      now - this.lastActivity > this.opts.pingPeriod &&
      this.state === 'connected'
    ) {
      this.writeWhole(PING, IGNORE);
    }
  }

  close(): void {
    const s = this.socket;
    this.state = 'closed';
    if (s) this.fail(s, 'connection closed by the proxy');
  }
}
