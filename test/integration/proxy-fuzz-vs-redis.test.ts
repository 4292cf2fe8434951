// Differential fuzzing of the whole proxy over a socket (fast-check): random pipelines of valid and
// invalid commands — random names, wrong arities, wrong types, binary values with CR/LF inside, multi-key
// commands spread over both groups, transactions on one hash tag, RESP2 and RESP3 sessions — are sent to the proxy (2 groups) and to a direct redis-server, each
// pipeline written in random chunks; every reply must be byte-for-byte what redis-server answers, and
// the proxy must stay up. FUZZ_RUNS sets the number of pipelines (a longer run: FUZZ_RUNS=2000).
// Only commands whose replies are deterministic are generated (no TTLs, no random members, no
// hash-table iteration order). Expected duration: about 5-15 s.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { startTestCluster, type TestCluster } from '../helpers/proxy-cluster.js';
import { startRedisServer, type RedisServer } from '../../src/util/redis-server.js';
import { RawClient } from '../helpers/raw-client.js';
import { encodeCommand } from '../../src/resp/encode.js';
import { redisCall } from '../../src/ha/sentinels.js';
import { slotOf } from '../../src/slots/hash.js';

const RUNS = Number(process.env['FUZZ_RUNS'] ?? 1500);

let c: TestCluster;
let direct: RedisServer;
before(async () => {
  c = await startTestCluster({ groups: 2 });
  direct = await startRedisServer();
});
after(async () => {
  await c?.stop();
  await direct?.stop();
});

// Keys: plain ones that land on both groups (for the commands the proxy splits per group), and keys of
// one hash tag for the multi-key commands Redis Cluster rules allow only within one slot.
// startTestCluster lays the slots out evenly: slots 0-511 on group 1, 512-1023 on group 2.
const PLAIN = [
  ...Array.from({ length: 40 }, (_, i) => `k${i}`)
    .filter((k) => slotOf(k) < 512)
    .slice(0, 3),
  ...Array.from({ length: 40 }, (_, i) => `k${i}`)
    .filter((k) => slotOf(k) >= 512)
    .slice(0, 3),
];
const TAGGED = ['{t}x', '{t}y', '{t}z'];
const key = fc.constantFrom(...PLAIN, ...TAGGED);
const tagged = fc.constantFrom(...TAGGED);
const value = fc.oneof(
  fc.constantFrom('1', '-7', '42', '3.5', '', 'x', 'hello world', 'a\r\nb', '\x00\xff', '9223372036854775807'),
  fc.string({ maxLength: 12 }),
);
const num = fc.oneof(fc.integer({ min: -5, max: 5 }).map(String), fc.constantFrom('0', '1', '-1', 'x', '1.5', '99999999999999999999'));

type Cmd = string[];
const cmd = (name: string, ...parts: fc.Arbitrary<string>[]): fc.Arbitrary<Cmd> => fc.tuple(...parts).map((xs) => [name, ...xs]);
const many = (a: fc.Arbitrary<string>, min = 1, max = 4): fc.Arbitrary<string[]> => fc.array(a, { minLength: min, maxLength: max });

