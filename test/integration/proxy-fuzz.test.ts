// Hostile input, bounded: mutated and random RESP frames from many short-lived connections must never
// crash the proxy or wedge it; every connection either gets replies or a protocol error and a close.
// Expected duration: about 10 s on a quiet 2-core machine.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestCluster, type TestCluster } from '../helpers/proxy-cluster.js';
import { eventually, withDeadline } from '../helpers/poll.js';
import { RawClient } from '../helpers/raw-client.js';
import { encodeCommand } from '../../src/resp/encode.js';

let c: TestCluster;
after(async () => {
  await c?.stop();
});

/** xorshift32: a seeded PRNG so a failure can be replayed. */
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x / 0x100000000;
  };
}

const SAMPLES = [
  ['SET', 'k', 'v'],
  ['GET', 'k'],
  ['MGET', 'a', 'b', 'c'],
  ['MSET', 'a', '1', 'b', '2'],
  ['DEL', 'a', 'b'],
  ['HELLO', '3'],
  ['HELLO', '2'],
  ['EVAL', 'return 1', '2', 'a', 'b'],
  ['XREAD', 'STREAMS', 'a', 'b', '0', '0'],
  ['CLIENT', 'SETNAME', 'x'],
  ['SELECT', '3'],
  ['COMMAND', 'GETKEYS', 'GET', 'x'],
  ['ZUNIONSTORE', 'd', '2', 'a', 'b'],
  ['SORT', 'a', 'BY', 'w_*', 'GET', '#'],
  ['OBJECT', 'ENCODING', 'k'],
  ['INFO'],
  ['PING'],
  ['SLOTSMAPPING', '7'],
];

function mutate(r: () => number): Buffer {
  const base = Buffer.concat(
    Array.from({ length: 1 + Math.floor(r() * 4) }, () => encodeCommand(SAMPLES[Math.floor(r() * SAMPLES.length)]!)),
  );
  const b = Buffer.from(base);
  const n = Math.floor(r() * 4);
  for (let i = 0; i < n; i++) {
    const pos = Math.floor(r() * b.length);
    switch (Math.floor(r() * 5)) {
      case 0:
        b[pos] = Math.floor(r() * 256);
        break;
      case 1:
        b[pos] = [42, 36, 13, 10, 45, 48, 57][Math.floor(r() * 7)]!;
        break;
      case 2:
        return b.subarray(0, pos);
      case 3:
        return Buffer.concat([
          b.subarray(0, pos),
          Buffer.from(`*${Math.floor(r() * 1e9)}\r\n$${Math.floor(r() * 1e12)}\r\n`),
          b.subarray(pos),
        ]);
      default:
        return Buffer.concat([b.subarray(0, pos), Buffer.from(Array.from({ length: 20 }, () => Math.floor(r() * 256))), b.subarray(pos)]);
    }
  }
  return b;
}

test('300 connections of mutated frames: the proxy survives and keeps serving', async () => {
  c = await startTestCluster({ config: { maxBulkLen: 1024 * 1024, maxArrayLen: 4096 } });
  const r = rng(0x5eed);
  const deadline = Date.now() + 240_000; // a bound, not a speed figure: 300 connections take ~10 s
  let closedByProxy = 0,
    answered = 0;
  for (let i = 0; i < 300 && Date.now() < deadline; i++) {
    const cl = await RawClient.connect(c.port);
    cl.write(mutate(r));
    cl.write(encodeCommand(['PING']));
    // Either the proxy answers (a PONG eventually arrives) or it closed after a protocol error;
    // a frame that is merely incomplete (a huge declared length) just waits: close it ourselves.
    try {
      for (let k = 0; k < 8; k++) {
        const reply = await cl.read(300);
        if (reply.startsWith('-ERR Protocol error')) {
          await withDeadline('the proxy to close the connection', cl.closedPromise, 10000);
          closedByProxy++;
          break;
        }
        if (reply === '+PONG\r\n') {
          answered++;
          break;
        }
      }
    } catch {
      /* waiting for more bytes, or closed */
    }
    cl.close();
  }
  assert.ok(answered > 50, `answered ${answered}`);
  assert.ok(closedByProxy > 10, `protocol errors ${closedByProxy}`);
  const ok = await RawClient.connect(c.port);
  assert.equal(await ok.call('SET', 'after-fuzz', 'ok'), '+OK\r\n');
  assert.equal(await ok.call('GET', 'after-fuzz'), '$2\r\nok\r\n');
  ok.close();
  await eventually('every session to be cleaned up', () => c.proxy.ctx.sessions.size === 0, 5000, 20);
});
