// The client side of one session (Twemproxy's nc_client): the socket, feeding the request parser,
// backpressure (stop reading, never disconnect, when too much is queued or the client reads its
// replies too slowly), holds (no later request is dispatched while an asynchronous step of an earlier
// one runs: migration key moves), batched reply writes (one write per connection per I/O callback),
// and how the connection ends: QUIT / protocol error / shutdown drain, the client's half-close (EOF:
// every complete request already received is still run and answered), or the socket closing.
import type net from 'node:net';
import { RequestParser, ProtocolError, type Request } from '../resp/request-parser.js';
import { errorReply } from '../resp/encode.js';
import type { ProxyConfig } from './config.js';
import type { ProxyStats } from './stats.js';
import { writeBatch, type Flushable, type OutputFlusher } from './output-flusher.js';
import { beginIo, endIo, ioWallClock } from './io-scope.js';
import type { IdleWatched } from './idle-sweeper.js';
import { readDirect } from './client-socket.js';
import { directWriter, type DirectWriter } from './direct-write.js';
import { newRanges, viewsOf, type Ranges } from './ranges.js';

/** Input bytes buffered while a keep-reading hold is active before reading pauses. */
const HELD_INPUT_MAX = 1024 * 1024;
/**
 * After the proxy half-closed a connection (QUIT, a protocol error, shutdown), how long it waits for
 * the client to close its side before closing anyway. Closing while the client is still sending
 * makes the kernel answer with a reset, and a reset can discard the last replies (the error saying
 * why) before the client has read them; meanwhile input is read and dropped.
 */
const LINGER_MS = 2000;

/** What the connection needs from its session. */
export interface ClientConnOwner {
  /** Dispatches one request (the session's dispatcher). */
  onRequest(req: Request): void;
  /** A reply known at once, queued in order (protocol errors). */
  onProtocolError(reply: Buffer): void;
  /** Requests dispatched and not yet answered. */
  readonly queued: number;
  /** The socket closed (either side): release everything. */
  onClosed(): void;
  /** The client half-closed its socket (optional: blocked calls end at once, as Redis frees such a client). */
  onEof?(): void;
}

export type PauseReason = '' | 'pipeline' | 'outbuf' | 'migrate';

export class ClientConnection implements Flushable, IdleWatched {
  private readonly parser: RequestParser;
  private paused: '' | 'pipeline' | 'outbuf' = '';
  /** Asynchronous steps holding later requests (see hold()). */
  private holds = 0;
  private closed = false;
  /** Ending: no more requests are read; the session ends once the queue is empty. */
  private quitting = false;
  private finished = false;
  /** Half-closed by the proxy, waiting for the client's side (finish). */
  private linger: NodeJS.Timeout | null = null;
  /** The client half-closed: nothing more will arrive (see the header). */
  private eof = false;
  /** The parse loop is running (it is not re-entered from a reply completed inside onRequest). */
  private parsing = false;
  /**
   * Replies ready to write, flushed together once the current I/O callback is done, as ranges of the
   * bytes they came in (no view per reply): the first in out1Buf[out1Start, out1End) (at pipeline 1
   * the only one), from the second on all of them in `more` (made on the first pipeline, then kept;
   * an idle connection that never pipelined has no arrays).
   */
  private out1Buf: Buffer | null = null;
  private out1Start = 0;
  private out1End = 0;
  private more: Ranges | null = null;
  private outCount = 0;
  /** Bytes in the replies of this turn. */
  private outBytes = 0;
  /** When the client last sent bytes (CLIENT LIST idle=). */
  lastActive = Date.now();
  /** When replies were last written to the client (idle sweep). */
  private lastWrite = 0;
  private readonly socket: net.Socket;
  /** Writes replies to the socket's handle (direct-write.ts); null: socket.write() (TLS, fakes). */
  private readonly writer: DirectWriter | null;