const valid: fc.Arbitrary<Cmd> = fc.oneof(
  cmd('SET', key, value),
  cmd('SET', key, value, fc.constantFrom('NX', 'XX', 'GET')),
  cmd('GET', key),
  cmd('GETSET', key, value),
  cmd('APPEND', key, value),
  cmd('STRLEN', key),
  cmd('INCR', key),
  cmd('INCRBY', key, num),
  cmd('DECR', key),
  cmd('GETRANGE', key, num, num),
  cmd('SETRANGE', key, fc.integer({ min: 0, max: 20 }).map(String), value),
  many(key, 1, 6).map((ks) => ['MGET', ...ks]),
  fc.array(fc.tuple(key, value), { minLength: 1, maxLength: 4 }).map((kv) => ['MSET', ...kv.flat()]),
  many(key, 1, 5).map((ks) => ['DEL', ...ks]),
  many(key, 1, 5).map((ks) => ['EXISTS', ...ks]),
  many(key, 1, 5).map((ks) => ['UNLINK', ...ks]),
  cmd('TYPE', key),
  cmd('HSET', key, value, value),
  cmd('HGET', key, value),
  cmd('HDEL', key, value),
  cmd('HLEN', key),
  cmd('HGETALL', key),
  cmd('HINCRBY', key, value, num),
  fc.tuple(key, many(value)).map(([k, vs]) => ['LPUSH', k, ...vs]),
  fc.tuple(key, many(value)).map(([k, vs]) => ['RPUSH', k, ...vs]),
  cmd('LPOP', key),
  cmd('RPOP', key),
  cmd('LRANGE', key, num, num),
  cmd('LLEN', key),
  cmd('LINDEX', key, num),
  fc.tuple(key, many(num)).map(([k, vs]) => ['SADD', k, ...vs]),
  cmd('SREM', key, num),
  cmd('SCARD', key),
  cmd('SISMEMBER', key, num),
  fc.tuple(key, fc.array(fc.tuple(num, value), { minLength: 1, maxLength: 3 })).map(([k, ms]) => ['ZADD', k, ...ms.flat()]),
  cmd('ZRANGE', key, num, num, fc.constantFrom('WITHSCORES', 'REV')),
  cmd('ZSCORE', key, value),
  cmd('ZINCRBY', key, num, value),
  cmd('ZCARD', key),
  cmd('RPOPLPUSH', tagged, tagged),
  cmd('LMOVE', tagged, tagged, fc.constantFrom('LEFT', 'RIGHT'), fc.constantFrom('LEFT', 'RIGHT')),
  fc.tuple(tagged, many(tagged)).map(([d, ks]) => ['SUNIONSTORE', d, ...ks]),
  fc.tuple(tagged, tagged).map(([a, b]) => ['RENAME', a, b]),
  cmd('SETNX', key, value),
  cmd('GETDEL', key),
  cmd('OBJECT', fc.constantFrom('ENCODING', 'REFCOUNT'), key),
  cmd('SORT', key),
  cmd('LPOS', key, value),
  many(key, 1, 5).map((ks) => ['TOUCH', ...ks]),
  fc.array(fc.tuple(tagged, value), { minLength: 1, maxLength: 3 }).map((kv) => ['MSETNX', ...kv.flat()]),
  fc.tuple(tagged, tagged).map(([a, b]) => ['COPY', a, b, 'REPLACE']),
  cmd('DBSIZE'),
  cmd('CLIENT', fc.constantFrom('GETNAME', 'SETNAME'), fc.constantFrom('n1', 'bad name')).map((x) =>
    x[1] === 'GETNAME' ? x.slice(0, 2) : x,
  ),
  cmd('PING'),
  cmd('PING', value),
  cmd('ECHO', value),
  cmd('SELECT', fc.constantFrom('0', '1', '2', '16', 'x')),
);

// Invalid on purpose: unknown names, wrong arities, unknown subcommands.
const invalid: fc.Arbitrary<Cmd> = fc.oneof(
  fc.tuple(fc.stringMatching(/^[a-z]{3,9}$/), many(value, 0, 3)).map(([n, a]) => [`zz${n}`, ...a]),
  fc.constantFrom<Cmd[]>(
    ['GET'],
    ['SET', 'a'],
    ['MSET', 'a'],
    ['MSET', 'a', '1', 'b'],
    ['HSET', 'a', 'f'],
    ['INCRBY', 'a'],
    ['MGET'],
    ['DEL'],
  ),
  fc.constantFrom<Cmd[]>(['ZADD', 'a', 'NaN', 'm'], ['SET', 'a', 'v', 'EX', '-1'], ['LRANGE', 'a', 'x', '1'], ['CLIENT', 'NOSUCH']),
  // Raw bytes in a name or an argument (NUL, bytes >= 0x80 that are not UTF-8): echoed as Redis does.
  fc.constantFrom<Cmd[]>(['zz\x00y', 'a'], ['zzq', '\x00\xff'], ['OBJECT', 'no\x00pe']),
);

