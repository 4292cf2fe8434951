// Online slot migration on stock redis, through real proxies, with a workload running: every slot of
// group 1 moves to group 2 and back (small keys, keys with TTLs, two DBs, a 200k-field hash and a
// 200k-element list that are copied in chunks under the per-key lock); the dashboard (a child
// process) is killed with -9 mid-migration and resumes; a third group is added and rebalanced onto,
// then group 1 is emptied and removed; a big stream with consumer groups is copied in chunks. After each: no client error, every acknowledged write present
// with the right value, TTLs kept, no key in a group that does not own its slot.
// Expected duration: about 60-90 s (2-core machine).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { startRedisServer, type RedisServer } from '../../src/util/redis-server.js';
import { slotOf } from '../../src/slots/hash.js';
import { eventually } from '../helpers/poll.js';
import { call, startDashboardProcess, tempDir, type DashboardProcess } from '../helpers/dashboard.js';
import { startTestProxy, type TestProxy } from '../helpers/dashboard-proxies.js';
import { assertKeysWhereTheyBelong, startWorkload } from '../helpers/migration-workload.js';
import { defaultAdminToken } from '../../src/models/auth.js';

const P = 'mig-test';
const TOKEN = defaultAdminToken(P, '');
const servers: RedisServer[] = [];
const proxies: TestProxy[] = [];
const dashboards: DashboardProcess[] = [];
const dir = tempDir('shardis-migration-');
const coord = `filesystem:${join(dir, 'coord')}`;
let dashAddr = '';
const loads: Array<ReturnType<typeof startWorkload>> = [];
const newLoad = (): ReturnType<typeof startWorkload> => {
  const l = startWorkload(
    proxies.map((p) => p.port),
    { hash: BIG_HASH, list: BIG_LIST },
  );
  loads.push(l);
  return l;
};

after(async () => {
  for (const l of loads) await l.stop();
  for (const d of dashboards) await d.proc.stop().catch(() => undefined);
  for (const p of proxies) await p.stop().catch(() => undefined);
  for (const s of servers) await s.stop();
});

const put = async (path: string): Promise<any> => {
  const r = await call('PUT', dashAddr, path.replace('{t}', TOKEN));
  assert.equal(r.status, 200, `${path}: ${JSON.stringify(r.body)}`);
  return r.body;
};
const stats = async (): Promise<any> => (await call('GET', dashAddr, `/api/topom/stats/${TOKEN}`)).body;

/** Runs a pipeline and fails on the first command that failed (ioredis reports them per command). */
async function execOk(p: ReturnType<Redis['pipeline']>): Promise<void> {
  const results = (await p.exec()) ?? [];
  const failed = results.find(([e]) => e);
  if (failed) throw failed[0]!;
}

/** Waits until the workload acknowledged at least `n` more operations than `from`. */
const opsPast = (load: ReturnType<typeof startWorkload>, from: number, what: string, n = 50): Promise<boolean> =>
  eventually(`${n} client ops ${what}`, () => load.ops() >= from + n, 30000);

async function startDash(): Promise<void> {
  const d = await startDashboardProcess(
    [
      '--coordinator',
      coord,
      '--product-name',
      P,
      '--admin-addr',
      '127.0.0.1:0',
      '--stats-period',
      '300ms',
      '--lock-ttl',
      '2s',
      '--migration-parallel-slots',
      '128',
      '--migration-fence-timeout',
      '2s',
      '--log-level',
      'info',
    ],
    join(dir, `dashboard-${dashboards.length}.log`),
  );
  dashboards.push(d);
  await d.waitReady(60000);
  dashAddr = d.addr;
}

/** A key name with the given prefix whose slot is in [lo, hi]. */
function keyIn(prefix: string, lo: number, hi: number): string {
  for (let i = 0; ; i++) {
    const k = `${prefix}${i}`;
    const s = slotOf(k);
    if (s >= lo && s <= hi) return k;
  }
}

/** Waits until no slot has an action and returns the slot → server address map. */
async function waitMigrationsDone(timeoutMs: number): Promise<(slot: number) => string> {
  const st = await eventually(
    'migrations finished',
    async () => {
      const s = await stats();
      const busy = s.slots.filter((m: any) => m.action?.state).length;
      return busy === 0 ? s : null;
    },
    timeoutMs,
    200,
  );
  const master = new Map<number, string>(st.group.models.map((g: any) => [g.id, g.servers[0]?.server ?? '']));
  const owner = st.slots.map((m: any) => master.get(m.group_id) ?? '');
  return (slot: number) => owner[slot];
}

