// Application-family benchmark (issue 12): PUBLISH fan-out rate to 100 subscribers and BLPOP/LPUSH
// round-trip latency, through a Shardis proxy process (2 groups) and against a direct redis-server,
// in the same run. Writes bench/reports/apps-<date>.md.
//   npm run bench:apps                       # defaults: 100 subscribers, 2000 messages, 2000 round trips
//   npm run bench:apps -- --messages 5000 --roundtrips 5000
// Figures from a shared, loaded machine are indicative: compare the ratios, not the absolute numbers.
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import os from 'node:os';
import { Redis } from 'ioredis';
import { startRedisServer, type RedisServer } from '../src/util/redis-server.js';
import { startProxyProcess } from '../src/util/shardis-process.js';
import { freePort } from '../src/util/free-port.js';
import { evenSlots } from '../src/models/layout.js';

const HOST = '127.0.0.1';
const argv = process.argv.slice(2);
const opt = (name: string, def: number): number => {
  const i = argv.indexOf(`--${name}`);
  const v = i >= 0 ? Number(argv[i + 1]) : def;
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} must be a positive number`);
  return v;
};
const SUBSCRIBERS = opt('subscribers', 100);
const MESSAGES = opt('messages', 2000);
const ROUNDTRIPS = opt('roundtrips', 2000);

/** Messages delivered per second to SUBSCRIBERS subscribers of one channel (publisher pipelines in windows of 50). */
async function fanout(port: number): Promise<{ deliveredPerSec: number; publishPerSec: number }> {
  const subs: Redis[] = [];
  let delivered = 0;
  try {
    for (let i = 0; i < SUBSCRIBERS; i++) {
      const s = new Redis({ host: HOST, port });
      s.on('message', () => {
        delivered++;
      });
      await s.subscribe('bench:fanout');
      subs.push(s);
    }
    const pub = new Redis({ host: HOST, port });
    subs.push(pub);
    const want = MESSAGES * SUBSCRIBERS;
    const t0 = performance.now();
    for (let i = 0; i < MESSAGES; i += 50) {
      const p = pub.pipeline();
      for (let j = i; j < Math.min(MESSAGES, i + 50); j++) p.publish('bench:fanout', `m${j}`);
      await p.exec();
    }
    const tPub = performance.now() - t0;
    const deadline = Date.now() + 120_000;
    while (delivered < want && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
    const t = performance.now() - t0;
    if (delivered < want) throw new Error(`only ${delivered} of ${want} messages delivered within 120 s`);
    return { deliveredPerSec: (want / t) * 1000, publishPerSec: (MESSAGES / tPub) * 1000 };
  } finally {
    for (const s of subs) s.disconnect();
  }
}

/** BLPOP blocked first, then LPUSH from another connection: time from LPUSH sent to BLPOP answered. */
async function blpopRoundTrip(port: number): Promise<{ p50: number; p99: number; mean: number }> {
  const popper = new Redis({ host: HOST, port }),
    pusher = new Redis({ host: HOST, port });
  const lat: number[] = [];
  try {
    await pusher.del('{bench}q');
    for (let i = 0; i < ROUNDTRIPS; i++) {
      const popped = popper.blpop('{bench}q', 5);
      // The BLPOP must be blocked before the push: a CLIENT LIST would perturb the timing, so give the
      // pop a head start of one round trip on the popper's own connection.
      await pusher.ping();
      const t0 = performance.now();
      await pusher.lpush('{bench}q', 'x');
      const r = await popped;
      if (r === null) throw new Error('BLPOP timed out');
      lat.push(performance.now() - t0);
    }
  } finally {
    popper.disconnect();
    pusher.disconnect();
  }
  lat.sort((a, b) => a - b);
  const q = (f: number): number => lat[Math.min(lat.length - 1, Math.floor(f * lat.length))]!;
  return { p50: q(0.5), p99: q(0.99), mean: lat.reduce((a, b) => a + b, 0) / lat.length };
}

async function main(): Promise<void> {
  const tmp = mkdtempSync(join(os.tmpdir(), 'shardis-apps-bench-'));
  const servers: RedisServer[] = [];
  const stops: Array<() => Promise<unknown> | void> = [];
  try {
    for (let i = 0; i < 3; i++) servers.push(await startRedisServer({ host: HOST, dir: join(tmp, `redis-${i}`) }));
    const direct = servers[2]!;
    const slotsFile = join(tmp, 'slots.json');
    writeFileSync(slotsFile, JSON.stringify(evenSlots(servers.slice(0, 2).map((s, i) => ({ id: i + 1, addr: s.addr })))));
    const port = await freePort(HOST);
    const p = await startProxyProcess(
      ['--fillslots', slotsFile, '--proxy-addr', `${HOST}:${port}`, '--admin-addr', `${HOST}:0`],
      join(tmp, 'shardis.log'),
    );
    stops.push(() => p.proc.stop());
    const rows: string[] = [];
    const results: Record<string, { fan: Awaited<ReturnType<typeof fanout>>; rt: Awaited<ReturnType<typeof blpopRoundTrip>> }> = {};
    for (const [name, prt] of [
      ['redis (direct)', direct.port],
      ['shardis', p.port],
    ] as const) {
      console.log(`${name}: fan-out ...`);
      const fan = await fanout(prt);
      console.log(`${name}: BLPOP/LPUSH ...`);
      const rt = await blpopRoundTrip(prt);
      results[name] = { fan, rt };
      rows.push(
        `| ${name} | ${Math.round(fan.deliveredPerSec)} | ${Math.round(fan.publishPerSec)} | ${rt.p50.toFixed(3)} | ${rt.p99.toFixed(3)} | ${rt.mean.toFixed(3)} |`,
      );
    }
    const d = results['redis (direct)']!,
      s = results['shardis']!;
    const report = [
      `# Apps benchmark — ${new Date().toISOString()}`,
      '',
      `PUBLISH fan-out to ${SUBSCRIBERS} subscribers of one channel (${MESSAGES} messages, publisher pipelining 50 at a time), and`,
      `BLPOP/LPUSH round trip (${ROUNDTRIPS} times: BLPOP blocked, LPUSH from another connection, time until BLPOP answers).`,
      'Shardis: one proxy process over 2 groups; subscribers and publisher all connect through it. Direct: one redis-server.',
      'All on one shared machine (client, servers and proxy on the same cores): indicative only.',
      '',
      '| target | delivered msg/s | PUBLISH/s | BLPOP round trip p50 ms | p99 ms | mean ms |',
      '|---|---|---|---|---|---|',
      ...rows,
      '',
      `Ratios shardis / direct: delivered msg/s ${(s.fan.deliveredPerSec / d.fan.deliveredPerSec).toFixed(2)}x; ` +
        `BLPOP round trip p50 ${(s.rt.p50 / d.rt.p50).toFixed(2)}x, p99 ${(s.rt.p99 / d.rt.p99).toFixed(2)}x.`,
      '',
      'How it works through the proxy: one subscriber connection per group master carries the channel for all',
      '100 sessions (the proxy fans each message out to its sessions); BLPOP runs on a borrowed dedicated',
      'backend connection (src/proxy/APPS.md).',
      '',
    ].join('\n');
    const dir = join(process.cwd(), 'bench', 'reports');
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `apps-${new Date().toISOString().slice(0, 10)}.md`);
    writeFileSync(file, report);
    console.log(report);
    console.log(`report: ${file}`);
  } finally {
    for (const f of stops.reverse()) await f();
    await Promise.all(servers.map((s) => s.stop()));
    rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
