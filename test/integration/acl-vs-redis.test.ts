// The proxy's ACL engine (src/acl) against a real redis-server configured with the same rules: every
// rule set's ACL LIST line and GETUSER fields, every (rule set, command) permission via ACL DRYRUN,
// and the error texts of bad rules. Expected duration: about 5 s.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { startRedisServer, type RedisServer } from '../../src/util/redis-server.js';
import { AclUser } from '../../src/acl/user.js';
import { AclUsers } from '../../src/acl/users.js';
import { lookupCommand } from '../../src/commands/table.js';
import { view } from '../helpers/resp-values.js';
import { aclCommandOf } from '../../src/acl/command-index.js';

const RULE_SETS: string[][] = [
  ['on', '>pw', '~*', '+@all'],
  ['on', 'nopass', '~cache:*', '+get', '+set'],
  ['on', '>a', '>b', '%R~read:*', '%W~write:*', '~both:*', '+@read', '+@write', '-del'],
  ['on', 'nopass', 'allkeys', '+@all', '-@dangerous'],
  ['on', 'nopass', 'allkeys', '-@all', '+@string', '+@hash', '-hdel'],
  ['on', 'nopass', 'allkeys', '+@all', '-config', '+config|get'],
  ['on', 'nopass', 'allkeys', '-@all', '+select|0', '+ping'],
  ['on', 'nopass', '~a*', 'resetkeys', '~b*', '+@all', '&news.*', '&alerts'],
  ['on', 'nopass', 'allkeys', 'allchannels', '+@pubsub', '+@connection'],
  ['off', '>x', 'allkeys', 'allcommands'],
  ['on', 'nopass', '~{t}*', '+@transaction', '+@list', '+@blocking', '-blpop'],
  ['on', 'nopass', 'allkeys', '+@all', '-@admin', '-@scripting', '+eval'],
];

const COMMANDS: string[][] = [
  ['get', 'cache:1'],
  ['get', 'other'],
  ['set', 'cache:1', 'v'],
  ['set', 'read:1', 'v'],
  ['get', 'read:1'],
  ['get', 'write:1'],
  ['set', 'write:1', 'v'],
  ['set', 'write:1', 'v', 'GET'],
  ['del', 'both:1'],
  ['del', 'read:1'],
  ['copy', 'read:1', 'write:1'],
  ['lmove', 'read:1', 'write:1', 'LEFT', 'RIGHT'],
  ['hset', 'h', 'f', 'v'],
  ['hdel', 'h', 'f'],
  ['hget', 'h', 'f'],
  ['config', 'get', 'maxmemory'],
  ['config', 'set', 'maxmemory', '1'],
  ['select', '0'],
  ['select', '1'],
  ['ping'],
  ['flushall'],
  ['publish', 'news.sport', 'x'],
  ['publish', 'other', 'x'],
  ['subscribe', 'alerts'],
  ['psubscribe', 'news.*'],
  ['psubscribe', 'news.s*'],
  ['blpop', '{t}a', '1'],
  ['rpush', '{t}a', 'x'],
  ['multi'],
  ['eval', 'return 1', '0'],
  ['evalsha', 'abc', '0'],
  ['mget', 'a1', 'b1'],
  ['mset', 'b1', 'x', 'b2', 'y'],
  ['keys', '*'],
  ['debug', 'sleep', '0'],
  ['client', 'list'],
  ['client', 'kill', 'id', '1'],
  ['incr', 'both:x'],
  ['bitfield', 'read:1', 'GET', 'u8', '0'],
  ['bitfield', 'read:1', 'SET', 'u8', '0', '1'],
  ['sort', 'read:1'],
  ['getex', 'read:1'],
];

let redis: RedisServer;
let cli: Redis;

before(async () => {
  redis = await startRedisServer();
  cli = new Redis({ port: redis.port, host: redis.host, lazyConnect: true, maxRetriesPerRequest: 0 });
  await cli.connect();
});
after(async () => {
  cli?.disconnect();
  await redis?.stop();
});

async function realUser(name: string, rules: string[]): Promise<void> {
  await cli.call('ACL', 'DELUSER', name);
  await cli.call('ACL', 'SETUSER', name, ...rules);
}

function ourUser(name: string, rules: string[]): AclUser {
  const u = new AclUser(name);
  assert.equal(u.applyAll(rules), null);
  return u;
}

/** The tail of an ACL LIST line after the fixed first rule, as a multiset (single-command order is a hash order in Redis). */
const sortedWords = (line: string): string[] => line.split(' ').sort();

