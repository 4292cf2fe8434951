// readDirect (src/proxy/client-socket.ts): an accepted socket moved onto a net.Socket that reads with
// `onread` into one shared buffer must still deliver every byte (as copies), see the client's
// half-close, stop reading when paused, let the server close, and be what the proxy uses.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { EventEmitter } from 'node:events';
import { readDirect, directReads } from '../../src/proxy/client-socket.js';
import { ProxyServer } from '../../src/proxy/proxy.js';
import { defaultProxyConfig } from '../../src/proxy/config.js';
import { evenSlots } from '../../src/models/layout.js';
import { withDeadline } from '../helpers/poll.js';
import { SLAB_SIZE } from '../../src/resp/slab.js';

const cleanups: Array<() => void> = [];
after(() => {
  for (const c of cleanups) c();
});

interface Pair {
  server: net.Server;
  client: net.Socket;
  /** The moved server-side socket. */
  direct: net.Socket;
  chunks: Buffer[];
  /** Resolves once `n` bytes have arrived in all. */
  bytes(n: number): Promise<void>;
}

async function pair(): Promise<Pair> {
  const chunks: Buffer[] = [];
  let waiters: Array<() => void> = [];
  const total = (): number => chunks.reduce((s, c) => s + c.length, 0);
  let direct: net.Socket | null = null;
  const server = net.createServer({ allowHalfOpen: true });
  const accepted = new Promise<net.Socket>((resolve, reject) => {
    server.once('connection', (s) => {
      const d = readDirect(s, true, (buf, start, end) => {
        chunks.push(buf.subarray(start, end));
        const w = waiters;
        waiters = [];
        for (const f of w) f();
      });
      if (d === null) reject(new Error('readDirect refused a plain accepted socket'));
      else resolve((direct = d));
    });
  });
  await withDeadline('listen', new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r())), 5000);
  const port = (server.address() as net.AddressInfo).port;
  const client = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  cleanups.push(() => {
    client.destroy();
    direct?.destroy();
    server.close();
  });
  await withDeadline('accept', accepted, 5000);
  return {
    server,
    client,
    direct: direct!,
    chunks,
    bytes: (n) =>
      withDeadline(
        `${n} bytes`,
        new Promise<void>((resolve) => {
          const check = (): void => {
            if (total() >= n) resolve();
            else waiters.push(check);
          };
          check();
        }),
        5000,
      ),
  };
}

test('readDirect: every byte arrives, each read as its own copy (the shared buffer is reused)', async () => {
  const p = await pair();
  p.client.write('first-read');
  await p.bytes(10);
  const first = p.chunks[0]!;
  p.client.write(Buffer.alloc(70_000, 'x')); // more than the shared buffer: several reads
  await p.bytes(70_010);
  assert.equal(first.toString(), 'first-read', 'a later read did not overwrite an earlier chunk');
  // Small reads are copied into the request path's 64 KiB slabs (one ArrayBuffer for many reads).
  assert.equal(first.buffer.byteLength, SLAB_SIZE, 'a small read lies in a transient slab, not in Node pool');
  assert.equal(Buffer.concat(p.chunks).toString(), 'first-read' + 'x'.repeat(70_000));
  assert.ok(directReads.adopted >= 1);
});

test('readDirect: the client half-close is seen as end, and replies can still be written after it', async () => {
  const p = await pair();
  const ended = new Promise<void>((r) => p.direct.once('end', () => r()));
  p.client.end('PING');
  await withDeadline('end on the moved socket', ended, 5000);
  await p.bytes(4);
  const got = new Promise<string>((r) => {
    let s = '';
    p.client.on('data', (d: Buffer) => (s += d.toString()));
    p.client.once('end', () => r(s));
  });
  p.direct.end('+PONG\r\n');
  assert.equal(await withDeadline('reply after half-close', got, 5000), '+PONG\r\n');
});

test('readDirect: pause() stops reading (backpressure), resume() reads again', async () => {
  const p = await pair();
  p.client.write('a');
  await p.bytes(1);
  p.direct.pause();
  p.client.write('b');
  await new Promise((r) => setTimeout(r, 150));
  assert.equal(p.chunks.length, 1, 'nothing read while paused');
  p.direct.resume();
  await p.bytes(2);
  assert.equal(Buffer.concat(p.chunks).toString(), 'ab');
});

test('readDirect: server.close() completes once the moved socket is destroyed (connection count moved)', async () => {
  const p = await pair();
  const closed = new Promise<void>((r) => p.server.close(() => r()));
  let done = false;
  void closed.then(() => (done = true));
  await new Promise((r) => setTimeout(r, 50));
  assert.equal(done, false, 'the open connection keeps the server open');
  p.direct.destroy();
  await withDeadline('server close', closed, 5000);
});

test('readDirect: anything but a plain accepted net.Socket is left alone (TLS, wrappers)', () => {
  const fake = new EventEmitter() as unknown as net.Socket;
  const before = directReads.fallback;
  assert.equal(
    readDirect(fake, true, () => {}),
    null,
  );
  assert.equal(directReads.fallback, before + 1);
});

test('the proxy reads its plain TCP clients through readDirect', async () => {
  const proxy = new ProxyServer({ ...defaultProxyConfig(), proxyAddr: '127.0.0.1:0' });
  cleanups.push(() => void proxy.shutdown());
  const port = await withDeadline('proxy listen', proxy.listen(), 5000);
  proxy.fillSlots(evenSlots([{ id: 1, addr: '127.0.0.1:1' }])); // online; PING is answered by the proxy itself
  const before = directReads.adopted;
  const c = net.connect(port, '127.0.0.1');
  cleanups.push(() => c.destroy());
  const reply = new Promise<string>((r) => c.once('data', (d: Buffer) => r(d.toString())));
  c.write('*1\r\n$4\r\nPING\r\n');
  assert.equal(await withDeadline('PONG', reply, 5000), '+PONG\r\n');
  assert.equal(directReads.adopted, before + 1);
  c.destroy();
  await withDeadline('proxy shutdown', proxy.shutdown(), 10000);
});