  constructor(
    accepted: net.Socket,
    private readonly owner: ClientConnOwner,
    private readonly config: ProxyConfig,
    private readonly stats: ProxyStats,
    private readonly flusher: OutputFlusher,
  ) {
    const c = config;
    // Plain TCP/unix clients are read without the Readable stream (client-socket.ts); TLS with 'data'.
    const direct = readDirect(accepted, accepted.allowHalfOpen, (buf, start, end) => this.onData(buf, start, end));
    const socket = direct ?? accepted;
    this.socket = socket;
    this.writer =
      direct === null
        ? null
        : directWriter(
            socket,
            () => this.maybeResume(),
            () => this.close(),
          );
    this.parser = new RequestParser({ maxBulkLen: c.maxBulkLen, maxArrayLen: c.maxArrayLen, maxInlineLen: c.maxInlineLen });
    socket.setNoDelay(true);
    if (c.sessionKeepalive > 0) socket.setKeepAlive(true, c.sessionKeepalive);
    // Idle timeout: a per-proxy sweep (idle-sweeper.ts), not a socket timer refreshed on every read and write.
    if (c.sessionRecvTimeout > 0) flusher.idle.add(this, c.sessionRecvTimeout);
    if (direct === null) socket.on('data', (chunk: Buffer) => this.onData(chunk, 0, chunk.length));
    if (this.writer === null) socket.on('drain', () => this.maybeResume());
    socket.on('end', () => this.onEof());
    socket.on('error', () => this.close());
    socket.on('close', () => this.close());
  }

  /** Why the proxy stopped reading from this client ('' = reading). */
  get pausedFor(): PauseReason {
    return this.holds > 0 ? 'migrate' : this.paused;
  }

