// Every command the proxy answers itself checks its arguments as Redis does: the same request sent to
// the proxy and to a direct redis-server gets the same reply, byte for byte (wrong arity, bad
// numbers, unknown subcommands and options, syntax errors). Also the wording of protocol errors for
// unparseable lengths, and argument errors that Redis reports before the proxy would refuse a form
// (COPY ... DB notanumber). Only requests whose replies do not depend on the server's identity are
// listed (no successful HELLO, CLIENT ID, INFO, TIME...); the successful forms are covered elsewhere.
// Expected duration: ~1 s.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startTestCluster, type TestCluster } from '../helpers/proxy-cluster.js';
import { startRedisServer, type RedisServer } from '../../src/util/redis-server.js';
import { RawClient } from '../helpers/raw-client.js';
import { encodeCommand } from '../../src/resp/encode.js';
import { commandByName } from '../../src/commands/table.js';

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

/** Requests (one per line) for each locally answered command; each must get the same reply. */
const CASES: { [command: string]: string[][] } = {
  ping: [['PING'], ['PING', 'x'], ['PING', 'x', 'y'], ['PING', 'x', 'y', 'z']],
  echo: [['ECHO'], ['ECHO', 'a'], ['ECHO', 'a', 'b']],
  select: [
    ['SELECT'],
    ['SELECT', '1', '2'],
    ['SELECT', 'x'],
    ['SELECT', '1.5'],
    ['SELECT', ''],
    ['SELECT', '-1'],
    ['SELECT', '16'],
    ['SELECT', '01'],
    ['SELECT', '+1'],
    ['SELECT', ' 1'],
    ['SELECT', '-0'],
    ['SELECT', '4294967296'],
    ['SELECT', '99999999999999999999'],
    ['SELECT', '9223372036854775807'],
    ['SELECT', '9223372036854775808'],
    ['SELECT', '0'],
  ],
  auth: [['AUTH'], ['AUTH', 'pw'], ['AUTH', 'a', 'b', 'c'], ['AUTH', 'bob', 'pw']],
  hello: [
    ['HELLO', 'x'],
    ['HELLO', '4'],
    ['HELLO', '1'],
    ['HELLO', '-1'],
    ['HELLO', '3', 'FOO'],
    ['HELLO', '3', 'AUTH', 'a'],
    ['HELLO', '3', 'SETNAME'],
    ['HELLO', '2', 'SETNAME', 'a b'],
    ['HELLO', '2', 'AUTH', 'bob', 'pw'],
  ],
  reset: [['RESET', 'x']],
  'client|setname': [
    ['CLIENT', 'SETNAME'],
    ['CLIENT', 'SETNAME', 'a', 'b'],
    ['CLIENT', 'SETNAME', 'a b'],
    ['CLIENT', 'SETNAME', 'x\ny'],
    ['CLIENT', 'SETNAME', 'n1'],
  ],
  'client|getname': [
    ['CLIENT', 'GETNAME', 'x'],
    ['CLIENT', 'GETNAME'],
  ],
  'client|id': [['CLIENT', 'ID', 'x']],
  'client|info': [['CLIENT', 'INFO', 'x']],
  'client|list': [
    ['CLIENT', 'LIST', 'x'],
    ['CLIENT', 'LIST', 'TYPE'],
    ['CLIENT', 'LIST', 'TYPE', 'foo'],
    ['CLIENT', 'LIST', 'ID'],
    ['CLIENT', 'LIST', 'ID', 'abc'],
    ['CLIENT', 'LIST', 'ID', '0'],
    ['CLIENT', 'LIST', 'ID', '-3'],
    ['CLIENT', 'LIST', 'ID', '999999'],
    ['CLIENT', 'LIST', 'TYPE', 'pubsub'],
    ['CLIENT', 'LIST', 'TYPE', 'master'],
    ['CLIENT', 'LIST', 'FOO', 'bar'],
  ],
  client: [['CLIENT'], ['CLIENT', 'FOO'], ['CLIENT', 'foo', 'bar']],
  command: [
    ['COMMAND', 'FOO'],
    ['COMMAND', 'COUNT', 'x'],
    ['COMMAND', 'GETKEYS'],
    ['COMMAND', 'GETKEYS', 'GET'],
    ['COMMAND', 'GETKEYS', 'NOSUCH', 'a'],
    ['COMMAND', 'GETKEYS', 'PING'],
    ['COMMAND', 'GETKEYS', 'MSET', 'a', '1', 'b', '2'],
    ['COMMAND', 'LIST', 'FILTERBY'],
    ['COMMAND', 'LIST', 'FILTERBY', 'FOO', 'x'],
    ['COMMAND', 'LIST', 'x'],
    ['COMMAND', 'INFO', 'get', 'nosuch'],
    ['COMMAND', 'GETKEYSANDFLAGS'],
  ],
  time: [['TIME', 'x']],
  dbsize: [['DBSIZE', 'x']],
  flushdb: [
    ['FLUSHDB', 'FOO'],
    ['FLUSHDB', 'ASYNC', 'SYNC'],
    ['FLUSHDB', 'SYNC', 'x'],
  ],
  flushall: [
    ['FLUSHALL', 'FOO'],
    ['FLUSHALL', 'SYNC', 'SYNC'],
  ],
  'slowlog|get': [
    ['SLOWLOG', 'GET', 'x'],
    ['SLOWLOG', 'GET', '1', '2'],
    ['SLOWLOG', 'GET', '-2'],
    ['SLOWLOG', 'GET', '1.5'],
  ],
  'slowlog|len': [['SLOWLOG', 'LEN', 'x']],
  'slowlog|reset': [['SLOWLOG', 'RESET', 'x']],
  slowlog: [['SLOWLOG'], ['SLOWLOG', 'FOO']],
  readonly: [['READONLY', 'x']],
  readwrite: [['READWRITE', 'x']],
  quit: [],
  info: [],
};