const BIG_HASH = keyIn('bighash:', 0, 511);
const BIG_LIST = keyIn('biglist:', 0, 511);
const BIG = 200_000;

test('setup: two groups, two proxies, preloaded keys', async () => {
  servers.push(await startRedisServer(), await startRedisServer());
  await startDash();
  for (const [gid, s] of [
    [1, servers[0]!],
    [2, servers[1]!],
  ] as const) {
    await put(`/api/topom/group/create/{t}/${gid}`);
    await put(`/api/topom/group/add/{t}/${gid}/${s.addr}`);
  }
  await put('/api/topom/slots/init-even/{t}');
  for (let i = 0; i < 2; i++) {
    const p = await startTestProxy(P);
    proxies.push(p);
    // (Tolerates a test proxy that does not follow sentinels yet: the table push itself succeeded.)
    const r = await call('PUT', dashAddr, `/api/topom/proxy/online/${TOKEN}/${p.adminAddr}`);
    assert.ok(r.status === 200 || /sentinel/.test(r.body.error), JSON.stringify(r.body));
  }
  // 20k small keys in db 0 and 4k in db 3, through a proxy.
  const c = new Redis({ port: proxies[0]!.port, host: '127.0.0.1' });
  const c3 = new Redis({ port: proxies[0]!.port, host: '127.0.0.1', db: 3 });
  const g1 = new Redis({ port: servers[0]!.port, host: '127.0.0.1' });
  try {
    for (let b = 0; b < 20; b++) {
      const args: string[] = [];
      for (let i = 0; i < 1000; i++) args.push(`pre:${b * 1000 + i}`, `v${b * 1000 + i}`);
      assert.equal(await c.mset(...args), 'OK');
    }
    const pl = c3.pipeline();
    for (let i = 0; i < 4000; i++) pl.set(`db3:${i}`, `v${i}`, 'EX', 3600);
    await execOk(pl);
    // Big keys, written on their owner (group 1) directly.
    const bp = g1.pipeline();
    for (let i = 0; i < BIG; i += 1000) {
      const h: string[] = [];
      const l: string[] = [];
      for (let j = i; j < i + 1000; j++) {
        h.push(`f${j}`, `v${j}`);
        l.push(`e${j}`);
      }
      bp.hset(BIG_HASH, ...h);
      bp.rpush(BIG_LIST, ...l);
    }
    bp.pexpire(BIG_HASH, 3_600_000);
    await execOk(bp);
    assert.equal(await g1.hlen(BIG_HASH), BIG);
    assert.equal(await g1.llen(BIG_LIST), BIG);
  } finally {
    g1.disconnect();
    c.disconnect();
    c3.disconnect();
  }
});

async function checkPreloaded(port: number): Promise<void> {
  const c = new Redis({ port, host: '127.0.0.1' });
  const c3 = new Redis({ port, host: '127.0.0.1', db: 3 });
  try {
    const keys = Array.from({ length: 20000 }, (_, i) => `pre:${i}`);
    for (let i = 0; i < keys.length; i += 2000) {
      const got = await c.mget(...keys.slice(i, i + 2000));
      got.forEach((v, j) => assert.equal(v, `v${i + j}`, keys[i + j]));
    }
    assert.equal(await c3.get('db3:3999'), 'v3999');
    assert.ok((await c3.ttl('db3:17')) > 3000);
    assert.ok((await c.hlen(BIG_HASH)) > BIG);
    assert.equal(await c.hget(BIG_HASH, 'f123456'), 'v123456');
    const t = await c.pttl(BIG_HASH);
    assert.ok(t > 3_000_000 && t <= 3_600_000, `big hash TTL ${t}`);
    assert.ok((await c.llen(BIG_LIST)) >= BIG);
    assert.equal(await c.lindex(BIG_LIST, 4321), 'e4321');
  } finally {
    c.disconnect();
    c3.disconnect();
  }
}

