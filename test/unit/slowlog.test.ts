// The slow log's ring (reused slots and byte buffers): what SLOWLOG GET shows must not change when
// slots are reused, long arguments and long commands are cut as before, newest first, bounded.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SlowLog } from '../../src/proxy/slowlog.js';
import { RequestParser, type Request } from '../../src/resp/request-parser.js';
import { encodeCommand, encode } from '../../src/resp/encode.js';

function req(args: string[]): Request {
  const p = new RequestParser();
  p.feed(encodeCommand(args));
  const r = p.next();
  assert.ok(r);
  return r;
}

const client = { remote: '127.0.0.1:5000', name: 'c1' };

/** SLOWLOG GET as the arguments of each entry, newest first. */
function argsOf(log: SlowLog, count = -1): string[][] {
  const text = encode(log.get(count), 2).toString('latin1');
  // Each entry: *6 :id :time :us *N $len arg ... $client $name
  const out: string[][] = [];
  const lines = text.split('\r\n');
  let i = 1;
  while (i < lines.length - 1) {
    assert.equal(lines[i], '*6');
    i += 4; // *6, :id, :time, :us
    const n = Number(lines[i]!.slice(1));
    i++;
    const args: string[] = [];
    for (let k = 0; k < n; k++) {
      args.push(lines[i + 1]!);
      i += 2;
    }
    out.push(args);
    assert.equal(lines[i + 1], client.remote);
    assert.equal(lines[i + 3], client.name);
    i += 4;
  }
  return out;
}

test('slow log: newest first, bounded by its length, GET count, RESET', () => {
  const log = new SlowLog(3);
  for (let i = 0; i < 5; i++) log.add(req(['SET', `k${i}`, `v${i}`]), 1000 + i, client);
  assert.equal(log.length, 3);
  assert.deepEqual(argsOf(log), [
    ['SET', 'k4', 'v4'],
    ['SET', 'k3', 'v3'],
    ['SET', 'k2', 'v2'],
  ]);
  assert.deepEqual(argsOf(log, 1), [['SET', 'k4', 'v4']]);
  assert.deepEqual(argsOf(log, 10).length, 3);
  const ids = encode(log.get(-1), 2)
    .toString('latin1')
    .match(/\*6\r\n:(\d+)/g);
  assert.deepEqual(ids, ['*6\r\n:4', '*6\r\n:3', '*6\r\n:2']);
  log.reset();
  assert.equal(log.length, 0);
  assert.deepEqual(argsOf(log), []);
  log.add(req(['GET', 'after-reset']), 5, client);
  assert.deepEqual(argsOf(log), [['GET', 'after-reset']]);
});

test('slow log: a reused slot shows the new command only (shorter after longer, longer after shorter)', () => {
  const log = new SlowLog(1);
  log.add(req(['MSET', 'aaaaaaaaaa', 'bbbbbbbbbb', 'cccccccccc', 'dddddddddd']), 1, client);
  const before = log.get(-1);
  log.add(req(['GET', 'x']), 1, client);
  assert.deepEqual(argsOf(log), [['GET', 'x']]);
  log.add(req(['SET', 'y'.repeat(100), 'z'.repeat(100)]), 1, client);
  assert.deepEqual(argsOf(log), [['SET', 'y'.repeat(100), 'z'.repeat(100)]]);
  // A GET answer taken earlier keeps its own bytes.
  assert.match(encode(before, 2).toString('latin1'), /aaaaaaaaaa\r\n\$10\r\nbbbbbbbbbb/);
});

test('slow log: arguments over 128 bytes and commands over 32 arguments are cut as Redis does', () => {
  const log = new SlowLog(4);
  log.add(req(['SET', 'k', 'x'.repeat(300)]), 1, client);
  assert.deepEqual(argsOf(log)[0], ['SET', 'k', `${'x'.repeat(128)}... (172 more bytes)`]);
  const many = ['DEL', ...Array.from({ length: 40 }, (_, i) => `key${i}`)];
  log.add(req(many), 1, client);
  const got = argsOf(log)[0]!;
  assert.equal(got.length, 32);
  assert.deepEqual(got.slice(0, 31), many.slice(0, 31));
  assert.equal(got[31], '... (10 more arguments)');
  log.add(req(['DEL', ...Array.from({ length: 31 }, () => 'q'.repeat(200))]), 1, client);
  const cut = argsOf(log)[0]!;
  assert.equal(cut.length, 32);
  assert.equal(cut[31], `${'q'.repeat(128)}... (72 more bytes)`);
});

test('slow log: length 0 logs nothing', () => {
  const log = new SlowLog(0);
  log.add(req(['GET', 'k']), 1, client);
  assert.equal(log.length, 0);
});
