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
import type { Flushable, OutputFlusher } from './output-flusher.js';

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
}

export type PauseReason = '' | 'pipeline' | 'outbuf' | 'migrate';

export class ClientConnection implements Flushable {
  private readonly parser: RequestParser;
  private paused: '' | 'pipeline' | 'outbuf' = '';
  /** Asynchronous steps holding later requests (see hold()). */
  private holds = 0;
  private closed = false;
  /** Ending: no more requests are read; the session ends once the queue is empty. */
  private quitting = false;
  private finished = false;
  /** The client half-closed: nothing more will arrive (see the header). */
  private eof = false;
  /** The parse loop is running (it is not re-entered from a reply completed inside onRequest). */
  private parsing = false;
  /** Replies ready to write, flushed together once the current I/O callback is done. */
  private out: Buffer[] = [];
  /** When the client last sent bytes (CLIENT LIST idle=). */
  lastActive = Date.now();

  constructor(
    private readonly socket: net.Socket,
    private readonly owner: ClientConnOwner,
    private readonly config: ProxyConfig,
    private readonly stats: ProxyStats,
    private readonly flusher: OutputFlusher,
  ) {
    const c = config;
    this.parser = new RequestParser({ maxBulkLen: c.maxBulkLen, maxArrayLen: c.maxArrayLen, maxInlineLen: c.maxInlineLen });
    socket.setNoDelay(true);
    if (c.sessionKeepalive > 0) socket.setKeepAlive(true, c.sessionKeepalive);
    if (c.sessionRecvTimeout > 0) socket.setTimeout(c.sessionRecvTimeout, () => { if (this.owner.queued === 0) this.close(); });
    socket.on('data', (chunk) => this.onData(chunk));
    socket.on('drain', () => this.maybeResume());
    socket.on('end', () => this.onEof());
    socket.on('error', () => this.close());
    socket.on('close', () => this.close());
  }

  /** Why the proxy stopped reading from this client ('' = reading). */
  get pausedFor(): PauseReason { return this.holds > 0 ? 'migrate' : this.paused; }

  isClosed(): boolean { return this.closed; }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.destroy();
    this.owner.onClosed();
  }

  /** Ends the session after the replies queued so far have been written; later input is ignored. */
  drain(): void {
    if (this.quitting) return;
    this.quitting = true;
    if (this.paused !== '' && this.holds === 0) { this.paused = ''; this.socket.resume(); }
    if (this.owner.queued === 0) this.finish();
  }

  /**
   * Dispatches none of the later requests until `task` settles (an asynchronous step of the current
   * request, e.g. moving its keys out of a migrating slot), so replies and effects stay in order.
   * Holds nest: reading resumes when the last one settles.
   */
  hold(task: () => Promise<void>): void {
    if (this.holds++ === 0 && this.paused === '') this.socket.pause();
    void task().catch(() => { /* the task answers its own request */ }).then(() => {
      if (--this.holds > 0 || this.closed) return;
      this.drainParser();
      if (this.readable()) this.socket.resume();
    });
  }

  /** Queues a reply for this turn's write (a reply at the head of the queue, or an out-of-band frame). */
  write(r: Buffer): void {
    if (this.out.length === 0) this.flusher.schedule(this);
    this.out.push(r);
  }

  /** Reply bytes not yet taken by the client's socket (including this turn's unwritten ones). */
  pendingOutput(): number {
    let n = this.socket.writableLength;
    for (const b of this.out) n += b.length;
    return n;
  }

  /** After replies left the queue: finish a QUIT/EOF, or resume reading once below the limits. */
  afterReplies(): void {
    const queued = this.owner.queued;
    if (this.quitting) { if (queued === 0) this.finish(); return; }
    if (this.paused !== '') this.maybeResume();
    else if (this.eof && queued === 0 && this.holds === 0) this.drainParser();
  }

  /** Writes the replies collected during this I/O callback in one go (one syscall per connection). */
  flushOut(): void {
    const out = this.out;
    this.out = [];
    if (this.closed || out.length === 0) return;
    if (out.length === 1) this.socket.write(out[0]!);
    else {
      this.socket.cork();
      for (const b of out) this.socket.write(b);
      this.socket.uncork();
    }
    if (this.socket.writableLength > this.config.sessionMaxOutbuf) this.pause('outbuf');
  }

  private readable(): boolean { return this.paused === '' && this.holds === 0 && !this.quitting && !this.closed; }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.flushOut();
    this.socket.end(() => this.close());
  }

  /** The client will send nothing more (the listener allows half-open sockets). */
  private onEof(): void {
    this.eof = true;
    if (this.readable()) this.drainParser();
  }

  private onData(chunk: Buffer): void {
    this.stats.netInputBytes += chunk.length;
    if (this.quitting) return;
    this.lastActive = Date.now();
    this.parser.feed(chunk);
    this.drainParser();
    // What is left is a partial request (or requests held back while paused): bounded per client.
    if (this.parser.buffered > this.config.maxQueryBuf && !this.quitting) {
      this.stats.queryBufferOverflows++;
      this.owner.onProtocolError(errorReply(`ERR Protocol error: client query buffer over session_max_querybuf (${this.config.maxQueryBuf} bytes), closing the connection`));
      this.drain();
    }
  }

  private drainParser(): void {
    if (this.parsing) return;
    this.parsing = true;
    try { this.parseLoop(); } finally { this.parsing = false; }
  }

  private parseLoop(): void {
    const max = this.config.sessionMaxPipeline, maxOut = this.config.sessionMaxOutbuf;
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
      else if (this.socket.writableLength > maxOut) this.pause('outbuf');
    }
  }

  private pause(why: 'pipeline' | 'outbuf'): void {
    if (this.paused !== '') return;
    this.paused = why;
    if (this.holds === 0) this.socket.pause();
  }

  private maybeResume(): void {
    if (this.paused === '' || this.closed || this.quitting) return;
    if (this.owner.queued > this.config.sessionMaxPipeline / 2) return;
    if (this.socket.writableLength > this.config.sessionMaxOutbuf / 2) return;
    this.paused = '';
    if (this.holds > 0) return;
    this.drainParser();
    if (this.readable()) this.socket.resume();
  }
}