test('all of group 1 moves to group 2 and back under load', async (t) => {
  const load = newLoad();
  await opsPast(load, 0, 'before the migration');
  const t0 = Date.now();
  const r = await put('/api/topom/slots/action/create-range/{t}/0/511/2');
  assert.equal(r.queued.length, 512);
  const opsAtStart = load.ops();
  // Progress is visible while it runs, and its counts add up.
  const seen = await eventually(
    'progress in stats',
    async () => {
      const s = await stats();
      const p = s.slot_action.progress;
      return p.state !== 'idle' && p.slots_total === 512 ? p : null;
    },
    10000,
    50,
  );
  assert.equal(seen.slots_done + seen.slots_in_progress + seen.slots_pending, 512, JSON.stringify(seen));
  assert.ok(seen.slots_done < 512, `progress seen only after the end: ${JSON.stringify(seen)}`);
  let owner = await waitMigrationsDone(300000);
  assert.ok(load.ops() > opsAtStart, 'clients were served during the migration');
  t.diagnostic(`0-511 → group 2: ${Date.now() - t0} ms, ${load.ops()} client ops so far`);
  const s1 = await stats();
  assert.equal(s1.slot_counts['2'], 1024);
  const prog = (await call('GET', dashAddr, `/api/topom/slots/action/progress/${TOKEN}`)).body;
  assert.equal(prog.progress.slots_done, 512, JSON.stringify(prog));
  assert.ok(prog.progress.keys_moved > 10000, JSON.stringify(prog));
  assert.equal(prog.progress.big_keys_moved, 2);
  await assertKeysWhereTheyBelong(servers, owner);

  const t1 = Date.now();
  await put('/api/topom/slots/action/create-range/{t}/0/511/1');
  owner = await waitMigrationsDone(300000);
  t.diagnostic(`0-511 → group 1: ${Date.now() - t1} ms, ${load.ops()} client ops`);
  await load.stop();
  assert.deepEqual(load.errors().slice(0, 5), [], `${load.errors().length} client errors`);
  await load.verify(proxies[1]!.port);
  await checkPreloaded(proxies[0]!.port);
  const n = await assertKeysWhereTheyBelong(servers, owner);
  t.diagnostic(`${n} keys checked for placement`);
});

test('the dashboard is killed with -9 mid-migration and a new one resumes', async (t) => {
  const load = newLoad();
  await put('/api/topom/slots/action/interval/{t}/20000');
  await put('/api/topom/slots/action/create-range/{t}/0/511/2');
  // Killed while a batch is migrating (not in its few-ms locked step, where clients of those slots
  // would rightly wait for a dashboard to come back).
  const mid = await eventually(
    'a batch done and another migrating',
    async () => {
      const p = (await stats()).slot_action.progress;
      return p.slots_done >= 128 && p.batch.some((b: { state: string }) => b.state === 'migrating') ? p : null;
    },
    60000,
    50,
  );
  t.diagnostic(`killing the dashboard at ${mid.slots_done} slots done, ${mid.slots_in_progress} in progress`);
  const old = dashboards[dashboards.length - 1]!;
  await old.proc.kill9();
  // Proxies keep serving (moving keys on access) while no dashboard runs.
  await opsPast(load, load.ops(), 'while the dashboard is down');
  await startDash();
  const owner = await waitMigrationsDone(300000);
  assert.equal((await stats()).slot_counts['2'], 1024);
  await load.stop();
  assert.deepEqual(load.errors().slice(0, 5), [], `${load.errors().length} client errors`);
  await load.verify(proxies[0]!.port);
  await checkPreloaded(proxies[1]!.port);
  await assertKeysWhereTheyBelong(servers, owner);
});

test('add a third group and rebalance, then empty group 1 and remove it, under load', async (t) => {
  const load = newLoad();
  const s3 = await startRedisServer();
  servers.push(s3);
  await put('/api/topom/group/create/{t}/3');
  await put(`/api/topom/group/add/{t}/3/${s3.addr}`);
  // Group 1 is empty now (everything went to 2): rebalance spreads 1024 over three groups.
  const plan = (await put('/api/topom/slots/rebalance/{t}/0')).plan;
  assert.equal(Object.keys(plan).length, 682, 'fewest moves: all but 342 slots leave group 2');
  const t0 = Date.now();
  const r = await put('/api/topom/slots/rebalance/{t}/1');
  assert.equal(r.queued, 682);
  let owner = await waitMigrationsDone(300000);
  const counts = (await stats()).slot_counts;
  t.diagnostic(`rebalance onto groups 1 and 3: ${Date.now() - t0} ms, counts ${JSON.stringify(counts)}`);
  for (const g of ['1', '2', '3']) assert.ok(counts[g] === 341 || counts[g] === 342, JSON.stringify(counts));
  await assertKeysWhereTheyBelong(servers, owner);

  const t1 = Date.now();
  const d = await put('/api/topom/slots/action/drain/{t}/1/1');
  assert.equal(d.queued, counts['1']);
  owner = await waitMigrationsDone(300000);
  const after2 = (await stats()).slot_counts;
  t.diagnostic(`group 1 emptied: ${Date.now() - t1} ms, counts ${JSON.stringify(after2)}`);
  assert.equal(after2['1'], undefined);
  assert.ok(Math.abs(after2['2'] - after2['3']) <= 1, JSON.stringify(after2));
  await put(`/api/topom/group/del/{t}/1/${servers[0]!.addr}`);
  await put('/api/topom/group/remove/{t}/1');
  await load.stop();
  assert.deepEqual(load.errors().slice(0, 5), [], `${load.errors().length} client errors`);
  await load.verify(proxies[1]!.port);
  await checkPreloaded(proxies[0]!.port);
  await assertKeysWhereTheyBelong(servers.slice(1), owner);
  const g1 = new Redis({ port: servers[0]!.port, host: '127.0.0.1' });
  const left = await g1.info('keyspace');
  g1.disconnect();
  assert.doesNotMatch(left, /keys=[1-9]/, `the removed group still holds keys: ${left}`);
});

