// directWriter (src/proxy/direct-write.ts), over real loopback sockets: bytes arrive complete and in
// order whether libuv writes them at once or queues them (a reader that stops reading), the queue is
// reported as pending and its end as a drain, big batches go out as one ordered writev, a peer that
// resets the connection is reported once as an error (later writes are dropped, nothing throws), and
// sockets it cannot drive (TLS, a socket with Node-queued writes) get null so the caller keeps write().
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import { directWriter, type DirectWriter } from '../../src/proxy/direct-write.js';
import { COALESCE_MAX } from '../../src/proxy/output-flusher.js';
import { withDeadline } from '../helpers/poll.js';

const cleanups: Array<() => void> = [];
after(() => {
  for (const c of cleanups) c();
});

interface Pair {
  /** The server side, written with the DirectWriter. */
  writer: DirectWriter;
  served: net.Socket;
  /** The client side, which reads (or not). */
  client: net.Socket;
  drains: number;
  errors: number;
  received: Buffer[];
  /** Resolves once `n` bytes have arrived in all. */
  bytes(n: number): Promise<Buffer>;
}

async function pair(): Promise<Pair> {
  const server = net.createServer();
  await withDeadline('listen', new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r())), 5000);
  const accepted = new Promise<net.Socket>((r) => server.once('connection', r));
  const client = net.connect({ port: (server.address() as net.AddressInfo).port, host: '127.0.0.1' });
  const served = await withDeadline('accept', accepted, 5000);
  served.on('error', () => {
    /* reported through onError */
  });
  client.on('error', () => {
    /* the reset test */
  });
  cleanups.push(() => {
    client.destroy();
    served.destroy();
    server.close();
  });
  const p: Pair = {
    writer: null as unknown as DirectWriter,
    served,
    client,
    drains: 0,
    errors: 0,
    received: [],
    bytes: async (n) => {
      const total = (): number => p.received.reduce((s, c) => s + c.length, 0);
      await withDeadline(
        `${n} bytes`,
        new Promise<void>((resolve) => {
          const check = (): void => {
            if (total() >= n) resolve();
            else setTimeout(check, 5);
          };
          check();
        }),
        20000,
      );
      return Buffer.concat(p.received);
    },
  };
  client.on('data', (c: Buffer) => p.received.push(c));
  const w = directWriter(
    served,
    () => p.drains++,
    () => p.errors++,
  );
  assert.ok(w !== null, 'a plain accepted socket is written directly');
  p.writer = w;
  return p;
}

/** `n` bytes of a counting pattern starting at `from` (so order and completeness are checked). */
/** Writes whole buffers as one batch of ranges. */
function batch(w: DirectWriter, bufs: Buffer[], bytes: number): void {
  w.writeRanges({ bufs, starts: bufs.map(() => 0), ends: bufs.map((b) => b.length) }, bufs.length, bytes);
}

function pattern(from: number, n: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (from + i) % 251;
  return b;
}

test('small writes arrive complete and in order, with nothing left pending', async () => {
  const p = await pair();
  let off = 0;
  for (let i = 0; i < 200; i++) {
    p.writer.write(pattern(off, 37));
    off += 37;
  }
  assert.equal(p.writer.pending, 0, 'the kernel took every small write at once');
  assert.deepEqual(await p.bytes(off), pattern(0, off));
  assert.equal(p.errors, 0);
});

test('a reader that stops reading: writes queue in libuv (pending), then all arrive in order and drain fires', async () => {
  const p = await pair();
  p.client.pause();
  const chunk = 1024 * 1024;
  let off = 0;
  for (let i = 0; i < 24; i++) {
    p.writer.write(pattern(off, chunk));
    off += chunk;
  }
  assert.ok(p.writer.pending > 0, 'the kernel buffers are full: libuv holds the rest');
  assert.ok(p.writer.pending <= off);
  assert.equal(p.drains, 0, 'no drain while bytes are queued');
  // Also a batch while queued, through writev.
  const parts = [pattern(off, 70_000), pattern(off + 70_000, 5), pattern(off + 70_005, 90_000)];
  batch(p.writer, parts, 160_005);
  off += 160_005;
  p.client.resume();
  assert.deepEqual(await p.bytes(off), pattern(0, off));
  await withDeadline(
    'drain',
    new Promise<void>((r) => {
      const check = (): void => {
        if (p.drains > 0) r();
        else setTimeout(check, 5);
      };
      check();
    }),
    10000,
  );
  assert.equal(p.writer.pending, 0);
  assert.equal(p.errors, 0);
});