test('ACL LIST and GETUSER describe each rule set as redis-server does', async () => {
  for (const [i, rules] of RULE_SETS.entries()) {
    const name = `u${i}`;
    await realUser(name, rules);
    const ours = ourUser(name, rules);
    const list = (await cli.call('ACL', 'LIST')) as string[];
    const theirs = list.find((l) => l.startsWith(`user ${name} `));
    assert.ok(theirs, `redis lists ${name}`);
    // Same words; the order of single commands after the categories follows Redis's hash table.
    assert.deepEqual(sortedWords(ours.describe()), sortedWords(theirs), `rules ${rules.join(' ')}`);
    const words = ours.describe().split(' ');
    const theirWords = theirs.split(' ');
    const firstCmd = theirWords.findIndex((w) => w === '+@all' || w === '-@all');
    assert.deepEqual(words.slice(0, firstCmd + 1), theirWords.slice(0, firstCmd + 1), 'flags, passwords, keys, channels in order');
    const g = (await cli.call('ACL', 'GETUSER', name)) as Array<string | string[]>;
    const real = new Map<string, string | string[]>();
    for (let j = 0; j + 1 < g.length; j += 2) real.set(g[j] as string, g[j + 1] as string | string[]);
    for (const [field, value] of ours.getUser()) {
      if (field === 'commands') assert.deepEqual(sortedWords(value as string), sortedWords(real.get(field) as string));
      else assert.deepEqual(value, real.get(field), `GETUSER ${name} ${field}`);
    }
  }
});

test('every command is allowed or denied (command, key or channel) exactly as ACL DRYRUN says', async () => {
  let checked = 0;
  for (const [i, rules] of RULE_SETS.entries()) {
    const name = `d${i}`;
    await realUser(name, rules);
    const ours = ourUser(name, rules);
    for (const cmd of COMMANDS) {
      const real = String(await cli.call('ACL', 'DRYRUN', name, ...cmd));
      const spec = lookupCommand(view(...cmd));
      assert.ok(spec, cmd.join(' '));
      const ac = aclCommandOf(spec);
      assert.ok(ac, `${cmd[0]} is an ACL command`);
      const d = ours.check(ac, view(...cmd));
      const want = real === 'OK' ? null : /to run the/.test(real) ? 'cmd' : / key$/.test(real) ? 'key' : 'channel';
      assert.equal(d, want, `user "${rules.join(' ')}" running "${cmd.join(' ')}": redis says ${real}`);
      checked++;
    }
  }
  assert.equal(checked, RULE_SETS.length * COMMANDS.length);
});

test("bad rules are refused with redis-server's error text", async () => {
  const bad: string[][] = [
    ['+nosuchcommand'],
    ['+@nosuchcategory'],
    ['~*', '~a*'],
    ['&*', '&a'],
    ['<notthere'],
    ['#abc'],
    ['+config|get|x'],
    ['foo'],
    ['%X~a'],
  ];
  for (const rules of bad) {
    await cli.call('ACL', 'DELUSER', 'bad');
    const real = await cli.call('ACL', 'SETUSER', 'bad', ...rules).then(
      () => 'OK',
      (e: Error) => `ERR ${e.message.replace(/^ERR /, '')}`,
    );
    const u = new AclUser('bad');
    const ours = u.applyAll(rules) ?? 'OK';
    assert.equal(ours, real, `rules ${rules.join(' ')}`);
  }
});

test('users registry: aclfile lines, default user, AUTH and NOPERM texts', () => {
  const users = new AclUsers(['# app users', 'user app on >s3cret ~app:* +@read +@write', 'user ro on >r %R~* +@read', ''], 'legacy');
  assert.deepEqual(users.names(), ['app', 'default', 'ro']);
  assert.equal(users.initialUser(), undefined, 'default needs the legacy password');
  assert.ok(users.authenticate('default', Buffer.from('legacy')));
  assert.equal(users.authenticate('app', Buffer.from('wrong')), undefined);
  const app = users.authenticate('app', Buffer.from('s3cret'));
  assert.ok(app);
  const get = view('get', 'other:1');
  assert.equal(
    users.deny(app, lookupCommand(get)!, get),
    'NOPERM this user has no permissions to access one of the keys used as arguments',
  );
  const cfg = view('config', 'get', 'maxmemory');
  assert.equal(users.deny(app, lookupCommand(cfg)!, cfg), "NOPERM this user has no permissions to run the 'config|get' command");
  assert.throws(() => new AclUsers(['user a on', 'user a off']), /line 2: Duplicate user 'a'/);
  assert.throws(() => new AclUsers(['user a on +nosuch']), /line 1: ERR Error in ACL SETUSER modifier '\+nosuch'/);
  assert.ok(new AclUsers([]).initialUser(), 'no password: default is logged in from the start');
});
