#!/usr/bin/env node
// Generates src/commands/redis-7.0-commands.json: the command metadata (COMMAND INFO + COMMAND DOCS,
// including subcommands) of a real redis-server 7.0, read over RESP3. The proxy uses it for key
// positions (key specs) and to answer COMMAND INFO / COMMAND DOCS itself.
//
// Usage: npm run build && node scripts/gen-commands.mjs [--bin /usr/bin/redis-server] [--out path]
//
// The script re-encodes every entry from the JSON with the same rules command-reply.ts uses and
// compares it byte for byte with what Redis sent, so a shape it does not understand fails loudly.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const argv = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : dflt;
};
const BIN = opt('--bin', 'redis-server');
const OUT = opt('--out', join(here, '..', 'src', 'commands', 'redis-7.0-commands.json'));

// ---------------------------------------------------------------------------------------------
// Minimal RESP3 client keeping wire types (values decoded by the proxy's decodeValue: run `npm run
// build` first)
const { decodeValue: parse } = await import('../dist/src/resp/value-decoder.js');

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}

function encodeCmd(args) {
  let s = `*${args.length}\r\n`;
  for (const a of args) s += `$${Buffer.byteLength(a)}\r\n${a}\r\n`;
  return s;
}

function connect(port) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    const waiters = [];
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        if (!waiters.length) break;
        const r = parse(buf, 0);
        if (!r) break;
        const raw = buf.subarray(0, r[1]);
        buf = buf.subarray(r[1]);
        waiters.shift()({ value: r[0], raw: Buffer.from(raw) });
      }
    });
    sock.on('error', reject);
    sock.on('connect', () =>
      resolve({
        call: (...args) =>
          new Promise((res) => {
            waiters.push(res);
            sock.write(encodeCmd(args));
          }),
        close: () => sock.destroy(),
      }),
    );
  });
}

