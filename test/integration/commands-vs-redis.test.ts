// The command table (src/commands/) compared with a real redis-server 7.0: COMMAND GETKEYS /
// GETKEYSANDFLAGS, COMMAND INFO/DOCS structure (RESP2 and RESP3), numkeys/syntax/unknown-command error
// wording. Moved from test/unit (it starts a server). Expected duration: about 5 s.
import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { keyIndexes, lookupCommand, resolveCommand } from '../../src/commands/table.js';
import { commandReply } from '../../src/commands/command-reply.js';
import { startRedisServer, type RedisServer } from '../../src/util/redis-server.js';
import { decodeValue } from '../../src/resp/value-decoder.js';
import type { RespValue } from '../../src/resp/encode.js';
import { view, parseAll, str, arrOf } from '../helpers/resp-values.js';

type Resp = RespValue;
const parse = decodeValue;

/** A raw RESP connection to redis-server keeping the reply bytes; every call has a deadline. */
class Conn {
  private buf = Buffer.alloc(0);
  private waiters: Array<(b: Buffer) => void> = [];
  private constructor(private readonly sock: net.Socket) {
    sock.on('data', (d) => {
      this.buf = Buffer.concat([this.buf, d]);
      while (this.waiters.length) {
        const r = parse(this.buf);
        if (!r) break;
        const out = Buffer.from(this.buf.subarray(0, r[1]));
        this.buf = this.buf.subarray(r[1]);
        this.waiters.shift()!(out);
      }
    });
    sock.on('error', () => {});
  }
  static open(port: number): Promise<Conn> {
    return new Promise((resolve, reject) => {
      const s = net.connect(port, '127.0.0.1', () => resolve(new Conn(s)));
      s.once('error', reject);
    });
  }
  call(...args: string[]): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no reply to ${args.join(' ').slice(0, 80)} within 5 s`)), 5000);
      this.waiters.push((b) => {
        clearTimeout(t);
        resolve(b);
      });
      let out = `*${args.length}\r\n`;
      for (const a of args) out += `$${Buffer.byteLength(a)}\r\n${a}\r\n`;
      this.sock.write(out);
    });
  }
  close(): void {
    this.sock.destroy();
  }
}

const jsonFile = JSON.parse(
  readFileSync(fileURLToPath(new URL('../../../src/commands/redis-7.0-commands.json', import.meta.url)), 'utf8'),
) as { commands: { [n: string]: { subcommands?: string[] } } };
const redisNames = Object.keys(jsonFile.commands);

describe('against a real redis-server 7.0', () => {
  let srv: RedisServer;
  let c2: Conn;
  let c3: Conn;

  before(async () => {
    srv = await startRedisServer();
    c2 = await Conn.open(srv.port);
    c3 = await Conn.open(srv.port);
    await c3.call('HELLO', '3');
    await c2.call('FUNCTION', 'LOAD', "#!lua name=lib\nredis.register_function('f', function(keys, args) return 1 end)");
  });
  after(async () => {
    c2?.close();
    c3?.close();
    await srv?.stop();
  });

  const SAMPLES: string[][] = [
    ['get', 'k1'],
    ['set', 'k1', 'v', 'EX', '5'],
    ['set', 'k1', 'v', 'GET'],
    ['getex', 'k1', 'PERSIST'],
    ['mset', 'a1', '1', 'b1', '2', 'c1', '3'],
    ['mget', 'a1', 'b1', 'c1'],
    ['msetnx', 'a1', '1', 'b1', '2'],
    ['del', 'a1', 'b1'],
    ['exists', 'a1', 'b1', 'c1'],
    ['unlink', 'a1'],
    ['touch', 'a1', 'b1'],
    ['eval', 'return 1', '0'],
    ['eval', 'return 1', '2', 'k1', 'k2', 'arg'],
    ['evalsha_ro', 'abc', '1', 'k1'],
    ['fcall', 'f', '2', 'k1', 'k2', 'x'],
    ['xread', 'COUNT', '5', 'STREAMS', 's1', 's2', '0', '0'],
    ['xread', 'STREAMS', 's1', '$'],
    ['xreadgroup', 'GROUP', 'g', 'c', 'COUNT', '1', 'STREAMS', 's1', 's2', '>', '>'],
    ['zunionstore', 'dst', '2', 'z1', 'z2', 'WEIGHTS', '1', '2'],
    ['zunion', '2', 'z1', 'z2', 'WITHSCORES'],
    ['zinterstore', 'dst', '3', 'z1', 'z2', 'z3'],
    ['zdiffstore', 'dst', '1', 'z1'],
    ['zrangestore', 'dst', 'z1', '0', '-1'],
    ['lmpop', '2', 'l1', 'l2', 'LEFT', 'COUNT', '2'],
    ['zmpop', '1', 'z1', 'MIN'],
    ['blmpop', '0', '2', 'l1', 'l2', 'LEFT'],
    ['sintercard', '3', 's1', 's2', 's3', 'LIMIT', '1'],
    ['zintercard', '2', 'z1', 'z2'],
    ['sort', 'k1'],
    ['sort', 'k1', 'BY', 'nosort', 'STORE', 'dst'],
    ['sort', 'k1', 'LIMIT', '0', '10', 'GET', '#', 'STORE', 'dst'],
    ['sort_ro', 'k1', 'ALPHA'],
    ['georadius', 'g1', '0', '0', '10', 'm', 'STORE', 'dst'],
    ['georadius', 'g1', '0', '0', '10', 'm', 'STOREDIST', 'dd'],
    ['georadiusbymember', 'g1', 'm', '10', 'km', 'STORE', 'dst'],
    ['geosearchstore', 'dst', 'g1', 'FROMMEMBER', 'm', 'BYRADIUS', '1', 'km'],
    ['object', 'encoding', 'k1'],
    ['object', 'freq', 'k1'],
    ['memory', 'usage', 'k1', 'SAMPLES', '5'],
    ['xinfo', 'stream', 's1', 'FULL'],
    ['xgroup', 'create', 's1', 'g', '$', 'MKSTREAM'],
    ['rename', 'a1', 'b1'],
    ['smove', 'a1', 'b1', 'm'],
    ['lmove', 'a1', 'b1', 'LEFT', 'RIGHT'],
    ['rpoplpush', 'a1', 'b1'],
    ['copy', 'a1', 'b1', 'REPLACE'],
    ['pfcount', 'a1', 'b1', 'c1'],
    ['pfmerge', 'dst', 'a1', 'b1'],
    ['bitop', 'AND', 'dst', 'a1', 'b1'],
    ['bitfield', 'k1', 'GET', 'u8', '0'],
    ['bitfield', 'k1', 'SET', 'u8', '0', '1'],
    ['restore', 'k1', '0', 'payload'],
    ['dump', 'k1'],
    ['type', 'k1'],
    ['hset', 'h1', 'f', 'v'],
    ['xadd', 's1', '*', 'f', 'v'],
    ['lcs', 'a1', 'b1'],
    ['sunionstore', 'dst', 'a1', 'b1'],
    ['blpop', 'l1', 'l2', '0'],
  ];

  test('COMMAND GETKEYS / GETKEYSANDFLAGS match Redis', async () => {
    let compared = 0;
    for (const cmd of SAMPLES) {
      const theirs = parseAll(await c2.call('COMMAND', 'GETKEYS', ...cmd));
      if (theirs.t === 'error') {
        assert.match(theirs.v, /no key arguments/, `${cmd.join(' ')}: ${theirs.v}`);
        continue;
      }
      const a = view(...cmd);
      const s = lookupCommand(a)!;
      const mine = keyIndexes(s, a);
      assert.ok(mine.ok, `${cmd.join(' ')}: ${mine.ok ? '' : mine.error}`);
      assert.deepEqual(
        mine.keys.map((i) => cmd[i]),
        arrOf(theirs).map(str),
        cmd.join(' '),
      );
      for (const proto of [2, 3] as const) {
        const conn = proto === 2 ? c2 : c3;
        const expected = await conn.call('COMMAND', 'GETKEYSANDFLAGS', ...cmd);
        assert.equal(
          commandReply(view('COMMAND', 'GETKEYSANDFLAGS', ...cmd), proto).toString(),
          expected.toString(),
          `RESP${proto} ${cmd.join(' ')}`,
        );
      }
      compared++;
    }
    assert.ok(compared >= 40, `only ${compared} commands compared`);
  });

  test("COMMAND INFO and COMMAND DOCS have Redis's exact structure (RESP2 and RESP3)", async () => {
    // Subcommand order inside a container follows Redis's dict iteration, which changes between
    // processes (and rehash steps), so containers are compared with subcommands sorted.
    const norm = (r: Resp): Resp => {
      if (r.t === 'array' && r.v.length === 10 && r.v[0]!.t === 'bulk' && r.v[1]!.t === 'int') {
        const subs = r.v[9]!;
        if (subs.t === 'array') {
          return {
            t: 'array',
            v: [...r.v.slice(0, 9), { t: 'array', v: subs.v.map(norm).sort((x, y) => str(arrOf(x)[0]!).localeCompare(str(arrOf(y)[0]!))) }],
          };
        }
        return r;
      }
      if (r.t === 'map') {
        return {
          t: 'map',
          v: r.v.map(
            ([k, v]) =>
              [
                k,
                k.t === 'bulk' && k.v === 'subcommands' && v.t === 'map'
                  ? {
                      t: 'map',
                      v: [...v.v].sort((x, y) => str(x[0]).localeCompare(str(y[0]))).map(([a, b]) => [a, norm(b)] as [Resp, Resp]),
                    }
                  : norm(v),
              ] as [Resp, Resp],
          ),
        };
      }
      if (r.t === 'array' || r.t === 'set') {
        const v = r.v.map(norm);
        // RESP2 DOCS: the subcommands map is a flat [name, docs, name, docs, ...] array
        for (let i = 0; i + 1 < v.length; i++) {
          const next = v[i + 1]!;
          if (v[i]!.t === 'bulk' && (v[i] as { v: string }).v === 'subcommands' && next.t === 'array' && next.v.length % 2 === 0) {
            const pairs: Resp[][] = [];
            for (let j = 0; j < next.v.length; j += 2) pairs.push([next.v[j]!, next.v[j + 1]!]);
            pairs.sort((x, y) => str(x[0]!).localeCompare(str(y[0]!)));
            v[i + 1] = { t: 'array', v: pairs.flat() };
          }
        }
        return { t: r.t, v };
      }
      return r;
    };
    const skip = new Set(['client']); // the proxy adds CLIENT SETINFO
    for (const name of redisNames.filter((n) => !n.includes('|') && !skip.has(n))) {
      for (const proto of [2, 3] as const) {
        const conn = proto === 2 ? c2 : c3;
        for (const sub of ['INFO', 'DOCS']) {
          const theirs = await conn.call('COMMAND', sub, name);
          const mine = commandReply(view('command', sub.toLowerCase(), name.toUpperCase()), proto);
          if (!jsonFile.commands[name]!.subcommands) {
            assert.equal(mine.toString(), theirs.toString(), `COMMAND ${sub} ${name} RESP${proto}`);
          } else {
            assert.deepEqual(norm(parseAll(mine)), norm(parseAll(theirs)), `COMMAND ${sub} ${name} RESP${proto}`);
          }
        }
      }
    }
    // subcommands by full name, and unknown names
    for (const proto of [2, 3] as const) {
      const conn = proto === 2 ? c2 : c3;
      for (const args of [
        ['INFO', 'object|encoding', 'nosuch', 'get'],
        ['DOCS', 'xinfo|stream', 'nosuch'],
        ['INFO', 'client|setname'],
      ]) {
        const theirs = await conn.call('COMMAND', ...args);
        assert.equal(commandReply(view('COMMAND', ...args), proto).toString(), theirs.toString(), `RESP${proto} ${args.join(' ')}`);
      }
      for (const args of [
        ['HELP'],
        ['GETKEYS', 'get', 'a', 'b'],
        ['GETKEYS', 'nosuch', 'a'],
        ['GETKEYS', 'ping', 'x'],
        ['GETKEYS', 'eval', 'return 1', '0'],
        ['COUNT', 'x'],
        ['foo'],
        ['LIST', 'x'],
        ['LIST', 'FILTERBY', 'module', 'x'],
      ]) {
        const theirs = await conn.call('COMMAND', ...args);
        assert.equal(commandReply(view('COMMAND', ...args), proto).toString(), theirs.toString(), `RESP${proto} COMMAND ${args.join(' ')}`);
      }
    }
  });

  test("numkeys and syntax errors use Redis's wording", async () => {
    const cases: string[][] = [
      ['eval', 'return 1', 'x'],
      ['eval', 'return 1', '-1'],
      ['eval', 'return 1', '3', 'a'],
      ['fcall', 'f', 'x'],
      ['fcall', 'f', '-1'],
      ['fcall', 'f', '3', 'a'],
      ['fcall_ro', 'f', '3', 'a'],
      ['zunion', 'x', 'a'],
      ['zunion', '0', 'a'],
      ['zunion', '-1', 'a'],
      ['zunion', '3', 'a'],
      ['zunionstore', 'd', 'x', 'a'],
      ['zunionstore', 'd', '0', 'a'],
      ['zunionstore', 'd', '5', 'a'],
      ['lmpop', 'x', 'a', 'left'],
      ['lmpop', '0', 'a', 'left'],
      ['lmpop', '5', 'a', 'left'],
      ['lmpop', '-1', 'a', 'left'],
      ['zmpop', '3', 'a', 'min'],
      ['sintercard', 'x', 'a'],
      ['sintercard', '0', 'a'],
      ['sintercard', '3', 'a'],
      ['zintercard', 'x', 'a'],
      ['zintercard', '0', 'a'],
      ['zintercard', '3', 'a'],
      ['mset', 'a', '1', 'b'],
      ['msetnx', 'a', '1', 'b'],
      ['xread', 'count', '1', 'streams'],
    ];
    for (const cmd of cases) {
      const theirs = parseAll(await c2.call(...cmd));
      assert.equal(theirs.t, 'error', cmd.join(' '));
      const a = view(...cmd);
      const s = resolveCommand(a);
      const mine = typeof s === 'string' ? s : keyIndexes(s, a);
      const err = typeof mine === 'string' ? mine : mine.ok ? `(keys ${mine.keys.join(',')})` : mine.error;
      assert.equal(err, (theirs as { v: string }).v, cmd.join(' '));
    }
  });

  test('unknown command / subcommand / arity errors match Redis', async () => {
    for (const cmd of [
      ['nosuch', 'a', 'b'],
      ['nosuch'],
      ['object'],
      ['object', 'foo', 'x'],
      ['xinfo', 'Foo'],
      ['get'],
      ['get', 'a', 'b'],
      ['object', 'encoding'],
      ['Config', 'nope'],
      ['x'.repeat(200), 'y'.repeat(200), 'z'],
    ]) {
      const theirs = parseAll(await c2.call(...cmd));
      const mine = resolveCommand(view(...cmd));
      assert.equal(typeof mine, 'string', cmd.join(' '));
      assert.equal(mine, (theirs as { v: string }).v, cmd.join(' '));
    }
  });
});
