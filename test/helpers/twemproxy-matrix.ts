// The placement matrix shared by the Twemproxy-mode tests and benchmark: one nutcracker.yml with a
// pool per (hash function x distribution) over the same redis-servers, each pool in its own redis
// DB, with mixed weights, named and unnamed servers and hash tags; the keys to write (binary bytes,
// tags, every tail length); and where each key really landed, asked of the servers directly.
import type { Redis } from 'ioredis';
import { HASH_NAMES } from '../../src/twemproxy/hashes.js';

export interface MatrixPool {
  name: string;
  db: number;
  text: string;
}

/** Servers are `host:port` addresses of running redis-servers (at least 4). */
export function matrixPools(servers: readonly string[]): Array<{ name: string; db: number; body: (listen: string) => string }> {
  const [a, b, c, d] = servers as [string, string, string, string];
  const out: Array<{ name: string; db: number; body: (listen: string) => string }> = [];
  let db = 0;
  const add = (name: string, lines: string[], serverLines: string[]): void => {
    const myDb = db++;
    out.push({
      name,
      db: myDb,
      body: (listen) =>
        [
          `${name}:`,
          `  listen: ${listen}`,
          ...lines.map((l) => `  ${l}`),
          '  redis: true',
          `  redis_db: ${myDb}`,
          '  servers:',
          ...serverLines.map((s) => `   - ${s}`),
          '',
        ].join('\n'),
    });
  };
  HASH_NAMES.forEach((h, i) => {
    // ketama: unequal weights, two named servers, hash tags on every other pool.
    add(
      `k_${h}`,
      [`hash: ${h}`, 'distribution: ketama', ...(i % 2 === 0 ? ['hash_tag: "{}"'] : [])],
      [`${a}:1`, `${b}:2 node-b`, `${c}:1`, `${d}:3 node-d`],
    );
    // modula: weights make the array longer than the server count; '$$' tags on every third pool.
    add(
      `m_${h}`,
      [`hash: ${h}`, 'distribution: modula', ...(i % 3 === 0 ? ['hash_tag: "$$"'] : [])],
      [`${a}:2`, `${b}:1`, `${c}:3`, `${d}:1`],
    );
  });
  add('k_named', ['distribution: ketama'], [`${a}:1 alpha`, `${b}:1 beta`, `${c}:1 gamma`, `${d}:1 delta`]);
  add('k_equal', ['hash: murmur', 'distribution: ketama'], [`${a}:1`, `${b}:1`, `${c}:1`, `${d}:1`]);
  add('k_default', [], [`${a}:1`, `${b}:1`, `${c}:1`]);
  return out;
}

/** Keys covering every tail length, bytes >= 0x80 (sign extension), tags, empty tags. */
export function matrixKeys(n: number): Buffer[] {
  const keys: Buffer[] = [];
  const fixed = ['{user1}:a', '{user1}:b', '{}x', 'a{b', '$t$:1', '$t$:2', '$$y', 'x', '{', '}', '{}', 'ключ', 'キー', 'naïve'];
  for (const f of fixed) keys.push(Buffer.from(f));
  keys.push(Buffer.from([0xff, 0x80, 0x7f]), Buffer.from([0xc3]), Buffer.from([0x90, 0x91, 0x92, 0x93, 0x94]));
  for (let i = 0; keys.length < n; i++) {
    const len = 1 + (i % 41);
    const base = `k${i}:`;
    let s = base + 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJ'.slice(0, Math.max(0, len - base.length));
    if (i % 7 === 0) s = `{tag${i % 50}}${s}`;
    if (i % 11 === 0) s = `$t${i % 30}$${s}`;
    const buf = Buffer.from(s);
    if (i % 13 === 0) buf[buf.length - 1] = 0x80 + (i % 128);
    keys.push(buf);
  }
  return keys.slice(0, n);
}

/** For each server (index into `servers`), the keys it holds in `db` (hex-encoded). */
export async function keysOnServers(clients: readonly Redis[], db: number): Promise<Map<string, number>> {
  const where = new Map<string, number>();
  for (let i = 0; i < clients.length; i++) {
    const c = clients[i]!;
    await c.select(db);
    let cursor = '0';
    for (let rounds = 0; rounds < 100000; rounds++) {
      const [next, keys] = await c.scanBuffer(cursor, 'COUNT', 1000);
      for (const k of keys) where.set(k.toString('hex'), i);
      cursor = String(next);
      if (cursor === '0') break;
    }
  }
  return where;
}
