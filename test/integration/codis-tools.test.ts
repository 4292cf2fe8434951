// The unchanged Codis 3.2 tools (../shared/tools/codis-3.2: codis-admin, codis-fe) against a real
// Shardis cluster brought up by `shardis up --codis-compat` (redis groups with replicas, a dashboard
// with codis_compat_xauth on, a proxy):
// every codis-admin dashboard command of `codis-admin --help` (exit code, and the cluster changed as
// the command says), `codis-admin --proxy=ADDR` config/model/stats/slots, and codis-fe's /list and
// every API call its dashboard-fe.js makes, through codis-fe's reverse proxy, with the fields the page
// reads checked. An endpoint or field that stops matching what the Codis tools send or decode fails
// here. Expected duration: ~25-60 s (one cluster for the whole file).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ClusterInfo } from '../../src/cli/local-cluster.js';
import { startRedisServer, type RedisServer } from '../../src/util/redis-server.js';
import { startRedisSentinel, type RedisSentinel } from '../../src/util/redis-sentinel.js';
import { SHARDIS_BIN, startProxyProcess } from '../../src/util/shardis-process.js';
import { spawnTracked, waitFor, type Spawned } from '../../src/util/processes.js';
import { freePort } from '../../src/util/free-port.js';
import { httpJson } from '../../src/util/http-json.js';
import { openStore } from '../../src/coordinator/index.js';
import { startDashboard } from '../helpers/dashboard.js';

const TOOLS = process.env.SHARDIS_CODIS_TOOLS ?? resolve(fileURLToPath(new URL('../../../../shared/tools/codis-3.2/', import.meta.url)));
const CODIS_ADMIN = join(TOOLS, 'codis-admin');
const CODIS_FE = join(TOOLS, 'codis-fe');
const haveTools = existsSync(CODIS_ADMIN) && existsSync(CODIS_FE);
const PRODUCT = 'codis-compat';
const XAUTH = createHash('sha256').update(`Codis-XAuth-[${PRODUCT}]`).digest('hex').slice(0, 32);

type Json = any;