async function startRedis() {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'shardis-gen-commands-'));
  const child = spawn(BIN, ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  const deadline = Date.now() + 10000;
  for (;;) {
    try {
      const c = await connect(port);
      const r = await c.call('PING');
      c.close();
      if (r.value.v === 'PONG') break;
    } catch {
      /* not up yet */
    }
    if (Date.now() > deadline || child.exitCode !== null) throw new Error('redis-server did not start');
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    port,
    stop: () => {
      child.kill('SIGKILL');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Wire value -> compact JSON (and back, for the self-check)

const str = (x) => {
  if (x.t !== 'bulk' && x.t !== 'simple') throw new Error(`expected string, got ${x.t}`);
  return x.v;
};
const strs = (x) => x.v.map(str);
/** A map of bulk keys to scalar/nested values -> plain object (order kept). */
function plain(x) {
  switch (x.t) {
    case 'bulk':
    case 'simple':
    case 'int':
      return x.v;
    case 'map':
      return Object.fromEntries(x.v.map(([k, v]) => [str(k), docValue(str(k), v)]));
    case 'array':
    case 'set':
      return x.v.map(plain);
    default:
      throw new Error(`unexpected ${x.t}`);
  }
}
function docValue(key, v) {
  if (key === 'flags' || key === 'doc_flags') return strs(v);
  if (key === 'history') return v.v.map((h) => strs(h));
  if (key === 'arguments') return v.v.map(plain);
  return plain(v);
}

function infoToJson(x) {
  const [name, arity, flags, first, last, step, acl, tips, keySpecs, subs] = x.v;
  return {
    name: str(name),
    entry: {
      arity: arity.v,
      flags: strs(flags),
      first: first.v,
      last: last.v,
      step: step.v,
      acl: strs(acl),
      tips: strs(tips),
      key_specs: keySpecs.v.map(plain),
    },
    subs: subs.v,
  };
}

// Re-encoding with the rules command-reply.ts uses (RESP3 only here; RESP2 is the same tree flattened).
const enc = {
  bulk: (s) => `$${Buffer.byteLength(s)}\r\n${s}\r\n`,
  simple: (s) => `+${s}\r\n`,
  int: (n) => `:${n}\r\n`,
};
function encPlain(key, v) {
  if (key === 'flags' || key === 'doc_flags') return `~${v.length}\r\n` + v.map(enc.simple).join('');
  if (key === 'history') return `~${v.length}\r\n` + v.map((h) => `*${h.length}\r\n` + h.map(enc.bulk).join('')).join('');
  if (typeof v === 'number') return enc.int(v);
  if (typeof v === 'string') return enc.bulk(v);
  if (Array.isArray(v)) return `*${v.length}\r\n` + v.map((e) => encPlain('', e)).join('');
  const ks = Object.keys(v);
  return `%${ks.length}\r\n` + ks.map((k) => enc.bulk(k) + encPlain(k, v[k])).join('');
}
function encInfo(name, table) {
  const e = table[name];
  return (
    '*10\r\n' +
    enc.bulk(name) +
    enc.int(e.arity) +
    `~${e.flags.length}\r\n` +
    e.flags.map(enc.simple).join('') +
    enc.int(e.first) +
    enc.int(e.last) +
    enc.int(e.step) +
    `~${e.acl.length}\r\n` +
    e.acl.map(enc.simple).join('') +
    `~${e.tips.length}\r\n` +
    e.tips.map(enc.bulk).join('') +
    `~${e.key_specs.length}\r\n` +
    e.key_specs.map((k) => encPlain('', k)).join('') +
    // Redis 7.0 quirk: no subcommands is an empty *set*, otherwise an array.
    (e.subcommands ? `*${e.subcommands.length}\r\n` + e.subcommands.map((s) => encInfo(s, table)).join('') : '~0\r\n')
  );
}
function encDocs(name, table, docsOrder) {
  const d = table[name].docs;
  const subs = docsOrder[name] ?? table[name].subcommands;
  const ks = Object.keys(d);
  let out = `%${ks.length + (subs ? 1 : 0)}\r\n` + ks.map((k) => enc.bulk(k) + encPlain(k, d[k])).join('');
  if (subs) out += enc.bulk('subcommands') + `%${subs.length}\r\n` + subs.map((s) => enc.bulk(s) + encDocs(s, table, docsOrder)).join('');
  return out;
}

// ---------------------------------------------------------------------------------------------

async function main() {
  const srv = await startRedis();
  try {
    const c = await connect(srv.port);
    const hello = await c.call('HELLO', '3');
    const version = str(hello.value.v.find(([k]) => k.v === 'version')[1]);
    if (!version.startsWith('7.0.')) console.warn(`warning: generating from redis ${version}, expected 7.0.x`);

    const list = (await c.call('COMMAND', 'LIST')).value.v.map(str);
    const topLevel = list.filter((n) => !n.includes('|')).sort();
    const table = {};
    const docsOrder = {};

    const addInfo = (x) => {
      const { name, entry, subs } = infoToJson(x);
      table[name] = entry;
      if (subs.length) {
        entry.subcommands = subs.map((s) => addInfo(s));
      }
      return name;
    };
    const addDocs = (name, d) => {
      const obj = {};
      for (const [k, v] of d.v) {
        const key = str(k);
        if (key === 'subcommands') {
          // Redis iterates its subcommand dict; the order can change between calls (rehash steps).
          const order = v.v.map(([sk]) => str(sk));
          const mine = table[name].subcommands ?? [];
          if ([...order].sort().join() !== [...mine].sort().join()) throw new Error(`${name}: DOCS and INFO subcommands differ`);
          docsOrder[name] = order;
          for (const [sk, sv] of v.v) addDocs(str(sk), sv);
        } else obj[key] = docValue(key, v);
      }
      table[name].docs = obj;
    };

    const rawInfo = {};
    const rawDocs = {};
    for (const name of topLevel) {
      const info = await c.call('COMMAND', 'INFO', name);
      addInfo(info.value.v[0]);
      rawInfo[name] = info.raw;
      const docs = await c.call('COMMAND', 'DOCS', name);
      if (docs.value.v.length !== 1) throw new Error(`no docs for ${name}`);
      addDocs(name, docs.value.v[0][1]);
      rawDocs[name] = docs.raw;
    }
    for (const n of list) if (!table[n]) throw new Error(`COMMAND LIST names ${n} but COMMAND INFO did not return it`);

    // Self-check: every top-level reply re-encodes byte for byte.
    for (const name of topLevel) {
      const info = `*1\r\n${encInfo(name, table)}`;
      if (info !== rawInfo[name].toString('utf8')) throw new Error(`COMMAND INFO ${name}: re-encoding differs`);
      const docs = `%1\r\n${enc.bulk(name)}${encDocs(name, table, docsOrder)}`;
      if (docs !== rawDocs[name].toString('utf8')) throw new Error(`COMMAND DOCS ${name}: re-encoding differs`);
    }

    const help = (await c.call('COMMAND', 'HELP')).value.v.map(str);
    c.close();

    // Redis's subcommand order is its dict iteration order (random per process): store them sorted so
    // regenerating gives the same file. Top-level names sorted, each container followed by its subcommands.
    for (const e of Object.values(table)) if (e.subcommands) e.subcommands.sort();
    const commands = {};
    for (const name of topLevel) {
      commands[name] = table[name];
      for (const s of table[name].subcommands ?? []) commands[s] = table[s];
    }
    const out = {
      redis_version: version,
      generated_by: 'scripts/gen-commands.mjs',
      count: topLevel.length,
      help: { command: help },
      commands,
    };
    writeFileSync(OUT, JSON.stringify(out) + '\n');
    console.log(`wrote ${OUT}: ${topLevel.length} commands, ${Object.keys(commands).length} entries with subcommands (redis ${version})`);
  } finally {
    srv.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
