// Writing to plain sockets without Node's Writable stream. socket.write() pays, per call and whatever
// the size: the Writable state machine, a new WriteWrap with its fields, and (also when the kernel took
// every byte at once) an after-write callback through process.nextTick. At pipeline 1 that is one call
// per request and the largest Node cost left on the request path (bench/reports/proxy-speed-*.md).
// `directWriter` hands buffers straight to the socket's libuv handle (`writeBuffer`, the call
// net.Socket makes itself): libuv tries the write at once; only what the kernel did not take is queued
// by libuv, in order, and reported back through the request's `oncomplete`. Backpressure is libuv's
// own queue size; `onDrain` fires when it empties. A request object is reused while writes complete
// synchronously (the usual case) and replaced when libuv keeps it; so is the buffer a batch of small
// writes is copied into before its one write. end() (half-close after the queued writes: uv_shutdown
// runs after them), destroy(), reads and errors stay net.Socket's own.
// It needs `_handle` and the WriteWrap class of Node's stream binding (what net.Socket uses); when
// either is missing (TLS sockets, test fakes, a future Node without them) `directWriter` returns null
// and the caller keeps socket.write().
import type net from 'node:net';
import { COALESCE_MAX } from './output-flusher.js';
import { copyBytes } from '../resp/copy-bytes.js';
import { viewsOf, type Ranges } from './ranges.js';

/** The request object libuv writes carry (Node's WriteWrap). */
interface WriteReq {
  handle: WriteHandle;
  oncomplete: (status: number) => void;
  async: boolean;
  /** Keeps the bytes alive while libuv holds them. */
  buffer: Buffer | readonly Buffer[] | null;
}

interface WriteHandle {
  writeBuffer(req: WriteReq, data: Buffer): number;
  writev(req: WriteReq, chunks: readonly Buffer[], allBuffers: true): number;
  readonly writeQueueSize: number;
}

interface StreamBinding {
  WriteWrap: new () => WriteReq;
  streamBaseState: Int32Array;
  kLastWriteWasAsync: number;
}

function loadBinding(): StreamBinding | null {
  try {
    const get = (process as unknown as { binding?: (name: string) => unknown }).binding;
    if (typeof get !== 'function') return null;
    const b = get.call(process, 'stream_wrap') as Partial<StreamBinding> | null;
    if (
      b === null ||
      typeof b.WriteWrap !== 'function' ||
      !(b.streamBaseState instanceof Int32Array) ||
      typeof b.kLastWriteWasAsync !== 'number'
    )
      return null;
    return b as StreamBinding;
  } catch {
    return null;
  }
}

let binding: StreamBinding | null | undefined;

/**
 * Where a batch of small buffers is copied before its one write, shared by every writer (writes are
 * synchronous calls). A fresh Buffer.concat per batch was one ArrayBuffer per batch of 4 KiB or more,
 * each swept by the next scavenge. Dropped (left to the write that holds it) when libuv queues it.
 */
let coalesced: Buffer | null = null;

/** Writes of up to this many bytes out of `coalesced` use a view kept for their length. */
const VIEW_CACHE_MAX = 1024;
/** views[n] is coalesced.subarray(0, n) (made on first use; emptied with `coalesced`). */
let views: Array<Buffer | undefined> = [];

/** coalesced[0, n) as a buffer: one view per length, not one per write (each is ~100 B of heap). */
function coalescedView(area: Buffer, n: number): Buffer {
  if (n > VIEW_CACHE_MAX) return area.subarray(0, n);
  if (views.length === 0) views = new Array<Buffer | undefined>(VIEW_CACHE_MAX + 1);
  return (views[n] ??= area.subarray(0, n));
}

/** The shared area stays with a write libuv queued: later batches get a new one (and new views). */
function dropCoalesced(): void {
  coalesced = null;
  views = [];
}

/** Writes to one socket's handle; see the header. */
export class DirectWriter {
  private spare: WriteReq | null = null;
  /** Writes libuv still holds (completed asynchronously). */
  private inFlight = 0;
  private failed = false;

  constructor(
    private readonly b: StreamBinding,
    private readonly handle: WriteHandle,
    private readonly onDrain: () => void,
    private readonly onError: () => void,
  ) {}