// A transaction on one hash tag (Redis Cluster's rule, which the proxy follows): queued commands,
// including invalid ones (EXECABORT), then EXEC or DISCARD.
const onTag = fc.oneof(
  cmd('SET', tagged, value),
  cmd('GET', tagged),
  cmd('INCR', tagged),
  cmd('APPEND', tagged, value),
  fc.tuple(tagged, many(value)).map(([k, vs]) => ['RPUSH', k, ...vs]),
  cmd('LPOP', tagged),
  cmd('RPOPLPUSH', tagged, tagged),
  fc.constantFrom<Cmd[]>(['GET'], ['zzbad', 'x']),
);
const transaction: fc.Arbitrary<Cmd[]> = fc
  .tuple(fc.array(onTag, { maxLength: 5 }), fc.constantFrom('EXEC', 'DISCARD'))
  .map(([body, end]) => [['MULTI'], ...body, [end]]);

const pipeline = fc
  .array(
    fc.oneof(
      { weight: 12, arbitrary: valid.map((x) => [x]) },
      { weight: 2, arbitrary: invalid.map((x) => [x]) },
      { weight: 1, arbitrary: transaction },
    ),
    { minLength: 1, maxLength: 30 },
  )
  .map((groups) => groups.flat());

/** Writes `buf` in chunks cut at the given fractional points, yielding between chunks. */
async function writeChunked(cl: RawClient, buf: Buffer, points: number[]): Promise<void> {
  const at = [...new Set(points.map((p) => Math.floor(p * buf.length)))].sort((x, y) => x - y);
  let last = 0;
  for (const p of [...at, buf.length]) {
    if (p > last) cl.write(buf.subarray(last, p));
    last = p;
    await new Promise((r) => setImmediate(r));
  }
}

async function run(addrPort: number, cmds: Cmd[], points: number[]): Promise<string[]> {
  const cl = await RawClient.connect(addrPort);
  try {
    // One byte per char: '\xff' is the byte 0xff (not UTF-8), as a binary-safe client would send it.
    const bytes = Buffer.concat(cmds.map((x) => encodeCommand(x.map((a) => Buffer.from(a, 'latin1')))));
    await writeChunked(cl, bytes, points);
    const out: string[] = [];
    for (let i = 0; i < cmds.length; i++) out.push(await cl.read(5000));
    return out;
  } finally {
    cl.close();
  }
}

async function flushEverywhere(): Promise<void> {
  await Promise.all([...c.servers, direct].map((s) => redisCall(s.addr, 2000, ['FLUSHALL'])));
}

test('plain keys of the fuzzer land on both groups (so split and merge are exercised)', () => {
  const owners = new Set(PLAIN.map((k) => c.serverOfSlot(slotOf(k)).addr));
  assert.equal(owners.size, 2);
});

test('random pipelines, written in random chunks: every reply is byte-for-byte redis-server’s', async () => {
  let compared = 0;
  await fc.assert(
    fc.asyncProperty(
      pipeline,
      fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 6 }),
      fc.boolean(),
      async (body, points, resp3) => {
        await flushEverywhere();
        // RESP3 sessions too; HELLO's own reply names the server (proxy or redis) and is not compared.
        const cmds = resp3 ? [['HELLO', '3'], ...body] : body;
        const [want, got] = [await run(direct.port, cmds, points), await run(c.port, cmds, points)];
        for (let i = resp3 ? 1 : 0; i < cmds.length; i++) {
          assert.equal(
            got[i],
            want[i],
            `reply ${i} to ${JSON.stringify(cmds[i])} differs (pipeline: ${JSON.stringify(cmds.slice(0, i + 1)).slice(-600)})`,
          );
          compared++;
        }
      },
    ),
    { numRuns: RUNS },
  );
  assert.ok(compared >= RUNS, `${compared} replies compared`);
  // Still serving after all of it.
  assert.equal(await run(c.port, [['PING']], []).then((r) => r[0]), '+PONG\r\n');
});