/** Arguments Redis rejects before the proxy would refuse the form (or forward it). */
const ARG_ORDER: string[][] = [
  ['COPY', 'k1', 'k2', 'DB', 'notanumber'],
  ['COPY', '{c}1', '{c}2', 'DB', '1.5', 'REPLACE'],
  ['COPY', '{c}1', '{c}2', 'DB', '1', 'FOO'],
  ['COPY', '{c}1', '{c}2', 'FOO', 'DB', '1'],
  ['COPY', '{c}1', '{c}2', 'REPLACE', 'REPLACE'],
];

async function replies(port: number, reqs: string[][]): Promise<string[]> {
  const cl = await RawClient.connect(port);
  try {
    cl.write(Buffer.concat(reqs.map((r) => encodeCommand(r))));
    const out: string[] = [];
    for (let i = 0; i < reqs.length; i++) out.push(await cl.read());
    return out;
  } finally {
    cl.close();
  }
}

async function compare(reqs: string[][]): Promise<void> {
  const viaProxy = await replies(c.port, reqs);
  const viaRedis = await replies(direct.port, reqs);
  const diff = reqs.flatMap((r, i) =>
    viaProxy[i] === viaRedis[i] ? [] : [`${JSON.stringify(r)}: proxy ${JSON.stringify(viaProxy[i])}, redis ${JSON.stringify(viaRedis[i])}`],
  );
  assert.deepEqual(diff, [], 'requests answered differently');
}

test('the case table names every locally answered Redis command', () => {
  for (const name of Object.keys(CASES)) assert.ok(commandByName(name), name);
  for (const name of Object.keys(CASES)) {
    const spec = commandByName(name)!;
    assert.ok(spec.policy.kind === 'local' || spec.isContainer, `${name} is answered by the proxy`);
  }
});

for (const [name, reqs] of Object.entries(CASES)) {
  if (reqs.length === 0) continue;
  test(`${name}: argument checks reply as redis-server does`, async () => {
    await compare(reqs);
  });
}

test('COPY ... DB: bad numbers and syntax errors are reported as Redis does, before the slot check', async () => {
  await compare(ARG_ORDER);
  // A well-formed DB option is served (a slot's group holds it in every DB; src/proxy/APPS.md) when
  // both keys are in one slot, and gets CROSSSLOT otherwise.
  const [r1, r2] = await replies(c.port, [
    ['COPY', '{k}1', '{k}2', 'DB', '1'],
    ['COPY', 'k1', 'k2', 'DB', '1'],
  ]);
  assert.equal(r1, ':0\r\n');
  assert.match(r2!, /^-CROSSSLOT /);
});

/** Sends raw bytes and collects everything until the server closes (or 3 s pass). */
function rawExchange(port: number, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let out = '';
    const t = setTimeout(() => {
      s.destroy();
      resolve(`${out}<still open>`);
    }, 3000);
    s.on('connect', () => s.write(Buffer.from(bytes, 'latin1')));
    s.on('data', (d) => {
      out += d.toString('latin1');
    });
    s.on('close', () => {
      clearTimeout(t);
      resolve(out);
    });
    s.on('error', (e) => {
      clearTimeout(t);
      reject(e);
    });
  });
}

test("unparseable and over-limit lengths get Redis's protocol error wording, then the connection closes", async () => {
  const frames = [
    '*x\r\n',
    '*1 \r\n',
    '*+1\r\n',
    '*99999999999\r\n',
    `*${'9'.repeat(40)}\r\n`,
    '*1\r\n$x\r\n',
    '*1\r\n$-5\r\n',
    '*1\r\n$+4\r\nPING\r\n',
    '*1\r\n$999999999999\r\n',
    `*1\r\n$${512 * 1024 * 1024 + 1}\r\n`,
    `*1\r\n$${'9'.repeat(40)}\r\n`,
    '*2\r\n$3\r\nGET\r\n:1\r\n',
    'SET "a\r\n',
  ];
  for (const f of frames) {
    const viaProxy = await rawExchange(c.port, f);
    const viaRedis = await rawExchange(direct.port, f);
    assert.equal(viaProxy, viaRedis, `reply to ${JSON.stringify(f)}`);
    assert.match(viaProxy, /^-ERR Protocol error: /);
  }
});

test('QUIT behind a request still waiting for its backend: later pipelined commands are not run (as Redis)', async () => {
  const tag = Math.random().toString(36).slice(2, 8);
  for (const port of [c.port, direct.port]) {
    const cl = await RawClient.connect(port);
    cl.write(
      Buffer.concat([encodeCommand(['GET', `q:${tag}:a`]), encodeCommand(['QUIT']), encodeCommand(['SET', `q:${tag}:${port}`, '1'])]),
    );
    assert.equal(await cl.read(), '$-1\r\n');
    assert.equal(await cl.read(), '+OK\r\n');
    await cl.closedPromise;
    const check = await RawClient.connect(port);
    assert.equal(await check.call('EXISTS', `q:${tag}:${port}`), ':0\r\n', `port ${port === c.port ? 'proxy' : 'redis'}`);
    check.close();
  }
});
