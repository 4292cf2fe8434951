// Reading client sockets without Node's Readable stream. A socket accepted by net.Server reads through
// the stream layer: per read, Node allocates an ArrayBuffer, wraps it in a Buffer, pushes it through
// Readable (addChunk, 'data' emit, a maybeReadMore tick). At pipeline 1 that is paid once per request.
// `readDirect` moves the accepted connection's handle onto a new net.Socket built with `onread`
// (as backend sockets are): the kernel reads into ONE buffer shared by every client socket of the
// process, and each read's bytes are copied once into a transient slab (slab.ts) and handed to
// `onChunk` as a range of it (no Buffer object per read).
// Sharing the buffer is safe because the callback runs synchronously for each read and copies before
// it returns. EOF, errors, pause()/resume() (backpressure: readStop/readStart), writes, half-close and
// destroy stay net.Socket's own. Node's public API only takes `onread` in the Socket constructor, so
// the move uses the undocumented `handle` constructor option and `_handle` (what node:cluster and
// child_process use); when the socket is not a plain net.Socket with such a handle (TLS, test fakes,
// a future Node without them), `readDirect` returns null and the caller reads with 'data' events.
import net from 'node:net';
import { copyBytes } from '../resp/copy-bytes.js';
import { reserveTransient, reservedAt } from '../resp/slab.js';

/** Size of the shared read buffer: Node's own read size for stream sockets. */
const READ_BUFFER = 64 * 1024;
let shared: Buffer | null = null;

interface StreamHandle {
  readStart(): number;
  readStop(): number;
  useUserBuffer(buf: Uint8Array): void;
}

/** net.Socket's private fields this module reads or moves. */
interface SocketInternals {
  _handle: StreamHandle | null;
  _server: net.Server | null;
  server?: net.Server | null;
}

type HandleSocketOptions = net.SocketConstructorOpts & { handle: StreamHandle; onread: net.OnReadOpts };

/** Whether readDirect is in use (false once a socket could not be moved: shown by tests and stats). */
export const directReads = { adopted: 0, fallback: 0 };

/**
 * Moves the accepted `socket`'s connection to a new net.Socket that reads into the shared buffer and
 * passes a copy of each read to `onChunk`, as buf[start, end) (never changed afterwards). Returns the
 * new socket (the old object must not be used again), or null when `socket` cannot be moved (the
 * caller then keeps it and listens for 'data').
 * Call it synchronously in the 'connection' callback, before anything reads from the socket.
 */
export function readDirect(
  socket: net.Socket,
  allowHalfOpen: boolean,
  onChunk: (buf: Buffer, start: number, end: number) => void,
): net.Socket | null {
  const old = socket as unknown as SocketInternals;
  const handle = old._handle;
  if (
    Object.getPrototypeOf(socket) !== net.Socket.prototype ||
    handle === null ||
    typeof handle !== 'object' ||
    typeof handle.useUserBuffer !== 'function' ||
    typeof handle.readStart !== 'function' ||
    socket.destroyed ||
    socket.connecting ||
    socket.readableLength !== 0 ||
    socket.writableLength !== 0
  ) {
    directReads.fallback++;
    return null;
  }
  shared ??= Buffer.allocUnsafe(READ_BUFFER);
  const options: HandleSocketOptions = {
    handle,
    allowHalfOpen,
    onread: {
      buffer: shared,
      callback: (n: number, buf: Uint8Array): boolean => {
        // The buffer is reused by the next read of any client: copy out once (the parser and queued
        // requests keep the bytes). Into a 64 KiB slab rather than Node's 8 KiB pool: 8 times fewer
        // ArrayBuffers for each scavenge to sweep. Whatever holds a request for long copies what it
        // keeps (the apps copy `raw`; the parser copies what it keeps while a connection is paused).
        const slab = reserveTransient(n),
          at = reservedAt;
        copyBytes(buf, 0, n, slab, at);
        onChunk(slab, at, at + n);
        return true;
      },
    },
  };
  const fresh = new net.Socket(options);
  // The server counts its connections on the socket object (server.close() waits for them): move it.
  const moved = fresh as unknown as SocketInternals;
  moved._server = old._server;
  moved.server = old.server ?? null;
  old._server = null;
  old._handle = null;
  socket.removeAllListeners();
  directReads.adopted++;
  return fresh;
}
