// ACL users at the proxy, compared reply by reply with a direct redis-server configured with the same
// ACL lines: AUTH (one and two arguments, wrong passwords, disabled users), HELLO AUTH, ACL WHOAMI /
// USERS / GETUSER / DRYRUN / CAT, NOPERM for commands, keys (read/write patterns) and channels, and a
// denied command inside MULTI. Users come from acl_users and acl_file. Expected duration: about 3 s.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRedisServer, type RedisServer } from '../../src/util/redis-server.js';
import { startTestCluster, type TestCluster } from '../helpers/proxy-cluster.js';
import { RawClient } from '../helpers/raw-client.js';

const LINES = [
  'user app on >apppw ~app:* &app.* +@read +@write +@connection -flushall -flushdb',
  'user ro on >ropw %R~* +@read +@connection',
  'user writer on >wpw %W~out:* %R~in:* +@all -@dangerous',
  'user off1 off >offpw ~* +@all',
  'user txu on >txpw ~app:* +@read +@write +@transaction +@connection',
];
const FILE_LINES = ['# from acl_file', 'user ops on >opspw ~* &* +@all -hgetall'];

let direct: RedisServer;
let cluster: TestCluster;
let dir: string;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'shardis-acl-'));
  const file = join(dir, 'users.acl');
  writeFileSync(file, FILE_LINES.join('\n') + '\n');
  direct = await startRedisServer({ config: ['acl-pubsub-default resetchannels'] });
  const admin = await RawClient.connect(direct.port);
  for (const l of [...LINES, ...FILE_LINES.slice(1)]) {
    const words = l.split(' ');
    assert.equal(await admin.call('ACL', 'SETUSER', ...words.slice(1)), '+OK\r\n');
  }
  admin.close();
  cluster = await startTestCluster({ config: { aclUsers: LINES, aclFile: file } });
});
after(async () => {
  await cluster?.stop();
  await direct?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** Runs the same commands on a fresh connection to the proxy and to the direct server; returns both reply lists. */
async function both(cmds: string[][]): Promise<[string[], string[]]> {
  const out: [string[], string[]] = [[], []];
  for (const [i, port] of [cluster.port, direct.port].entries()) {
    const c = await RawClient.connect(port);
    try {
      for (const cmd of cmds) out[i]!.push(await c.call(...cmd));
    } finally {
      c.close();
    }
  }
  return out;
}

test('ACL at the proxy answers AUTH, WHOAMI, NOPERM (commands, keys, channels) and DRYRUN exactly as redis-server', async () => {
  const cases: string[][][] = [
    [
      ['AUTH', 'nopass'],
      ['AUTH', 'app', 'wrong'],
      ['AUTH', 'nobody', 'x'],
      ['AUTH', 'off1', 'offpw'],
      ['AUTH', 'a', 'b', 'c'],
    ],
    [
      ['AUTH', 'app', 'apppw'],
      ['ACL', 'WHOAMI'],
      ['SET', 'app:1', 'v'],
      ['GET', 'app:1'],
      ['GET', 'other'],
      ['SET', 'other', 'v'],
      ['FLUSHALL'],
      ['CONFIG', 'GET', 'maxmemory'],
      ['PUBLISH', 'app.news', 'x'],
      ['PUBLISH', 'other', 'x'],
      ['DEL', 'app:1'],
    ],
    [
      ['AUTH', 'ro', 'ropw'],
      ['GET', 'anything'],
      ['SET', 'anything', 'v'],
      ['MGET', 'a', 'b'],
      ['INCR', 'x'],
    ],
    [
      ['AUTH', 'writer', 'wpw'],
      ['SET', 'out:1', 'v'],
      ['GET', 'out:1'],
      ['SET', 'in:1', 'v'],
      ['GET', 'in:1'],
      ['DEL', 'out:1'],
      ['LMOVE', 'in:l', 'out:l', 'LEFT', 'RIGHT'],
      ['LMOVE', 'out:l', 'in:l', 'LEFT', 'RIGHT'],
      ['KEYS', '*'],
    ],
    [
      ['AUTH', 'ops', 'opspw'],
      ['ACL', 'WHOAMI'],
      ['HGETALL', 'h'],
      ['GET', 'x'],
      ['AUTH', 'default', 'whatever'],
      ['ACL', 'WHOAMI'],
    ],
    [
      ['ACL', 'DRYRUN', 'app', 'GET', 'other'],
      ['ACL', 'DRYRUN', 'app', 'GET', 'app:x'],
      ['ACL', 'DRYRUN', 'app', 'FLUSHALL'],
      ['ACL', 'DRYRUN', 'app', 'PUBLISH', 'zz', 'm'],
      ['ACL', 'DRYRUN', 'nobody', 'GET', 'x'],
      ['ACL', 'DRYRUN', 'app', 'NOSUCH'],
      ['ACL', 'DRYRUN', 'app', 'GET'],
      ['ACL', 'GETUSER', 'nobody'],
      ['ACL', 'CAT', 'nosuchcategory'],
    ],
  ];
  for (const cmds of cases) {
    const [proxy, redis] = await both(cmds);
    cmds.forEach((c, i) =>
      assert.equal(
        proxy[i],
        redis[i],
        `${c.join(' ')} (after ${cmds
          .slice(0, i)
          .map((x) => x.join(' '))
          .join('; ')})`,
      ),
    );
  }
});

test('ACL GETUSER, USERS and CAT list the same users and rules as redis-server', async () => {
  const [proxy, redis] = await both([
    ['ACL', 'USERS'],
    ['ACL', 'GETUSER', 'app'],
    ['ACL', 'GETUSER', 'ro'],
    ['ACL', 'GETUSER', 'writer'],
    ['ACL', 'CAT'],
  ]);
  // GETUSER's "commands" rule order after the categories follows Redis's hash table; everything else matches exactly.
  const norm = (r: string): string =>
    r.replace(/(\$\d+\r\n)([+-]@all[^\r]*)/, (_m, _len: string, rules: string) => `<rules ${rules.split(' ').sort().join(' ')}>`);
  proxy.forEach((r, i) => assert.equal(norm(r), norm(redis[i]!)));
});

test('HELLO AUTH logs in as the user and fails like redis-server on a wrong password', async () => {
  const [proxy, redis] = await both([
    ['HELLO', '3', 'AUTH', 'app', 'wrong'],
    ['HELLO', '2', 'AUTH', 'app', 'apppw'],
    ['ACL', 'WHOAMI'],
    ['GET', 'other'],
  ]);
  assert.equal(proxy[0], redis[0]);
  assert.match(proxy[1]!, /^\*/);
  assert.deepEqual(proxy.slice(2), redis.slice(2));
});

test('inside MULTI a denied command is answered NOPERM, the transaction aborts and nothing of it runs, as in redis-server', async () => {
  const tag = Math.random().toString(36).slice(2, 8);
  const cmds = [
    ['AUTH', 'txu', 'txpw'],
    ['MULTI'],
    ['SET', `app:${tag}`, '1'],
    ['SET', `other:${tag}`, 'v'],
    ['GET', `app:${tag}`],
    ['EXEC'],
    ['EXISTS', `app:${tag}`],
  ];
  const [proxy, redis] = await both(cmds);
  assert.equal(proxy[3], '-NOPERM this user has no permissions to access one of the keys used as arguments\r\n');
  assert.equal(proxy[6], ':0\r\n', 'the allowed SET queued before the denied one did not run either');
  cmds.forEach((c, i) => assert.equal(proxy[i], redis[i], c.join(' ')));
});

test('a proxy whose default user is off answers NOAUTH until AUTH, like redis-server', async () => {
  const locked = await startTestCluster({ config: { aclUsers: ['user default off', 'user app on >pw ~* +@all'] } });
  try {
    const c = await RawClient.connect(locked.port);
    assert.equal(await c.call('GET', 'x'), '-NOAUTH Authentication required.\r\n');
    assert.equal(await c.call('AUTH', 'pw'), '-WRONGPASS invalid username-password pair or user is disabled.\r\n');
    assert.equal(await c.call('AUTH', 'app', 'pw'), '+OK\r\n');
    assert.equal(await c.call('GET', 'x'), '$-1\r\n');
    c.close();
  } finally {
    await locked.stop();
  }
});
