// Child process for the VIP test, run inside the client namespace: writes unique keys through
// HOST:PORT (the VIP) as fast as it can, reconnecting on any error, and prints one line per outcome
// ("ack <ms>" / "err <ms> <message>"). On "verify [HOST PORT]" on stdin it reads every acknowledged
// key directly from the redis server (default REDIS_HOST:REDIS_PORT), prints "verify acked=N lost=M"
// and exits.
// Usage: node vip-writer.js HOST PORT REDIS_HOST REDIS_PORT
import { createInterface } from 'node:readline';
import { Redis } from 'ioredis';

const [host = '', port = '0', redisHost = '', redisPort = '0'] = process.argv.slice(2);
const acked = new Map<string, string>();
let running = true;

const client = (): Redis => {
  const c = new Redis({
    host,
    port: Number(port),
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    connectTimeout: 300,
    retryStrategy: () => 20,
    commandTimeout: 1000,
  });
  c.on('error', () => {
    /* counted per request */
  });
  return c;
};

async function writeLoop(): Promise<void> {
  const c = client();
  for (let n = 0; running && n < 10_000_000; n++) {
    const key = `vip:${process.pid}:${n}`;
    try {
      await c.set(key, String(n));
      acked.set(key, String(n));
      process.stdout.write(`ack ${Date.now()}\n`);
    } catch (e) {
      process.stdout.write(`err ${Date.now()} ${(e as Error).message.replace(/\s+/g, ' ')}\n`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
  c.disconnect();
}

async function verify(vhost: string, vport: string): Promise<void> {
  const r = new Redis({ host: vhost, port: Number(vport), connectTimeout: 3000, maxRetriesPerRequest: 2 });
  const keys = [...acked.keys()];
  let lost = 0;
  for (let i = 0; i < keys.length; i += 500) {
    const batch = keys.slice(i, i + 500);
    const vals = await r.mget(...batch);
    batch.forEach((k, j) => {
      if (vals[j] !== acked.get(k)) lost++;
    });
  }
  r.disconnect();
  process.stdout.write(`verify acked=${keys.length} lost=${lost}\n`);
}

const loop = writeLoop();
createInterface({ input: process.stdin }).on('line', (l) => {
  const [cmd, vhost = redisHost, vport = redisPort] = l.trim().split(/\s+/);
  if (cmd !== 'verify') return;
  running = false;
  void loop
    .then(() => verify(vhost, vport))
    .catch((e: Error) => {
      process.stdout.write(`verify-error ${e.message}\n`);
    })
    .finally(() => process.exit(0));
});
setTimeout(() => process.exit(3), 10 * 60_000).unref();
