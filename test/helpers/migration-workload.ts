// Test fixture for migration tests: a bounded client workload through the proxies (INCR counters,
// list pushes, hash updates, keys with TTLs, MGET readers, two DBs, updates to big keys) that records
// every acknowledged write, and the checks run afterwards against the redis servers directly.
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { slotOf } from '../../src/slots/hash.js';

export interface Workload {
  /** Stops the writers and waits for them. */
  stop(): Promise<void>;
  ops(): number;
  errors(): string[];
  /** Checks every acknowledged write through a proxy (and the TTLs). */
  verify(port: number): Promise<void>;
}

const N_KEYS = 64;
let runs = 0;

/** Runs writers/readers against the proxy ports until stop(); `big` names big keys to update too. */
export function startWorkload(ports: number[], big: { hash?: string; list?: string } = {}, concurrency = 4): Workload {
  const clients: Redis[] = [];
  const counters = new Map<string, number>();
  const lists = new Map<string, number>();
  const hashes = new Map<string, Map<string, string>>();
  const ttlKeys = new Set<string>();
  let bigHashIncr = 0,
    bigListPush = 0;
  const pushed: string[] = [];
  const errors: string[] = [];
  let ops = 0;
  let running = true;
  const r = `r${++runs}.${process.pid}`; // keys of this run only (counters start at 0)
  const mk = (port: number, db: number): Redis => {
    const c = new Redis({ port, host: '127.0.0.1', db, maxRetriesPerRequest: 0, enableOfflineQueue: true, lazyConnect: false });
    c.on('error', () => {});
    clients.push(c);
    return c;
  };
  const transient = (e: Error): boolean => /^TRYAGAIN/.test(e.message);
  // A write that failed may or may not have been applied: its key is then no longer checked exactly
  // (and never tracked again, or its count would restart from 0 beside the real value).
  const uncertain = new Set<string>();
  const bump = (key: string): void => {
    if (!uncertain.has(key)) counters.set(key, (counters.get(key) ?? 0) + 1);
  };
  const worker = async (w: number): Promise<void> => {
    const port = ports[w % ports.length]!;
    const c0 = mk(port, 0);
    const c2 = mk(port, 2);
    let i = 0;
    while (running) {
      i++;
      const k = (i * 7 + w) % N_KEYS;
      let tracked = ''; // the tracking key of the write in flight
      try {
        switch (i % 8) {
          case 0: {
            const key = `${r}:cnt:${k}`;
            tracked = key;
            await c0.incr(key);
            bump(key);
            break;
          }
          case 1: {
            const key = `${r}:db2cnt:${k}`;
            tracked = `db2/${key}`;
            await c2.incr(key);
            bump(tracked);
            break;
          }
          case 2: {
            const key = `${r}:list:${k}:${w}`;
            tracked = key;
            const n = (lists.get(key) ?? 0) + 1;
            await c0.rpush(key, String(n));
            if (!uncertain.has(key)) lists.set(key, n);
            break;
          }
          case 3: {
            const key = `${r}:hash:${k}`,
              f = `f${w}`,
              v = `${i}`;
            await c0.hset(key, f, v);
            let h = hashes.get(key);
            if (!h) {
              h = new Map();
              hashes.set(key, h);
            }
            h.set(f, v);
            break;
          }
          case 4: {
            const key = `${r}:ttl:${k}:${w}`;
            await c0.set(key, 'x', 'PX', 600000);
            ttlKeys.add(key);
            break;
          }
          case 5: {
            const keys = Array.from({ length: 8 }, (_, j) => `${r}:cnt:${(k + j * 5) % N_KEYS}`);
            const before = keys.map((x) => counters.get(x) ?? 0);
            const got = await c0.mget(...keys);
            got.forEach((v, j) => {
              if (Number(v ?? 0) < before[j]!) errors.push(`MGET ${keys[j]} = ${v} < acked ${before[j]}`);
            });
            break;
          }
          case 6:
            if (big.hash && w === 0) {
              tracked = 'big hash';
              await c0.hincrby(big.hash, `counter:${r}`, 1);
              bigHashIncr++;
            } else {
              const key = `${r}:cnt:${k}`;
              tracked = key;
              await c0.incr(key);
              bump(key);
            }
            break;
          case 7:
            if (big.list && w === 1) {
              tracked = 'big list';
              const v = `w${r}:${i}`;
              await c0.rpush(big.list, v);
              pushed.push(v);
              bigListPush++;
            } else {
              await c0.mset(`m:${k}`, String(i), `m:${(k + 1) % N_KEYS}`, String(i));
            }
            break;
        }
        ops++;
      } catch (e) {
        if (!transient(e as Error)) errors.push(`${(e as Error).message}`);
        if (tracked) {
          uncertain.add(tracked);
          counters.delete(tracked);
          lists.delete(tracked);
        }
        await new Promise((r) => setTimeout(r, 5));
      }
      if (i % 50 === 0) await new Promise((r) => setImmediate(r));
    }
  };
  const done = Promise.all(Array.from({ length: concurrency }, (_, w) => worker(w)));
  return {
    ops: () => ops,
    errors: () => errors,
    stop: async () => {
      running = false;
      await done;
      for (const c of clients) c.disconnect();
    },
    verify: async (port: number) => {
      const c0 = new Redis({ port, host: '127.0.0.1' });
      const c2 = new Redis({ port, host: '127.0.0.1', db: 2 });
      try {
        for (const [key, n] of counters) {
          const v = key.startsWith('db2/') ? await c2.get(key.slice(4)) : await c0.get(key);
          assert.equal(Number(v), n, `counter ${key}`);
        }
        for (const [key, n] of lists) {
          const got = await c0.lrange(key, 0, -1);
          assert.deepEqual(
            got,
            Array.from({ length: n }, (_, j) => String(j + 1)),
            `list ${key}`,
          );
        }
        for (const [key, h] of hashes) {
          const got = await c0.hgetall(key);
          for (const [f, v] of h) assert.equal(got[f], v, `hash ${key} field ${f}`);
        }
        for (const key of ttlKeys) {
          const t = await c0.pttl(key);
          assert.ok(t > 0 && t <= 600000, `TTL of ${key} is ${t}`);
        }
        if (big.hash && !uncertain.has('big hash'))
          assert.equal(Number(await c0.hget(big.hash, `counter:${r}`)), bigHashIncr, 'big hash counter');
        if (big.list && bigListPush > 0 && !uncertain.has('big list')) {
          const tail = await c0.lrange(big.list, -bigListPush, -1);
          assert.deepEqual(tail, pushed, 'the big list ends with exactly the acknowledged pushes');
        }
      } finally {
        c0.disconnect();
        c2.disconnect();
      }
    },
  };
}

