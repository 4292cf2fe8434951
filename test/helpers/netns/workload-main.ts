// A client workload meant to run inside the clients' namespace of the multi-host harness
// (`node workload-main.js '<json options>'`): `workers` loops each SET unique keys through a proxy,
// one command at a time, and print one line per acknowledged write (`A <key> <value> <ms>`) and per
// failure (`E <ms> <proxy> <message>`, at most one per worker per 100 ms). A worker whose proxy fails
// moves to the next proxy in the list (what a client behind a discovery list does). Runs until
// SIGTERM or `durationMs`, then prints `DONE <acked> <errors>` and exits.
import { Redis } from 'ioredis';

interface Options {
  proxies: string[];
  workers?: number;
  durationMs?: number;
  /** Pause after each write, per worker. */
  pauseMs?: number;
  prefix?: string;
}

const o = JSON.parse(process.argv[2] ?? '{}') as Options;
if (!Array.isArray(o.proxies) || o.proxies.length === 0) {
  process.stderr.write('usage: workload-main.js \'{"proxies":["host:port",...]}\'\n');
  process.exit(2);
}
const started = Date.now();
let running = true;
let acked = 0;
let errors = 0;
const out: string[] = [];
const flush = (): void => {
  if (out.length) {
    process.stdout.write(out.join(''));
    out.length = 0;
  }
};
const flusher = setInterval(flush, 50);

function client(addr: string): Redis {
  const i = addr.lastIndexOf(':');
  const r = new Redis({
    host: addr.slice(0, i),
    port: Number(addr.slice(i + 1)),
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    commandTimeout: 1500,
    connectTimeout: 1500,
    retryStrategy: () => null,
    enableReadyCheck: false,
  });
  r.on('error', () => undefined);
  return r;
}

async function worker(w: number): Promise<void> {
  let pi = w % o.proxies.length;
  let c: Redis | null = null;
  let seq = 0;
  let lastErr = 0;
  while (running) {
    const addr = o.proxies[pi]!;
    try {
      if (!c) {
        c = client(addr);
        await c.connect();
      }
      const key = `${o.prefix ?? 'w'}:${w}:${seq++}`;
      const val = `${Date.now()}`;
      if ((await c.set(key, val)) === 'OK') {
        acked++;
        out.push(`A ${key} ${val} ${Date.now() - started}\n`);
      }
    } catch (e) {
      errors++;
      if (Date.now() - lastErr > 100) {
        lastErr = Date.now();
        out.push(
          `E ${Date.now() - started} ${addr} ${String((e as Error).message)
            .replace(/\s+/g, ' ')
            .slice(0, 200)}\n`,
        );
      }
      // A refused or timed-out connection: try the next proxy. A Redis error reply (READONLY,
      // NOREPLICAS, ...) is the cluster's answer: stay and retry after a pause.
      if (!/^(READONLY|NOREPLICAS|ERR|MASTERDOWN|TRYAGAIN|LOADING)/.test((e as Error).message)) {
        c?.disconnect();
        c = null;
        pi = (pi + 1) % o.proxies.length;
      }
      await new Promise((r) => setTimeout(r, 20));
    }
    if (o.pauseMs) await new Promise((r) => setTimeout(r, o.pauseMs));
  }
  c?.disconnect();
}

const stop = (): void => {
  running = false;
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
const limit = o.durationMs ? setTimeout(stop, o.durationMs) : undefined;
await Promise.all(Array.from({ length: o.workers ?? 4 }, (_, w) => worker(w)));
if (limit) clearTimeout(limit);
clearInterval(flusher);
out.push(`DONE ${acked} ${errors}\n`);
flush();