  isClosed(): boolean {
    return this.closed;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.linger !== null) clearTimeout(this.linger);
    this.flusher.idle.delete(this);
    this.socket.destroy();
    this.owner.onClosed();
  }

  /** Ends the session after the replies queued so far have been written; later input is ignored. */
  drain(): void {
    if (this.quitting) return;
    this.quitting = true;
    if (this.paused !== '' && this.holds === 0) {
      this.paused = '';
      this.socket.resume();
    }
    if (this.owner.queued === 0) this.finish();
  }

  /**
   * Dispatches none of the later requests until `task` settles (an asynchronous step of the current
   * request, e.g. moving its keys out of a migrating slot), so replies and effects stay in order.
   * Holds nest: reading resumes when the last one settles.
   */
  hold(task: () => Promise<void>, keepReading = false): void {
    // keepReading (a blocking command): the socket keeps being read, so a client that goes away is
    // seen at once; input is only buffered (bounded: reading pauses past HELD_INPUT_MAX bytes).
    if (this.holds++ === 0 && this.paused === '' && !keepReading) this.socket.pause();
    void task()
      .catch(() => {
        /* the task answers its own request */
      })
      .then(() => {
        if (--this.holds > 0 || this.closed) return;
        this.drainParser();
        if (this.readable()) this.socket.resume();
      });
  }

  /** Queues buf[start, end) for this turn's write (a reply at the head of the queue, or an out-of-band frame). */
  write(buf: Buffer, start = 0, end = buf.length): void {
    const n = this.outCount++;
    this.outBytes += end - start;
    if (n === 0) {
      this.flusher.schedule(this);
      this.out1Buf = buf;
      this.out1Start = start;
      this.out1End = end;
      return;
    }
    const m = (this.more ??= newRanges());
    if (n === 1) {
      m.bufs[0] = this.out1Buf!; // hot path: set by the first write of the turn
      m.starts[0] = this.out1Start;
      m.ends[0] = this.out1End;
    }
    m.bufs[n] = buf;
    m.starts[n] = start;
    m.ends[n] = end;
  }

  /** Reply bytes not yet taken by the client's socket (including this turn's unwritten ones). */
  pendingOutput(): number {
    return this.unwritten() + this.outBytes;
  }

  /** Reply bytes handed to the socket that the kernel has not taken yet. */
  private unwritten(): number {
    return this.writer === null ? this.socket.writableLength : this.writer.pending;
  }

  /** After replies left the queue: finish a QUIT/EOF, or resume reading once below the limits. */
  afterReplies(): void {
    const queued = this.owner.queued;
    if (this.quitting) {
      if (queued === 0) this.finish();
      return;
    }
    if (this.paused !== '') this.maybeResume();
    else if (this.eof && queued === 0 && this.holds === 0) this.drainParser();
  }

  /** Writes the replies collected during this I/O callback in one go (one syscall per connection). */
  flushOut(): void {
    const n = this.outCount,
      bytes = this.outBytes,
      one = this.out1Buf,
      m = this.more;
    this.outCount = 0;
    this.outBytes = 0;
    this.out1Buf = null;
    if (n === 0 || one === null) return;
    try {
      if (this.closed) return;
      this.lastWrite = ioWallClock();
      const w = this.writer;
      if (n === 1) {
        if (w !== null) w.writeRange(one, this.out1Start, this.out1End);
        else this.socket.write(one.subarray(this.out1Start, this.out1End));
      } else if (m !== null) {
        if (w !== null) w.writeRanges(m, n, bytes);
        else writeBatch(this.socket, viewsOf(m, n), bytes);
      }
      if (this.unwritten() > this.config.sessionMaxOutbuf) this.pause('outbuf');
    } finally {
      // Hot path: m.bufs[0, n) are set when n > 1. After a deep pipeline, do not keep its slots.
      if (m !== null && n > 1) {
        if (n > 64) this.more = null;
        else for (let i = 0; i < n; i++) m.bufs[i] = undefined;
      }
    }
  }

  lastIo(): number {
    return this.lastActive > this.lastWrite ? this.lastActive : this.lastWrite;
  }

  /** Idle past session_recv_timeout: closed unless a request is still waiting for its reply. */
  onIdle(): void {
    if (this.owner.queued === 0) this.close();
  }

  private readable(): boolean {
    return this.paused === '' && this.holds === 0 && !this.quitting && !this.closed;
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.flushOut();
    // Half-close once the replies are written; close when the client closes too (see LINGER_MS).
    this.socket.end(() => {
      if (this.eof || this.closed) this.close();
      else {
        this.linger = setTimeout(() => this.close(), LINGER_MS);
        this.linger.unref();
      }
    });
  }

  /** The client will send nothing more (the listener allows half-open sockets). */
  private onEof(): void {
    this.eof = true;
    this.owner.onEof?.();
    if (this.closed) return;
    if (this.linger !== null) return this.close(); // both sides are done
    if (this.readable()) this.drainParser();
  }

  /** Bytes received: buf[start, end) (a range of a slab shared with other reads, never changed afterwards). */
  private onData(buf: Buffer, start: number, end: number): void {
    beginIo();
    try {
      this.read(buf, start, end);
    } finally {
      endIo();
    }
  }

  private read(buf: Buffer, start: number, end: number): void {
    this.stats.netInputBytes += end - start;
    if (this.quitting) return;
    this.lastActive = ioWallClock();
    this.parser.feed(buf, start, end);
    if (this.holds > 0 && this.parser.buffered > HELD_INPUT_MAX) this.socket.pause();
    this.drainParser();
    // What is left is a partial request (or requests held back while paused): bounded per client.
    if (this.parser.buffered > this.config.maxQueryBuf && !this.quitting) {
      this.stats.queryBufferOverflows++;
      this.owner.onProtocolError(
        errorReply(
          `ERR Protocol error: client query buffer over session_max_querybuf (${this.config.maxQueryBuf} bytes), closing the connection`,
        ),
      );
      this.drain();
    }
  }

  private drainParser(): void {
    if (this.parsing) return;
    this.parsing = true;
    try {
      this.parseLoop();
    } finally {
      this.parsing = false;
    }
  }

  private parseLoop(): void {
    const max = this.config.sessionMaxPipeline,
      maxOut = this.config.sessionMaxOutbuf;
    while (this.readable()) {
      let req: Request | null;
      try {
        req = this.parser.next();
      } catch (e) {
        if (!(e instanceof ProtocolError)) throw e;
        this.stats.protocolErrors++;
        this.owner.onProtocolError(errorReply(`ERR ${e.message}`));
        this.drain();
        return;
      }
      if (req === null) {
        // After EOF, the last complete request has been read: end once its reply is written.
        if (this.eof && this.owner.queued === 0) this.finish();
        return;
      }
      this.owner.onRequest(req);
      if (this.owner.queued >= max) this.pause('pipeline');
      else if (this.unwritten() > maxOut) this.pause('outbuf');
    }
    // Stopped (paused, a request held, quitting): keep no more of the chunk than it takes.
    this.parser.settle();
  }

  private pause(why: 'pipeline' | 'outbuf'): void {
    // Already paused at the pipeline limit: a full output buffer is now the reason that matters (CLIENT LIST, stats).
    if (this.paused === 'pipeline' && why === 'outbuf') {
      this.paused = why;
      return;
    }
    if (this.paused !== '') return;
    this.paused = why;
    if (this.holds === 0) this.socket.pause();
  }

  private maybeResume(): void {
    if (this.paused === '' || this.closed || this.quitting) return;
    if (this.owner.queued > this.config.sessionMaxPipeline / 2) return;
    if (this.unwritten() > this.config.sessionMaxOutbuf / 2) return;
    this.paused = '';
    if (this.holds > 0) return;
    this.drainParser();
    if (this.readable()) this.socket.resume();
  }
}
