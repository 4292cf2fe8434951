// A transaction never runs piecemeal: MULTI is served (src/proxy/apps/transactions.ts), and a
// transaction with a refused command inside it is discarded whole at EXEC (EXECABORT), with Redis's
// own texts for the control-command errors — every sequence compared reply-by-reply with a direct
// redis-server. Also through ioredis's multi(), unchanged.
// Expected duration: ~1 s.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { startTestCluster, type TestCluster } from '../helpers/proxy-cluster.js';
import { startRedisServer, type RedisServer } from '../../src/util/redis-server.js';
import { RawClient } from '../helpers/raw-client.js';
import { encodeCommand } from '../../src/resp/encode.js';

let c: TestCluster;
let direct: RedisServer;
before(async () => {
  c = await startTestCluster();
  direct = await startRedisServer();
});
after(async () => {
  await c?.stop();
  await direct?.stop();
});

const pipeline = (...cmds: string[][]): Buffer => Buffer.concat(cmds.map((a) => encodeCommand(a)));
async function readN(cl: RawClient, n: number): Promise<string[]> {
  const out: string[] = [];
  for (let i = 0; i < n; i++) out.push(await cl.read());
  return out;
}

/** Writes `seq` pipelined to the proxy and to the direct server; asserts the same replies; returns them. */
async function same(seq: string[][], label = JSON.stringify(seq)): Promise<string[]> {
  const p = await RawClient.connect(c.port),
    d = await RawClient.connect(direct.port);
  try {
    p.write(pipeline(...seq));
    d.write(pipeline(...seq));
    const pr = await readN(p, seq.length),
      dr = await readN(d, seq.length);
    assert.deepEqual(pr, dr, label);
    return pr;
  } finally {
    p.close();
    d.close();
  }
}

test('pipelined MULTI / INCR / INCR / EXEC runs once, atomically, as on a direct server', async () => {
  const r = await same([['DEL', '{t}a'], ['MULTI'], ['INCR', '{t}a'], ['INCR', '{t}a'], ['EXEC'], ['GET', '{t}a']]);
  assert.equal(r[4], '*2\r\n:1\r\n:2\r\n');
});

test('a refused command inside MULTI discards the whole transaction: nothing inside it ran', async () => {
  const r = await same([['DEL', 'd:k'], ['MULTI'], ['SET', 'd:k', 'v'], ['NOSUCHCMD'], ['GET'], ['PING'], ['EXEC'], ['EXISTS', 'd:k']]);
  assert.equal(r[6], '-EXECABORT Transaction discarded because of previous errors.\r\n');
  assert.equal(r[7], ':0\r\n');
  await same([['MULTI'], ['SET', '{d}k', 'v'], ['DEL', '{d}x', '{d}y'], ['PING'], ['DISCARD'], ['EXISTS', '{d}k'], ['PING']]);
});

test('control commands answer with Redis texts, compared with a direct redis-server', async () => {
  for (const seq of [
    [['EXEC']],
    [['DISCARD']],
    [['EXEC', 'x']],
    [['DISCARD', 'x']],
    [['MULTI', 'x']],
    [['MULTI', 'x'], ['EXEC']],
    [['MULTI'], ['MULTI'], ['WATCH', 'w'], ['NOSUCHCMD'], ['GET'], ['EXEC']],
    [['MULTI'], ['EXEC', 'x'], ['EXEC']],
  ])
    await same(seq);
});

test('RESET leaves the transaction; QUIT inside it closes the connection after +OK', async () => {
  await same([['DEL', 'r:k'], ['MULTI'], ['RESET'], ['SET', 'r:k', '1'], ['EXEC']]);
  const cl = await RawClient.connect(c.port);
  cl.write(pipeline(['DEL', 'r:q'], ['MULTI'], ['QUIT'], ['SET', 'r:q', '1']));
  assert.deepEqual(await readN(cl, 3), [':0\r\n', '+OK\r\n', '+OK\r\n']);
  await cl.closedPromise;
  const cl2 = await RawClient.connect(c.port);
  assert.equal(await cl2.call('EXISTS', 'r:q'), ':0\r\n', 'the command after QUIT did not run');
  cl2.close();
});

test('ioredis multi().incr().incr().exec() runs the transaction once', async () => {
  const io = new Redis({ port: c.port, lazyConnect: true, maxRetriesPerRequest: 0 });
  try {
    await io.connect();
    await io.set('{io}n', '5');
    assert.deepEqual(await io.multi().incr('{io}n').incr('{io}n').exec(), [
      [null, 6],
      [null, 7],
    ]);
    assert.equal(await io.get('{io}n'), '7');
  } finally {
    io.disconnect();
  }
});
