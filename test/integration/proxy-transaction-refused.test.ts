// A MULTI the proxy cannot honour never lets the transaction run piecemeal: the session enters
// Redis's failed-transaction state (every command until EXEC/DISCARD answered with an error and not
// run, EXEC -> EXECABORT, DISCARD -> OK), with Redis's own texts for the control-command errors,
// compared with a direct redis-server. Also through ioredis's multi(), unchanged.
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
const NOT_RUN = /^-ERR command not run: this session is inside a transaction that the proxy refused at MULTI \(command 'MULTI' is not allowed: transactions are not supported by the proxy yet\); send DISCARD, or EXEC \(which answers EXECABORT\)\r\n$/;

test('pipelined MULTI / INCR / INCR / EXEC: MULTI refused, the INCRs are not run, EXEC answers EXECABORT', async () => {
  const cl = await RawClient.connect(c.port);
  cl.write(pipeline(['MULTI'], ['INCR', '{t}a'], ['INCR', '{t}a'], ['EXEC'], ['GET', '{t}a']));
  const [multi, i1, i2, exec, get] = await readN(cl, 5);
  assert.equal(multi, "-ERR command 'MULTI' is not allowed: transactions are not supported by the proxy yet\r\n");
  assert.match(i1!, NOT_RUN);
  assert.match(i2!, NOT_RUN);
  assert.equal(exec, '-EXECABORT Transaction discarded because of previous errors.\r\n');
  assert.equal(get, '$-1\r\n', 'the counter was never incremented');
  // After EXEC the session is out of the transaction: commands run again.
  assert.equal(await cl.call('INCR', '{t}a'), ':1\r\n');
  cl.close();
});

test('DISCARD leaves the failed transaction with OK; nothing inside it ran', async () => {
  const cl = await RawClient.connect(c.port);
  cl.write(pipeline(['MULTI'], ['SET', 'd:k', 'v'], ['DEL', 'd:x', 'd:y'], ['PING'], ['DISCARD'], ['EXISTS', 'd:k'], ['PING']));
  const r = await readN(cl, 7);
  assert.match(r[0]!, /^-ERR command 'MULTI' is not allowed/);
  for (const x of r.slice(1, 4)) assert.match(x, NOT_RUN);
  assert.deepEqual(r.slice(4), ['+OK\r\n', ':0\r\n', '+PONG\r\n']);
  cl.close();
});

test('control commands answer with Redis texts, compared with a direct redis-server', async () => {
  // Sequences whose replies are the same as Redis's (MULTI itself and the commands inside the
  // transaction differ by design: Redis accepts them).
  const seqs: string[][][] = [
    [['EXEC']],
    [['DISCARD']],
    [['EXEC', 'x']],
    [['DISCARD', 'x']],
    [['MULTI', 'x']],
    [['MULTI', 'x'], ['EXEC']],
  ];
  for (const seq of seqs) {
    const p = await RawClient.connect(c.port), d = await RawClient.connect(direct.port);
    p.write(pipeline(...seq)); d.write(pipeline(...seq));
    assert.deepEqual(await readN(p, seq.length), await readN(d, seq.length), JSON.stringify(seq));
    p.close(); d.close();
  }
  // Inside the (failed) transaction: nested MULTI, WATCH, unknown command and wrong arity answer as
  // Redis does inside MULTI; EXEC then aborts in both.
  const inside: string[][] = [['MULTI'], ['WATCH', 'w'], ['NOSUCHCMD'], ['GET'], ['EXEC']];
  const p = await RawClient.connect(c.port), d = await RawClient.connect(direct.port);
  p.write(pipeline(['MULTI'], ...inside)); d.write(pipeline(['MULTI'], ...inside));
  const pr = await readN(p, inside.length + 1), dr = await readN(d, inside.length + 1);
  assert.equal(dr[0], '+OK\r\n');
  assert.match(pr[0]!, /^-ERR command 'MULTI' is not allowed/);
  assert.deepEqual(pr.slice(1), dr.slice(1));
  assert.equal(pr[1], '-ERR MULTI calls can not be nested\r\n');
  assert.equal(pr[2], '-ERR WATCH inside MULTI is not allowed\r\n');
  assert.equal(pr[5], '-EXECABORT Transaction discarded because of previous errors.\r\n');
  p.close(); d.close();
  // EXEC rejected for its arity inside the transaction discards it (EXECABORT ... because of: ...).
  const p2 = await RawClient.connect(c.port), d2 = await RawClient.connect(direct.port);
  const abort: string[][] = [['EXEC', 'x'], ['EXEC']];
  p2.write(pipeline(['MULTI'], ...abort)); d2.write(pipeline(['MULTI'], ...abort));
  const p2r = await readN(p2, 3), d2r = await readN(d2, 3);
  assert.deepEqual(p2r.slice(1), d2r.slice(1));
  assert.deepEqual(p2r.slice(1), ["-EXECABORT Transaction discarded because of: wrong number of arguments for 'exec' command\r\n", '-ERR EXEC without MULTI\r\n']);
  p2.close(); d2.close();
});

test('RESET leaves the failed transaction; QUIT inside it closes the connection after +OK', async () => {
  const cl = await RawClient.connect(c.port);
  cl.write(pipeline(['MULTI'], ['RESET'], ['SET', 'r:k', '1'], ['EXEC']));
  const r = await readN(cl, 4);
  assert.match(r[0]!, /^-ERR command 'MULTI'/);
  assert.deepEqual(r.slice(1), ['+RESET\r\n', '+OK\r\n', '-ERR EXEC without MULTI\r\n']);
  cl.write(pipeline(['MULTI'], ['QUIT'], ['SET', 'r:q', '1']));
  const q = await readN(cl, 2);
  assert.match(q[0]!, /^-ERR command 'MULTI'/);
  assert.equal(q[1], '+OK\r\n');
  await cl.closedPromise;
  const cl2 = await RawClient.connect(c.port);
  assert.equal(await cl2.call('EXISTS', 'r:q'), ':0\r\n', 'the command after QUIT did not run');
  cl2.close();
});

test('ioredis multi().incr().incr().exec() rejects and leaves the counter untouched', async () => {
  const io = new Redis({ port: c.port, lazyConnect: true, maxRetriesPerRequest: 0 });
  try {
    await io.connect();
    await io.set('{io}n', '5');
    await assert.rejects(io.multi().incr('{io}n').incr('{io}n').exec(), /EXECABORT|not allowed/);
    assert.equal(await io.get('{io}n'), '5');
  } finally {
    io.disconnect();
  }
});