/** Every key on every server (all DBs) is in a slot its group owns (slot → server address). */
export async function assertKeysWhereTheyBelong(
  servers: Array<{ addr: string; port: number }>,
  ownerOf: (slot: number) => string,
): Promise<number> {
  let total = 0;
  for (const s of servers) {
    const admin = new Redis({ port: s.port, host: '127.0.0.1' });
    const info = await admin.info('keyspace');
    admin.disconnect();
    for (const m of info.matchAll(/^db(\d+):keys=(\d+)/gm)) {
      const c = new Redis({ port: s.port, host: '127.0.0.1', db: Number(m[1]) });
      let cursor = '0';
      const wrong: string[] = [];
      do {
        const [next, keys] = await c.scan(cursor, 'COUNT', 1000);
        cursor = next;
        for (const k of keys) {
          total++;
          if (k.startsWith('__shardis_')) {
            wrong.push(`internal key ${k} left behind`);
            continue;
          }
          if (ownerOf(slotOf(k)) !== s.addr) wrong.push(`${k} (slot ${slotOf(k)}) on ${s.addr}, owner ${ownerOf(slotOf(k))}`);
        }
      } while (cursor !== '0');
      c.disconnect();
      assert.deepEqual(wrong.slice(0, 10), [], `db${m[1]} of ${s.addr}: ${wrong.length} misplaced keys`);
    }
  }
  return total;
}