test('admin CLI: migrate --wait with a progress bar, pause/resume, throttle, cancel, progress', async () => {
  const { execFile } = await import('node:child_process');
  const { SHARDIS_BIN } = await import('../helpers/dashboard.js');
  // Asynchronous: the proxies run in this process and must keep answering.
  const admin = (...args: string[]) =>
    new Promise<{ code: number; out: string; err: string }>((res) => {
      execFile(
        process.execPath,
        [SHARDIS_BIN, 'admin', '--dashboard', dashAddr, '--product', P, ...args],
        { encoding: 'utf8', timeout: 60000 },
        (e, out, err) => res({ code: e ? (typeof e.code === 'number' ? e.code : -1) : 0, out, err }),
      );
    });
  const st = await stats();
  const from3 = st.slots
    .filter((m: any) => m.group_id === 3)
    .slice(0, 8)
    .map((m: any) => m.id);
  const r = await admin('slots', 'migrate', '--range', `${from3[0]}-${from3[3]}`, '--to', '2', '--wait');
  assert.equal(r.code, 0, r.err);
  assert.match(r.out, /4 slot\(s\) queued for migration to group 2/);
  assert.match(r.out, /\[#+\] 4\/4 slots/);
  assert.match(r.out, /done: 4 slots/);
  {
    const x = await admin('slots', 'pause');
    assert.equal(x.code, 0, x.err);
  }
  const q = await admin('slots', 'migrate', '--from', '3', '--to', '2', '--num', '2');
  assert.equal(q.code, 0, q.err);
  assert.match(q.out, /2 slot\(s\) queued/);
  await eventually('progress to show paused', async () => /paused/.test((await admin('slots', 'progress')).out), 10000, 200);
  const pending = (await stats()).slots.filter((m: any) => m.action?.state === 'pending').map((m: any) => m.id as number);
  assert.equal(pending.length, 2, 'both queued slots wait while paused');
  {
    const x = await admin('slots', 'cancel', String(pending[0]));
    assert.equal(x.code, 0, x.err);
  }
  const afterCancel = (await stats()).slots;
  assert.ok(
    !afterCancel[pending[0]!].action?.state,
    `the cancelled slot has no action any more: ${JSON.stringify(afterCancel[pending[0]!])}`,
  );
  assert.equal(afterCancel[pending[1]!].action?.state, 'pending', 'the other one is still queued');
  {
    const x = await admin('slots', 'throttle', '1000');
    assert.equal(x.code, 0, x.err);
  }
  assert.equal((await stats()).slot_action.interval, 1000);
  {
    const x = await admin('slots', 'busy', '50');
    assert.equal(x.code, 0, x.err);
  }
  assert.equal((await stats()).slot_action.busy_percent, 50);
  {
    const x = await admin('slots', 'busy', '0');
    assert.notEqual(x.code, 0, 'busy 0 is refused');
  }
  {
    const x = await admin('slots', 'busy', '10');
    assert.equal(x.code, 0, x.err);
  }
  {
    const x = await admin('slots', 'resume');
    assert.equal(x.code, 0, x.err);
  }
  const w = await admin('slots', 'progress', '--watch');
  assert.equal(w.code, 0, w.err);
  await waitMigrationsDone(120000);
  const plan = await admin('--json', 'slots', 'rebalance');
  assert.equal(plan.code, 0, plan.err);
  assert.ok(Object.keys(JSON.parse(plan.out).plan).length > 0);
});

test('a proxy whose process is gone is fenced out (removed) and the migration goes on', async () => {
  const p3 = await startTestProxy(P);
  const r = await call('PUT', dashAddr, `/api/topom/proxy/online/${TOKEN}/${p3.adminAddr}`);
  assert.ok(r.status === 200 || /sentinel/.test(r.body.error), JSON.stringify(r.body));
  const before = (await stats()).proxy.models.length;
  await p3.stop(); // admin API gone: connections are refused
  const st = await stats();
  const some = st.slots
    .filter((m: any) => m.group_id === 2 && !m.action?.state)
    .slice(0, 4)
    .map((m: any) => m.id);
  for (const sid of some) await put(`/api/topom/slots/action/create/{t}/${sid}/3`);
  // It waits for the dead proxy first (reported), then removes it and finishes.
  await eventually(
    'the migration reports the proxy it waits for',
    async () => /did not acknowledge/.test((await stats()).slot_action.progress.waiting_for),
    10000,
    50,
  );
  await waitMigrationsDone(120000);
  const after = await stats();
  assert.equal(after.proxy.models.length, before - 1);
  assert.ok(!after.proxy.models.some((m: any) => m.token === p3.model.token));
  for (const sid of some) assert.equal(after.slots[sid].group_id, 3);
});

test('a big stream with consumer groups is copied in chunks: entries, groups, consumers, pending entries, ids', async () => {
  const st = await stats();
  const master = new Map<number, string>(st.group.models.map((g: any) => [g.id, g.servers[0]?.server ?? '']));
  const slot = st.slots.find((m: any) => m.group_id === 2 && !m.action?.state).id as number;
  const key = keyIn('bigstream:', slot, slot);
  const conn = (addr: string): Redis => new Redis({ host: '127.0.0.1', port: Number(addr.split(':')[1]) });
  const src = conn(master.get(2)!),
    dst = conn(master.get(3)!);
  try {
    for (let i = 0; i < 12_000; i += 1000) {
      const p = src.pipeline();
      for (let j = i; j < i + 1000; j++) p.xadd(key, `${j + 1}-1`, 'n', String(j), 'payload', 'x'.repeat(20));
      await execOk(p);
    }
    await src.xgroup('CREATE', key, 'g1', '0');
    await src.xgroup('CREATE', key, 'g2', '5000-1');
    await src.xgroup('CREATECONSUMER', key, 'g1', 'idle-consumer');
    await src.xreadgroup('GROUP', 'g1', 'alice', 'COUNT', '700', 'STREAMS', key, '>');
    await src.xreadgroup('GROUP', 'g1', 'bob', 'COUNT', '600', 'STREAMS', key, '>');
    await src.xreadgroup('GROUP', 'g2', 'carol', 'COUNT', '10', 'STREAMS', key, '>');
    await src.xack(key, 'g1', '1-1', '2-1', '3-1');
    await src.xclaim(key, 'g1', 'bob', '0', '10-1'); // delivery count 2
    await src.xdel(key, '12000-1'); // max-deleted-id, entries-added > length
    const snapshot = async (r: Redis): Promise<unknown> => {
      const info = (await r.call('XINFO', 'STREAM', key)) as unknown[];
      const f = (n: string): unknown => info[info.indexOf(n) + 1];
      const groups = (await r.call('XINFO', 'GROUPS', key)) as unknown[][];
      const pel: unknown[] = [];
      for (const g of ['g1', 'g2']) {
        const rows = (await r.call('XPENDING', key, g, '-', '+', '2000')) as Array<[string, string, number, number]>;
        pel.push(rows.map(([id, who, , count]) => [g, id, who, count]));
        const cons = (await r.call('XINFO', 'CONSUMERS', key, g)) as unknown[][];
        pel.push(cons.map((c) => [c[1], c[3]]).sort());
      }
      return {
        len: await r.xlen(key),
        last: f('last-generated-id'),
        added: f('entries-added'),
        maxDeleted: f('max-deleted-entry-id'),
        groups: groups.map((g) => g.filter((_, i) => g[i - 1] !== 'lag')),
        pel,
        first: await r.xrange(key, '-', '+', 'COUNT', '2'),
      };
    };
    const want = await snapshot(src);
    await put(`/api/topom/slots/action/create/{t}/${slot}/3`);
    await waitMigrationsDone(120000);
    assert.equal(await src.exists(key), 0, 'gone from the source');
    assert.deepEqual(await snapshot(dst), want);
    const logs = readFileSync(join(dir, `dashboard-${dashboards.length - 1}.log`), 'utf8');
    assert.match(logs, /"type":"stream"[^\n]*big key copied in chunks/, 'copied in chunks, not by one MIGRATE');
  } finally {
    src.disconnect();
    dst.disconnect();
  }
});