  /** Bytes libuv has queued and the kernel has not taken yet. */
  get pending(): number {
    return this.inFlight === 0 ? 0 : this.handle.writeQueueSize;
  }

  write(data: Buffer): void {
    if (this.failed) return;
    const req = this.request();
    this.after(req, this.handle.writeBuffer(req, data), data);
  }

  /** Writes buf[start, end): copied into the shared area when small (no view made for it). */
  writeRange(buf: Buffer, start: number, end: number): void {
    if (this.failed) return;
    if (end - start > COALESCE_MAX) return this.write(buf.subarray(start, end));
    const area = (coalesced ??= Buffer.allocUnsafeSlow(COALESCE_MAX));
    this.writeCoalesced(area, copyBytes(buf, start, end, area, 0));
  }

  /**
   * Writes the first `count` ranges of `r` (`bytes` long in all): small batches are copied into the
   * shared area and written once (no view per range), bigger ones go out as one writev.
   */
  writeRanges(r: Ranges, count: number, bytes: number): void {
    if (this.failed) return;
    if (bytes > COALESCE_MAX) {
      // An array of its own: libuv keeps it until written, and `r` is reused by its owner at once.
      const own = viewsOf(r, count);
      if (count === 1) return this.write(own[0]!);
      const req = this.request();
      return this.after(req, this.handle.writev(req, own, true), own);
    }
    const bufs = r.bufs,
      starts = r.starts,
      ends = r.ends;
    const area = (coalesced ??= Buffer.allocUnsafeSlow(COALESCE_MAX));
    let p = 0;
    for (let i = 0; i < count; i++) p += copyBytes(bufs[i]!, starts[i]!, ends[i]!, area, p); // hot path: i < count
    this.writeCoalesced(area, p);
  }

  private writeCoalesced(area: Buffer, n: number): void {
    const req = this.request();
    const data = coalescedView(area, n);
    const err = this.handle.writeBuffer(req, data);
    // libuv keeps the area until an asynchronous write completes: later batches need a new one.
    if (err === 0 && this.b.streamBaseState[this.b.kLastWriteWasAsync] !== 0) dropCoalesced();
    this.after(req, err, data);
  }

  private request(): WriteReq {
    let req = this.spare;
    if (req === null) {
      req = new this.b.WriteWrap();
      req.handle = this.handle;
      req.oncomplete = this.completed;
      req.async = false;
      req.buffer = null;
      this.spare = req;
    }
    return req;
  }

  private after(req: WriteReq, err: number, data: Buffer | readonly Buffer[]): void {
    if (err !== 0) return this.fail();
    if (this.b.streamBaseState[this.b.kLastWriteWasAsync] !== 0) {
      // libuv keeps this request until the rest is written: the next write needs another.
      req.async = true;
      req.buffer = data;
      this.spare = null;
      this.inFlight++;
    }
  }

  private readonly completed = (status: number): void => {
    this.inFlight--;
    if (status < 0) return this.fail();
    if (this.inFlight === 0 && !this.failed) this.onDrain();
  };

  private fail(): void {
    if (this.failed) return;
    this.failed = true;
    this.onError();
  }
}

/**
 * A writer for `socket`'s handle, or null when the socket cannot be written directly (then use
 * socket.write()). Nothing may be written through socket.write() afterwards, only end() and destroy().
 */
export function directWriter(socket: net.Socket, onDrain: () => void, onError: () => void): DirectWriter | null {
  binding ??= loadBinding();
  const handle = (socket as unknown as { _handle?: Partial<WriteHandle> | null })._handle;
  if (binding === null || handle === null || handle === undefined || typeof handle.writeBuffer !== 'function') return null;
  // Only libuv's own stream handles: a TLS socket's handle (TLSWrap) also has writeBuffer.
  const kind = (handle as { constructor?: { name?: string } }).constructor?.name;
  if (kind !== 'TCP' && kind !== 'Pipe') return null;
  if (socket.writableLength !== 0 || socket.destroyed) return null;
  return new DirectWriter(binding, handle as WriteHandle, onDrain, onError);
}