/** `shardis up --codis-compat` and what it wrote to cluster.json. */
let up: Spawned | null = null;
let cluster: { info: ClusterInfo } | null = null;
let dashAddr = '';
let spare: RedisServer | null = null;
let sentinel: RedisSentinel | null = null;
let extraProxy: { proc: Spawned; admin: string } | null = null;
let fe: Spawned | null = null;
let feAddr = '';
const dir = mkdtempSync(join(tmpdir(), 'shardis-codis-tools-'));

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(bin: string, args: string[], timeoutMs = 60000): Promise<Run> {
  return new Promise((res) => {
    execFile(bin, args, { timeout: timeoutMs, maxBuffer: 32 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
      res({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

/** codis-admin --dashboard=<dashboard> ARGS; asserts exit 0 and returns stdout. */
async function admin(...args: string[]): Promise<string> {
  const r = await run(CODIS_ADMIN, [`--dashboard=${dashAddr}`, ...args]);
  assert.equal(r.code, 0, `codis-admin ${args.join(' ')} exited ${r.code}: ${r.stderr.slice(0, 800)}`);
  return r.stdout;
}

/** The dashboard's stats as Shardis's own clients read them (the ground truth of "the cluster changed"). */
async function stats(): Promise<Json> {
  const r = await httpJson('GET', dashAddr, '/topom/stats', { timeoutMs: 10000 });
  assert.equal(r.status, 200);
  return r.json;
}
const group = async (gid: number): Promise<Json> => (await stats()).group.models.find((g: Json) => g.id === gid);
const slotGroup = async (sid: number): Promise<number> => (await stats()).slots[sid].group_id;
const eventually = (what: string, check: () => Promise<boolean>, timeoutMs = 30000): Promise<void> => waitFor(what, check, timeoutMs, 100);

/** A call through codis-fe's reverse proxy, as dashboard-fe.js makes it. */
async function viaFe(method: 'GET' | 'PUT', path: string): Promise<{ status: number; json: Json }> {
  const sep = path.includes('?') ? '&' : '?';
  const r = await httpJson(method, feAddr, `${encodeURI(path)}${sep}forward=${PRODUCT}`, { timeoutMs: 60000 });
  return { status: r.status, json: r.json };
}
async function feOk(method: 'GET' | 'PUT', path: string): Promise<Json> {
  const r = await viaFe(method, path);
  assert.equal(r.status, 200, `${method} ${path} through codis-fe: ${r.status} ${JSON.stringify(r.json).slice(0, 400)}`);
  return r.json;
}

before(async () => {
  if (!haveTools) return;
  const upLog = join(dir, 'up.log');
  up = spawnTracked(
    process.execPath,
    [
      SHARDIS_BIN,
      'up',
      '--codis-compat',
      '--dir',
      join(dir, 'up'),
      '--base-port',
      '0',
      '--groups',
      '2',
      '--replicas',
      '1',
      '--proxies',
      '1',
      '--sentinels',
      '0',
      '--product',
      PRODUCT,
    ],
    { logFile: upLog },
  );
  await waitFor(
    'shardis up to bring the cluster up',
    () => {
      if (up!.child.exitCode !== null) throw new Error(`shardis up exited: ${readFileSync(upLog, 'utf8').slice(-800)}`);
      return readFileSync(upLog, 'utf8').includes('Press Ctrl-C');
    },
    90000,
    100,
  );
  assert.match(
    readFileSync(upLog, 'utf8'),
    /Codis tools \(codis_compat_xauth on\): codis-admin --dashboard=/,
    'shardis up --codis-compat says how to use the Codis tools',
  );
  cluster = { info: JSON.parse(readFileSync(join(dir, 'up', 'cluster.json'), 'utf8')) as ClusterInfo };
  dashAddr = cluster.info.dashboard.addr;
  spare = await startRedisServer({ dir: join(dir, 'spare') });
  sentinel = await startRedisSentinel({ dir: join(dir, 'sentinel') });
  const p = await startProxyProcess(
    ['--product-name', PRODUCT, '--proxy-addr', '127.0.0.1:0', '--admin-addr', '127.0.0.1:0'],
    join(dir, 'proxy-extra.log'),
  );
  extraProxy = { proc: p.proc, admin: `127.0.0.1:${p.adminPort}` };
  const assets = join(dir, 'fe-assets');
  mkdirSync(assets, { recursive: true });
  writeFileSync(join(assets, 'index.html'), '<html>codis-fe assets are not part of this test</html>\n');
  feAddr = `127.0.0.1:${await freePort()}`;
  fe = spawnTracked(CODIS_FE, [`--filesystem=${join(dir, 'up', 'coordinator')}`, `--listen=${feAddr}`, `--assets-dir=${assets}`], {
    logFile: join(dir, 'codis-fe.log'),
  });
  await eventually(
    'codis-fe to list the product',
    async () => {
      const r = await httpJson('GET', feAddr, '/list', { timeoutMs: 2000 });
      return Array.isArray(r.json) && (r.json as string[]).includes(PRODUCT);
    },
    20000,
  );
});

after(async () => {
  await fe?.stop();
  await extraProxy?.proc.stop();
  await sentinel?.stop();
  await spare?.stop();
  await up?.stop(60000); // SIGTERM: shardis up stops everything it started
});

describe('Codis 3.2 tools against Shardis', { skip: haveTools ? false : `Codis tools not found in ${TOOLS}` }, () => {
  test('codis-admin --dashboard: overview, config, model, stats, slots, group, proxy decode and show the cluster', async () => {
    const o = JSON.parse(await admin());
    assert.equal(o.model.product_name, PRODUCT);
    assert.equal(o.config.coordinator_name, 'filesystem');
    assert.equal(o.config.coordinator_addr, join(dir, 'up', 'coordinator'));
    assert.equal(o.config.migration_timeout, '30s', 'durations are Codis timesize strings');
    const config = JSON.parse(await admin('config'));
    assert.equal(config.product_name, PRODUCT);
    assert.equal(config.sentinel_down_after, '30s');
    assert.equal(JSON.parse(await admin('model')).admin_addr, dashAddr);
    const st = JSON.parse(await admin('stats'));
    assert.equal(st.slots.length, 1024);
    assert.equal(st.group.models.length, 2);
    const slots = JSON.parse(await admin('slots'));
    assert.deepEqual([slots[0].group_id, slots[1023].group_id], [1, 2]);
    const groups = JSON.parse(await admin('group'));
    assert.deepEqual(
      groups.models.map((g: Json) => g.servers.length),
      [2, 2],
    );
    const proxy = JSON.parse(await admin('proxy'));
    assert.equal(proxy.models.length, 1);
    assert.equal(proxy.models[0].admin_addr, cluster!.info.proxies[0]!.admin);
    assert.equal(JSON.parse(await admin('--list-group')).length, 2);
    assert.equal(JSON.parse(await admin('--list-proxy'))[0].proxy_addr, cluster!.info.proxies[0]!.addr);
    const ss = JSON.parse(await admin('--slots-status'));
    assert.equal(ss.length, 1024);
    assert.equal(ss[0].backend_addr, cluster!.info.groups[0]!.master);
    await eventually('proxy-status to show the proxy healthy', async () =>
      (await admin('--proxy-status')).includes(`[ ] proxy-1 [T] ${proxy.models[0].token}`),
    );
    const gs = await admin('--group-status');
    assert.match(
      gs,
      new RegExp(
        `group-1 \\[1\\] ${cluster!.info.groups[0]!.replicas[0]!.replace(/\./g, '\\.')}\\s+==> ${cluster!.info.groups[0]!.master.replace(/\./g, '\\.')}:up`,
      ),
    );
  });

  test("codis-admin: an error is Codis's RemoteError with Shardis's message, exit code non-zero", async () => {
    const r = await run(CODIS_ADMIN, [`--dashboard=${dashAddr}`, '--remove-group', '--gid=77']);
    assert.notEqual(r.code, 0);
    assert.match(r.stdout + r.stderr, /\[Remote Error\] group 77 does not exist/);
  });

  test('codis-admin: group create, add (with datacenter), a down server in the stats, replica-groups, sync-action, resync, del, remove', async () => {
    await admin('--create-group', '--gid=3');
    assert.ok(await group(3), 'group 3 created');
    await admin('--group-add', '--gid=3', `--addr=${spare!.addr}`, '--datacenter=dc9');
    assert.deepEqual(
      (await group(3)).servers.map((s: Json) => [s.server, s.datacenter]),
      [[spare!.addr, 'dc9']],
    );
    // A server that stops answering: its stats error must still decode in codis-admin (a RemoteError object).
    await spare!.stop();
    await eventually(
      'the stopped server to show an error in the stats',
      async () => typeof (await stats()).group.stats[spare!.addr]?.error === 'string',
    );
    const withError = JSON.parse(await admin('stats'));
    assert.match(withError.group.stats[spare!.addr].error.Cause, /cannot connect|connection/);
    assert.match(await admin('--group-status'), new RegExp(`\\[E\\] group-3 \\[0\\] ${spare!.addr.replace(/\./g, '\\.')}`));
    await spare!.restart();
    await eventually('the server to answer again', async () => (await stats()).group.stats[spare!.addr]?.error === undefined);
    await admin('--replica-groups', '--gid=3', `--addr=${spare!.addr}`, '--enable');
    assert.equal((await group(3)).servers[0].replica_group, true);
    await admin('--replica-groups', '--gid=3', `--addr=${spare!.addr}`, '--disable');
    assert.equal((await group(3)).servers[0].replica_group, false);
    await admin('--sync-action', '--create', `--addr=${spare!.addr}`);
    assert.ok((await group(3)).servers[0].action.state, 'a sync action is recorded');
    await admin('--sync-action', '--remove', `--addr=${spare!.addr}`);
    assert.equal((await group(3)).servers[0].action.state, undefined, 'the sync action is removed');
    await admin('--resync-group', '--gid=3');
    await admin('--resync-group', '--all');
    assert.equal((await group(3)).out_of_sync, false);
    await admin('--group-del', '--gid=3', `--addr=${spare!.addr}`);
    assert.equal((await group(3)).servers.length, 0);
    await admin('--remove-group', '--gid=3');
    assert.equal(await group(3), undefined, 'group 3 removed');
  });

  test('codis-admin: slots-assign (preview and --confirm), slot-action create/remove/range/some/interval/disabled, rebalance', async () => {
    const preview = JSON.parse(await admin('--slots-assign', '--beg=0', '--end=3', '--offline'));
    assert.equal(preview.length, 4, 'without --confirm codis-admin only prints the plan');
    assert.equal(await slotGroup(0), 1);
    await admin('--slots-assign', '--beg=0', '--end=3', '--offline', '--confirm');
    assert.deepEqual(
      (await stats()).slots.slice(0, 4).map((s: Json) => s.group_id),
      [0, 0, 0, 0],
    );
    await admin('--slots-assign', '--beg=0', '--end=3', '--gid=1', '--confirm');
    assert.deepEqual(
      (await stats()).slots.slice(0, 4).map((s: Json) => s.group_id),
      [1, 1, 1, 1],
    );

    await admin('--slot-action', '--interval=250');
    assert.equal((await stats()).slot_action.interval, 250);
    await admin('--slot-action', '--interval=0');
    await admin('--slot-action', '--disabled=1');
    assert.equal((await stats()).slot_action.disabled, true);
    await admin('--slot-action', '--create', '--sid=8', '--gid=2');
    assert.equal((await stats()).slots[8].action.state, 'pending');
    await admin('--slot-action', '--remove', '--sid=8');
    assert.equal((await stats()).slots[8].action.state, undefined, 'the pending action is removed');
    await admin('--slot-action', '--disabled=0');
    assert.equal((await stats()).slot_action.disabled, false);

    await admin('--slot-action', '--create', '--sid=5', '--gid=2');
    await admin('--slot-action', '--create-range', '--beg=6', '--end=7', '--gid=2');
    await eventually('slots 5-7 to move to group 2', async () => {
      const s = (await stats()).slots;
      return [5, 6, 7].every((i) => s[i].group_id === 2 && !s[i].action.state);
    });
    await admin('--slot-action', '--create-some', '--gid-from=2', '--gid-to=1', '--num-slots=1');
    await eventually(
      'one slot of group 2 to move to group 1',
      async () => (await stats()).slots.filter((s: Json) => s.group_id === 1 && !s.action.state).length === 510,
    );

    const plan = (await admin('--rebalance')).trim();
    assert.match(plan, /^\[\d{4},\d{4}\] => 1$/m, `codis-admin printed the plan: ${plan}`);
    assert.equal((await stats()).slots.filter((s: Json) => s.group_id === 1).length, 510, 'rebalance without --confirm changes nothing');
    await admin('--rebalance', '--confirm');
    await eventually('rebalance to even the groups', async () => {
      const s = (await stats()).slots;
      return s.filter((x: Json) => x.group_id === 1 && !x.action.state).length === 512;
    });
  });

  test('codis-admin: promote-server makes the replica the group master', async () => {
    const g = cluster!.info.groups[0]!;
    await admin('--promote-server', '--gid=1', `--addr=${g.replicas[0]}`);
    const now = await group(1);
    assert.equal(now.servers[0].server, g.replicas[0], 'the replica is first (master)');
    assert.equal(now.promoting.state, undefined);
  });

  test('codis-admin: sentinel add, resync, del', async () => {
    await admin('--sentinel-add', `--addr=${sentinel!.addr}`);
    assert.deepEqual((await stats()).sentinels.model.servers, [sentinel!.addr]);
    await admin('--sentinel-resync');
    assert.equal((await stats()).sentinels.model.out_of_sync, false);
    await admin('--sentinel-del', `--addr=${sentinel!.addr}`);
    assert.deepEqual((await stats()).sentinels.model.servers ?? [], []);
  });

  test('codis-admin: create, online, reinit (by token and --all), remove a proxy', async () => {
    const a = extraProxy!.admin;
    await admin('--create-proxy', `--addr=${a}`);
    const p = (await stats()).proxy.models.find((x: Json) => x.admin_addr === a);
    assert.ok(p, 'the proxy is registered');
    await eventually(
      'the new proxy to be online',
      async () => ((await httpJson('GET', a, '/health', { timeoutMs: 2000 })).json as Json).online === true,
    );
    await admin('--online-proxy', `--addr=${a}`);
    await admin('--reinit-proxy', `--token=${p.token}`);
    const all = await admin('--reinit-proxy', '--all');
    assert.equal(all.split('reinit proxy:').length - 1, 2, 'both proxies reinitialised');
    assert.ok(all.includes(`"token": "${p.token}"`));
    await admin('--remove-proxy', `--addr=${a}`);
    assert.equal(
      (await stats()).proxy.models.find((x: Json) => x.admin_addr === a),
      undefined,
      'the proxy is removed',
    );
    assert.equal(await extraProxy!.proc.exited, 0, 'the removed proxy was shut down');
  });

  test('codis-admin --proxy=ADDR: config, model, stats, slots', async () => {
    const p = cluster!.info.proxies[0]!;
    const proxy = async (what: string): Promise<Json> => {
      const r = await run(CODIS_ADMIN, [`--proxy=${p.admin}`, what]);
      assert.equal(r.code, 0, r.stderr.slice(0, 500));
      return JSON.parse(r.stdout);
    };
    const c = await proxy('config');
    assert.equal(c.product_name, PRODUCT);
    assert.equal(c.backend_ping_period, '5s');
    assert.equal(typeof c.session_max_pipeline, 'number');
    const m = await proxy('model');
    assert.equal(m.proxy_addr, p.addr);
    const s = await proxy('stats');
    assert.equal(s.online, true);
    assert.equal(typeof s.ops.qps, 'number');
    assert.equal(typeof s.ops.redis.errors, 'number');
    assert.equal(typeof s.sessions.alive, 'number');
    const slots = await proxy('slots');
    assert.equal(slots.length, 1024);
    assert.equal(typeof slots[0].backend_addr, 'string');
  });

  test('codis-fe: /list, the overview and stats its page renders, the server/sentinel info links', async () => {
    const list = (await httpJson('GET', feAddr, '/list', { timeoutMs: 5000 })).json as string[];
    assert.ok(list.includes(PRODUCT));
    const o = await feOk('GET', '/topom');
    assert.equal(typeof o.model.admin_addr, 'string');
    assert.equal(typeof o.config.coordinator_name.charAt, 'function');
    assert.equal(o.config.coordinator_addr, join(dir, 'up', 'coordinator'));
    await eventually('stats of the proxy and of every server', async () => {
      const st = await feOk('GET', `/api/topom/stats/${XAUTH}`);
      return (
        st.proxy.models.every((p: Json) => st.proxy.stats[p.token]?.stats) &&
        st.group.models.every((g: Json) => g.servers.every((s: Json) => st.group.stats[s.server]?.stats)) &&
        // A replica re-pointed by the earlier promote may still be in its initial sync (link down).
        st.group.models.every((g: Json) =>
          g.servers.every((x: Json, i: number) => i === 0 || st.group.stats[x.server]?.stats?.master_link_status === 'up'),
        )
      );
    });
    const st = await feOk('GET', `/api/topom/stats/${XAUTH}`);
    // processProxyStats
    for (const p of st.proxy.models) {
      const s = st.proxy.stats[p.token];
      assert.equal(s.stats.online, true);
      for (const n of [
        s.stats.sessions.total,
        s.stats.sessions.alive,
        s.stats.ops.total,
        s.stats.ops.fails,
        s.stats.ops.qps,
        s.stats.ops.redis.errors,
      ])
        assert.equal(typeof n, 'number');
      assert.equal(typeof p.admin_addr, 'string');
    }
    // processGroupStats
    for (const g of st.group.models) {
      assert.equal(typeof g.promoting, 'object');
      for (const x of g.servers) {
        assert.equal(typeof x.action, 'object');
        const s = st.group.stats[x.server];
        assert.equal(typeof s.stats.used_memory, 'string');
        assert.equal(typeof s.stats.maxmemory, 'string');
        assert.equal(typeof s.stats.run_id, 'string');
        if (x !== g.servers[0]) assert.equal(`${s.stats.master_addr}:${s.stats.master_link_status}`, `${g.servers[0].server}:up`);
      }
    }
    // slots, slot actions, sentinels
    assert.equal(st.slots.length, 1024);
    assert.equal(typeof st.slots[0].action, 'object');
    assert.equal(typeof st.slot_action.interval, 'number');
    assert.equal(typeof st.slot_action.disabled, 'boolean');
    assert.equal(typeof st.slot_action.progress.status, 'string');
    assert.equal(typeof st.sentinels, 'object');
    assert.equal(typeof st.sentinels.masters, 'object');
    // The "S" link of a server, the sentinel links.
    const server = st.group.models[0].servers[0].server;
    const info = await feOk('GET', `/api/topom/group/info/${server}`);
    assert.equal(typeof info.redis_version, 'string');
    assert.equal(typeof info.maxmemory, 'string');
  });

  test('codis-fe: every PUT of dashboard-fe.js through the reverse proxy changes the cluster; errors show as RemoteError', async () => {
    const X = XAUTH;
    await feOk('PUT', `/api/topom/group/create/${X}/4`);
    assert.ok(await group(4));
    await feOk('PUT', `/api/topom/group/add/${X}/4/${spare!.addr}`);
    assert.equal((await group(4)).servers[0].server, spare!.addr);
    await feOk('PUT', `/api/topom/group/replica-groups/${X}/4/${spare!.addr}/1`);
    assert.equal((await group(4)).servers[0].replica_group, true);
    await feOk('PUT', `/api/topom/group/replica-groups-all/${X}/0`);
    assert.equal((await group(4)).servers[0].replica_group, false);
    await feOk('PUT', `/api/topom/group/action/create/${X}/${spare!.addr}`);
    assert.ok((await group(4)).servers[0].action.state);
    await feOk('PUT', `/api/topom/group/action/remove/${X}/${spare!.addr}`);
    assert.equal((await group(4)).servers[0].action.state, undefined);
    await feOk('PUT', `/api/topom/group/resync/${X}/4`);
    await feOk('PUT', `/api/topom/group/resync-all/${X}`);
    await feOk('PUT', `/api/topom/group/del/${X}/4/${spare!.addr}`);
    assert.equal((await group(4)).servers.length, 0);
    await feOk('PUT', `/api/topom/group/remove/${X}/4`);
    assert.equal(await group(4), undefined);

    // promote through fe: group 2's replica becomes its master
    const g2 = cluster!.info.groups[1]!;
    await feOk('PUT', `/api/topom/group/promote/${X}/2/${g2.replicas[0]}`);
    assert.equal((await group(2)).servers[0].server, g2.replicas[0]);

    // sentinels
    await feOk('PUT', `/api/topom/sentinels/add/${X}/${sentinel!.addr}`);
    assert.deepEqual((await stats()).sentinels.model.servers, [sentinel!.addr]);
    const withSentinel = await feOk('GET', `/api/topom/stats/${X}`);
    assert.equal(typeof withSentinel.sentinels.model.servers[0], 'string');
    await feOk('PUT', `/api/topom/sentinels/resync-all/${X}`);
    const sentinelInfo = await feOk('GET', `/api/topom/sentinels/info/${sentinel!.addr}`);
    assert.equal(sentinelInfo.redis_mode, 'sentinel');
    await feOk('GET', `/api/topom/sentinels/info/${sentinel!.addr}/monitored`);
    await feOk('PUT', `/api/topom/sentinels/del/${X}/${sentinel!.addr}/1`);
    assert.deepEqual((await stats()).sentinels.model.servers ?? [], []);

    // slot actions
    await feOk('PUT', `/api/topom/slots/action/interval/${X}/100`);
    assert.equal((await stats()).slot_action.interval, 100);
    await feOk('PUT', `/api/topom/slots/action/interval/${X}/0`);
    await feOk('PUT', `/api/topom/slots/action/disabled/${X}/1`);
    await feOk('PUT', `/api/topom/slots/action/create-range/${X}/10/11/2`);
    assert.equal((await stats()).slots[10].action.state, 'pending');
    await feOk('PUT', `/api/topom/slots/action/remove/${X}/10`);
    await feOk('PUT', `/api/topom/slots/action/remove/${X}/11`);
    assert.equal((await stats()).slots[10].action.state, undefined);
    await feOk('PUT', `/api/topom/slots/action/disabled/${X}/0`);
    await feOk('PUT', `/api/topom/slots/action/create-some/${X}/1/2/1`);
    await eventually(
      'one slot to move from group 1 to group 2',
      async () => (await stats()).slots.filter((s: Json) => s.group_id === 2 && !s.action.state).length === 513,
    );
    const plan = await feOk('PUT', `/api/topom/slots/rebalance/${X}/0`);
    assert.equal(Object.values(plan).filter((gid) => gid === 1).length, 1, 'the preview is a flat {"<slot>": gid} plan');
    await feOk('PUT', `/api/topom/slots/rebalance/${X}/1`);
    await eventually(
      'the rebalance to finish',
      async () => (await stats()).slots.filter((s: Json) => s.group_id === 1 && !s.action.state).length === 512,
    );

    // proxies
    const p = (await stats()).proxy.models[0];
    await feOk('PUT', `/api/topom/proxy/reinit/${X}/${p.token}`);
    const r = await viaFe('PUT', `/api/topom/proxy/create/${X}/127.0.0.1:1`);
    assert.equal(r.status, 800, 'codis-fe shows errors with status 800 (as JSON)');
    assert.match(r.json.Cause, /cannot read the proxy model at 127\.0\.0\.1:1/);
    const rm = await viaFe('PUT', `/api/topom/proxy/remove/${X}/no-such-token/0`);
    assert.equal(rm.status, 800);
    assert.match(rm.json.Cause, /no proxy/);
  });

  test("without codis_compat_xauth (the default) Codis's token is refused with a message naming the option; Shardis's token still works", async () => {
    const d = await startDashboard({ coordinator: `filesystem:${join(dir, 'coordinator-strict')}`, product_name: 'strict' });
    try {
      const r = await run(CODIS_ADMIN, [`--dashboard=${d.addr}`, '--create-group', '--gid=1']);
      assert.notEqual(r.code, 0);
      assert.match(r.stdout + r.stderr, /\[Remote Error\] invalid xauth: .*codis_compat_xauth = true/);
      const ok = await httpJson('PUT', d.addr, `/api/topom/group/create/${d.token}/1`, { timeoutMs: 10000 });
      assert.equal(ok.status, 200);
      assert.deepEqual(
        ok.json,
        { ok: true, group: { id: 1, servers: [], promoting: {}, out_of_sync: false } },
        "Shardis's own clients keep Shardis's reply",
      );
      const bad = await httpJson('PUT', d.addr, `/api/topom/group/create/${d.token}/1`, { timeoutMs: 10000 });
      assert.equal(bad.status, 409, "and Shardis's error statuses");
      assert.match((bad.json as Json).error, /already exists/);
    } finally {
      await d.stop();
    }
  });

  test('codis-admin: dashboard-list and config-dump read the coordinator; log-level, reload, shutdown', async () => {
    const fsRoot = join(dir, 'up', 'coordinator');
    const list = await run(CODIS_ADMIN, ['--dashboard-list', `--filesystem=${fsRoot}`]);
    assert.equal(list.code, 0, list.stderr);
    assert.deepEqual(
      JSON.parse(list.stdout).map((x: Json) => x.name),
      [PRODUCT],
    );
    const dump = await run(CODIS_ADMIN, ['--config-dump', `--product=${PRODUCT}`, `--filesystem=${fsRoot}`]);
    assert.equal(dump.code, 0, dump.stderr);
    assert.equal(JSON.parse(dump.stdout).slots.length, 1024);

    await admin('--log-level=WARN');
    assert.equal(((await (await httpJson('GET', dashAddr, '/topom', { timeoutMs: 5000 })).json) as Json).config.log_level, 'warn');
    await admin('--log-level=INFO');

    // reload: a group written to the coordinator behind the dashboard's back appears after it.
    const store = await openStore(`filesystem:${fsRoot}`);
    try {
      await store.create(
        `/codis3/${PRODUCT}/group/group-0009`,
        Buffer.from(JSON.stringify({ id: 9, servers: [], promoting: {}, out_of_sync: false })),
      );
    } finally {
      await store.close();
    }
    assert.equal(await group(9), undefined);
    await admin('--reload');
    assert.ok(await group(9), 'reload read the group written to the coordinator');
    await admin('--remove-group', '--gid=9');

    const pid = cluster!.info.dashboard.pid;
    await admin('--shutdown');
    await eventually('the dashboard process to exit after --shutdown', async () => {
      try {
        process.kill(pid, 0);
        return false;
      } catch {
        return true;
      }
    });
  });
});