test('batches of whole buffers: small ones are coalesced, big ones keep their order', async () => {
  const p = await pair();
  const small = [pattern(0, 10), pattern(10, 20), pattern(30, 5)];
  batch(p.writer, small, 35);
  const bigParts: Buffer[] = [];
  let off = 35;
  while (off < 35 + COALESCE_MAX * 3) {
    bigParts.push(pattern(off, 1000));
    off += 1000;
  }
  batch(p.writer, bigParts, off - 35);
  batch(p.writer, [pattern(off, 3)], 3);
  off += 3;
  assert.deepEqual(await p.bytes(off), pattern(0, off));
});

test('a peer that resets the connection: one error, later writes dropped, nothing throws', async () => {
  const p = await pair();
  p.client.pause();
  for (let i = 0; i < 8; i++) p.writer.write(pattern(0, 1024 * 1024));
  assert.ok(p.writer.pending > 0);
  p.client.resetAndDestroy();
  await withDeadline(
    'the error',
    new Promise<void>((r) => {
      const check = (): void => {
        if (p.errors > 0) r();
        else {
          p.writer.write(pattern(0, 64 * 1024)); // writes after the reset: an EPIPE/ECONNRESET, or dropped
          setTimeout(check, 5);
        }
      };
      check();
    }),
    10000,
  );
  p.writer.write(pattern(0, 10));
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(p.errors, 1, 'reported once');
});

test('sockets it cannot drive get null: TLS, and a socket with writes queued by Node', async () => {
  const p = await pair();
  p.client.pause();
  // Fill the kernel through Node's own write(): Node queues the rest.
  const other = await pair();
  other.client.pause();
  let queued = false;
  for (let i = 0; i < 64 && !queued; i++) queued = !other.served.write(Buffer.alloc(1024 * 1024));
  assert.ok(other.served.writableLength > 0);
  assert.equal(
    directWriter(
      other.served,
      () => 0,
      () => 0,
    ),
    null,
  );
  const t = new tls.TLSSocket(new net.Socket());
  assert.equal(
    directWriter(
      t,
      () => 0,
      () => 0,
    ),
    null,
    'a TLS socket',
  );
  t.destroy();
});

test('writeRange / writeRanges: ranges of larger buffers arrive exactly, also while libuv holds earlier writes (no reused view of a queued area)', async () => {
  const p = await pair();
  // A reply range inside a bigger read, as the reply queue hands them over.
  const ranges = (from: number, lens: number[]): { bufs: Buffer[]; starts: number[]; ends: number[]; bytes: number } => {
    const bufs: Buffer[] = [],
      starts: number[] = [],
      ends: number[] = [];
    let o = from;
    for (const n of lens) {
      const host = Buffer.concat([Buffer.from('xx'), pattern(o, n), Buffer.from('yyy')]);
      bufs.push(host);
      starts.push(2);
      ends.push(2 + n);
      o += n;
    }
    return { bufs, starts, ends, bytes: o - from };
  };
  let off = 0;
  const send = (lens: number[]): void => {
    const r = ranges(off, lens);
    if (r.bufs.length === 1) p.writer.writeRange(r.bufs[0]!, r.starts[0]!, r.ends[0]!);
    else p.writer.writeRanges(r, r.bufs.length, r.bytes);
    off += r.bytes;
  };
  for (let i = 0; i < 50; i++) send([5]); // the same length each time: one cached view
  send([9, 100, 7]);
  assert.equal(p.writer.pending, 0);
  // Fill the kernel's buffers, then small writes of the same lengths are queued by libuv one by one.
  p.client.pause();
  for (let i = 0; i < 24; i++) {
    p.writer.write(pattern(off, 1024 * 1024));
    off += 1024 * 1024;
  }
  assert.ok(p.writer.pending > 0);
  for (let i = 0; i < 20; i++) send([5]);
  send([COALESCE_MAX, 10]); // over the coalescing size: views of their own, one writev
  send([COALESCE_MAX + 1]);
  for (let i = 0; i < 5; i++) send([5, 9]);
  p.client.resume();
  assert.deepEqual(await p.bytes(off), pattern(0, off));
  assert.equal(p.errors, 0);
});
