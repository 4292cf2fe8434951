// The web console in a real browser (Debian's chromium via playwright-core) against a real cluster:
// 2 redis groups (master + replica), 2 proxies, 3 sentinels, a dashboard, `shardis fe` in-process, and
// one spare redis-server. Each step drives the page like an operator and checks the cluster through
// the API and the servers. Screenshots of every panel go to <tmp>/sdui-console-*/screens (printed).
// Expected duration: about 60-90 s on a quiet 2-core machine.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { chromium, type Browser, type Page } from 'playwright-core';
import { startLocalCluster, type LocalCluster } from '../../src/cli/local-cluster.js';
import { startFeServer, type FeServer } from '../../src/fe/fe-server.js';
import { startRedisServer, type RedisServer } from '../../src/util/redis-server.js';
import { httpJson } from '../../src/util/http-json.js';
import { waitFor } from '../../src/util/processes.js';
import { slotOf } from '../../src/slots/hash.js';

const PRODUCT = 'sdui-console';
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

interface Stats {
  slots: Array<{ id: number; group_id: number; action: { state?: string } }>;
  group: {
    models: Array<{ id: number; servers: Array<{ server: string }> }>;
    stats: Record<string, { dbs?: Record<string, number>; error?: string }>;
  };
  proxy: { models: Array<{ id: number; token: string; admin_addr: string }>; stats: Record<string, { error?: string; stats?: unknown }> };
  slot_action: { progress: { state: string } };
}

describe('web console in chromium against a real cluster', { timeout: 240000 }, () => {
  let dir = '';
  let shots = '';
  let cluster: LocalCluster;
  let spare: RedisServer;
  let fe: FeServer;
  let browser: Browser;
  let page: Page;
  let token = '';
  let dash = '';
  const stats = async (): Promise<Stats> => {
    const r = await httpJson('GET', dash, '/api/topom/stats/_', { timeoutMs: 5000, headers: { authorization: `Bearer ${token}` } });
    assert.equal(r.status, 200, r.text);
    return r.json as Stats;
  };
  const put = async (path: string): Promise<{ status: number; error: string }> => {
    const r = await httpJson('PUT', dash, path, { timeoutMs: 15000, headers: { authorization: `Bearer ${token}` } });
    return { status: r.status, error: (r.json as { error?: string }).error ?? '' };
  };
  const shot = async (name: string): Promise<void> => {
    await page.screenshot({ path: join(shots, `${name}.png`), fullPage: true });
  };
  const tab = async (name: string): Promise<void> => {
    await page.getByTestId(`tab-${name}`).click();
    await page.getByTestId(`panel-${name}`).waitFor({ timeout: 10000 });
  };
  const confirm = async (): Promise<void> => {
    await page.getByTestId('confirm-ok').click();
    await page.getByTestId('confirm-dialog').waitFor({ state: 'detached', timeout: 30000 });
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'sdui-console-'));
    shots = join(dir, 'screens');
    mkdirSync(shots);
    cluster = await startLocalCluster({
      groups: 2,
      replicas: 1,
      proxies: 2,
      dir,
      basePort: 0,
      host: '127.0.0.1',
      product: PRODUCT,
      sentinels: 3,
      dashboardArgs: [
        '--sentinel-down-after',
        '1000ms',
        '--sentinel-failover-timeout',
        '10s',
        '--sentinel-quorum',
        '2',
        '--stats-period',
        '500ms',
        '--migration-busy-percent',
        '100',
      ],
    });
    token = cluster.info.dashboard.admin_token;
    dash = cluster.info.dashboard.addr;
    spare = await startRedisServer({ host: '127.0.0.1', dir: join(dir, 'spare') });
    fe = await startFeServer({ listen: '127.0.0.1:0', coordinator: cluster.info.coordinator });
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: CHROMIUM_ARGS, timeout: 30000 });
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    page.setDefaultTimeout(15000);
    process.stdout.write(`# console screenshots: ${shots}\n`);
  });

  after(async () => {
    await browser?.close().catch(() => {});
    await fe?.close().catch(() => {});
    await spare?.stop().catch(() => {});
    await cluster?.stop().catch(() => {});
  });

  it('refuses a wrong token, then logs in from ?token= and removes it from the address bar', async () => {
    await page.goto(`${fe.url}#${PRODUCT}`);
    await page.getByTestId('login').waitFor();
    await page.getByTestId('token-input').fill('not-the-token');
    await page.getByTestId('login-submit').click();
    await page.getByText('Wrong admin token for this product.').waitFor();
    await shot('login');
    await page.goto(`${fe.url}?token=${token}#${PRODUCT}`);
    await page.getByTestId('panel-overview').waitFor();
    assert.ok(!page.url().includes(token), `token left in the address bar: ${page.url()}`);
    assert.equal(await page.evaluate((p) => sessionStorage.getItem(`shardis-token:${p}`), PRODUCT), token);
    assert.equal(await page.locator('.sidebar a[aria-current]').textContent(), PRODUCT);
  });

  it('overview numbers match the API', async () => {
    const client = new Redis({ port: Number(cluster.info.proxies[0]!.addr.split(':')[1]), maxRetriesPerRequest: 1 });
    try {
      await client.mset(...Array.from({ length: 300 }, (_, i) => [`ov:${i}`, 'x']).flat());
    } finally {
      client.disconnect();
    }
    const apiKeys = async (): Promise<number> => {
      const s = await stats();
      let n = 0;
      for (const g of s.group.models) for (const k of Object.values(s.group.stats[g.servers[0]!.server]?.dbs ?? {})) n += k;
      return n;
    };
    await waitFor('the dashboard to count the keys', async () => (await apiKeys()) >= 300, 20000, 200);
    await waitFor(
      'the page to show the API key count',
      async () => (await page.getByTestId('ov-keys').textContent()) === (await apiKeys()).toLocaleString('en-US'),
      20000,
      200,
    );
    const s = await stats();
    assert.equal(await page.getByTestId('ov-groups').textContent(), String(s.group.models.length));
    assert.equal(await page.getByTestId('ov-servers').textContent(), '4 / 4');
    assert.equal(await page.getByTestId('ov-proxies').textContent(), `${s.proxy.models.length} / ${s.proxy.models.length}`);
    assert.equal(await page.getByTestId('ov-product').textContent(), PRODUCT);
    assert.equal(await page.getByTestId('ov-slots').textContent(), '1024 / 0 / 0');
    await page.locator('[data-testid=chart-ops] canvas').first().waitFor();
    await shot('overview');
  });

  it('slot map shows the true owners', async () => {
    await tab('slots');
    const s = await stats();
    const shown = await page
      .locator('[data-testid=slot-grid] .s')
      .evaluateAll((els) => els.map((e) => Number((e as HTMLElement).dataset.gid)));
    assert.equal(shown.length, 1024);
    assert.deepEqual(
      shown,
      s.slots.map((x) => x.group_id),
    );
    await page.locator('[data-slot="700"]').hover();
    assert.match((await page.getByTestId('slot-hover').textContent()) ?? '', /^slot 700: group 2 \(master 127\.0\.0\.1:\d+\)/);
    await shot('slots');
  });

  it("per-slot heat map: a hot key's slot is the hottest", async () => {
    const s0 = await stats();
    const reported = Object.values(s0.proxy.stats).some((r) => Array.isArray((r.stats as { slot_ops?: unknown } | undefined)?.slot_ops));
    assert.ok(reported, 'the proxies report per-slot counters (slot_ops in /proxy/stats)');
    const hot = 'heat:hot-key';
    const hotSlot = slotOf(hot);
    const client = new Redis({ port: Number(cluster.info.proxies[0]!.addr.split(':')[1]), maxRetriesPerRequest: 1 });
    try {
      await waitFor(
        'the dashboard to rank the hot slot first',
        async () => {
          const p = client.pipeline();
          for (let i = 0; i < 300; i++) p.get(hot);
          await p.exec();
          const snap = await httpJson('GET', dash, '/api/topom/console/snapshot/_', {
            timeoutMs: 5000,
            headers: { authorization: `Bearer ${token}` },
          });
          const ops = (snap.json as { slot_ops: number[] | null }).slot_ops;
          return Boolean(ops && (ops[hotSlot] ?? 0) > 0 && ops.every((x) => x <= ops[hotSlot]!));
        },
        30000,
        50,
      );
      await tab('slots');
      await page.getByText('ops heat map').click();
      await page.getByText('(hottest slot)').waitFor();
      await page.locator(`[data-slot="${hotSlot}"]`).hover();
      assert.match((await page.getByTestId('slot-hover').textContent()) ?? '', new RegExp(`^slot ${hotSlot}: .*, [0-9.]+ ops/s$`));
      await shot('slots-heat');
      await page.getByText('ops heat map').click();
    } finally {
      client.disconnect();
    }
  });

  it('creates a group, adds a server, migrates a mouse-selected range under load; the bar reaches done and the keys are on the new group', async () => {
    await tab('groups');
    await page.getByTestId('new-group-id').fill('3');
    await page.getByTestId('new-group').click();
    assert.match((await page.getByTestId('confirm-dialog').textContent()) ?? '', /Create group 3\?/);
    await confirm();
    await page.getByTestId('group-3').waitFor();
    await page.getByTestId('add-server-addr').fill(spare.addr);
    await page.getByTestId('add-server-group').selectOption('3');
    await page.getByTestId('add-server').click();
    await confirm();
    await page.getByTestId(`server-${spare.addr}`).waitFor();
    assert.deepEqual(
      (await stats()).group.models.find((g) => g.id === 3)?.servers.map((x) => x.server),
      [spare.addr],
    );

    // A client workload through a proxy during the migration: writes keys of every slot, each with its value.
    const client = new Redis({ port: Number(cluster.info.proxies[0]!.addr.split(':')[1]), maxRetriesPerRequest: 3 });
    const written = new Map<string, string>();
    for (let i = 0; i < 2000; i++) written.set(`mig:${i}`, `v${i}`);
    await client.mset(...[...written].flat());
    let stop = false;
    let n = 0;
    const load = (async () => {
      while (!stop && n < 100000) {
        const k = `load:${n}`;
        await client.set(k, `w${n}`);
        written.set(k, `w${n}`);
        n++;
      }
    })();
    try {
      await tab('slots');
      const first = await page.locator('[data-slot="0"]').boundingBox();
      const last = await page.locator('[data-slot="79"]').boundingBox();
      assert.ok(first && last);
      await page.mouse.move(first.x + first.width / 2, first.y + first.height / 2);
      await page.mouse.down();
      await page.mouse.move(last.x + last.width / 2, last.y + last.height / 2, { steps: 8 });
      await page.mouse.up();
      assert.equal(await page.getByTestId('sel-from').inputValue(), '0');
      assert.equal(await page.getByTestId('sel-to').inputValue(), '79');
      await page.getByTestId('sel-group').selectOption('3');
      await page.getByTestId('migrate-range').click();
      assert.match((await page.getByTestId('confirm-dialog').textContent()) ?? '', /Migrate slots 0–79 \(80 slots\) to group 3\?/);
      await confirm();
      await tab('migrations');
      await shot('migrations');
      await waitFor(
        'the page to show the migration done',
        async () => {
          const done = await page.getByTestId('mig-done').textContent();
          const state = await page.getByTestId('mig-state').textContent();
          return (
            done === '80' &&
            state === 'idle' &&
            (await page.locator('[data-testid=migration-progress] [role=progressbar]').getAttribute('aria-valuenow')) === '100'
          );
        },
        60000,
        250,
      );
      await shot('migrations-done');
    } finally {
      stop = true;
      await load;
    }
    try {
      // The workload shows in the overview's samples: ops/s, and a p99 from the proxies' histograms
      // (polled every 5 s, so it may come a little after the workload).
      const samples = async (): Promise<Array<{ ops: number; p99_us: number | null }>> =>
        (
          (await httpJson('GET', dash, '/api/topom/console/snapshot/_', { timeoutMs: 5000, headers: { authorization: `Bearer ${token}` } }))
            .json as { samples: Array<{ ops: number; p99_us: number | null }> }
        ).samples;
      assert.ok(
        (await samples()).some((x) => x.ops > 0),
        'ops/s sampled',
      );
      await waitFor('a p99 sample', async () => (await samples()).some((x) => x.p99_us !== null && x.p99_us > 0), 20000, 500);
      const s = await stats();
      assert.ok(
        s.slots.slice(0, 80).every((x) => x.group_id === 3 && !x.action.state),
        'slots 0-79 belong to group 3',
      );
      assert.ok(n > 0, 'the workload ran');
      const onSpare = new Redis({ port: spare.port });
      const g1 = s.group.models.find((g) => g.id === 1)!.servers[0]!.server;
      const onG1 = new Redis({ port: Number(g1.split(':')[1]) });
      try {
        let moved = 0;
        for (const [k, v] of written) {
          if (slotOf(k) >= 80) continue;
          moved++;
          assert.equal(await onSpare.get(k), v, `${k} on the new group's server`);
          assert.equal(await onG1.exists(k), 0, `${k} left on group 1`);
        }
        assert.ok(moved > 50, `keys of slots 0-79 checked: ${moved}`);
        for (const [k, v] of [...written].slice(0, 500)) assert.equal(await client.get(k), v, `${k} through the proxy`);
      } finally {
        onSpare.disconnect();
        onG1.disconnect();
      }
    } finally {
      client.disconnect();
    }
  });

  it('previews a rebalance plan and leaves the slots alone when cancelled with Escape', async () => {
    await tab('migrations');
    await page.getByTestId('rebalance').click();
    const dlg = page.getByTestId('confirm-dialog');
    await dlg.waitFor();
    assert.match((await dlg.textContent()) ?? '', /Rebalance: migrate \d+ slots so every group owns about the same number\?/);
    assert.match((await dlg.locator('pre').textContent()) ?? '', /^group 3 <== \d+ slots: /);
    await page.keyboard.press('Escape');
    await dlg.waitFor({ state: 'detached' });
    assert.ok(
      (await stats()).slots.every((x) => !x.action.state),
      'no slot got an action',
    );
  });

  it('shows the API error and changes nothing for an unknown server address and for removing a group with slots', async () => {
    const before = JSON.stringify((await stats()).group.models);
    await tab('groups');
    await page.getByTestId('add-server-addr').fill('127.0.0.1:1');
    await page.getByTestId('add-server-group').selectOption('3');
    await page.getByTestId('add-server').click();
    await page.getByTestId('confirm-ok').click();
    const err1 = await page.getByTestId('dialog-error').textContent();
    const api1 = await put('/api/topom/group/add/_/3/127.0.0.1:1');
    assert.equal(err1, `HTTP ${api1.status}: ${api1.error}`);
    await page.getByRole('button', { name: 'Close' }).click();
    await page.getByTestId('remove-group-1').click();
    await page.getByTestId('confirm-ok').click();
    const err2 = await page.getByTestId('dialog-error').textContent();
    const api2 = await put('/api/topom/group/remove/_/1');
    assert.equal(err2, `HTTP ${api2.status}: ${api2.error}`);
    assert.match(err2 ?? '', /409/);
    await shot('error');
    await page.getByRole('button', { name: 'Close' }).click();
    assert.equal(JSON.stringify((await stats()).group.models), before);
  });

  it('promotes a replica from the page', async () => {
    const g2 = (await stats()).group.models.find((g) => g.id === 2)!;
    const [oldMaster, replica] = [g2.servers[0]!.server, g2.servers[1]!.server];
    await page.getByTestId(`promote-${replica}`).click();
    assert.match(
      (await page.getByTestId('confirm-dialog').textContent()) ?? '',
      new RegExp(`Promote ${replica.replace(/\./g, '\\.')} to master of group 2`),
    );
    await confirm();
    assert.equal((await stats()).group.models.find((g) => g.id === 2)!.servers[0]!.server, replica);
    await waitFor(
      'the group table to show the new master',
      async () =>
        (await page.getByTestId(`server-${replica}`).locator('td').first().textContent()) === 'master' &&
        (await page.getByTestId(`server-${oldMaster}`).locator('td').first().textContent()) === 'replica',
      15000,
      200,
    );
    await shot('groups');
    await tab('sentinels');
    await page.getByText(`group 2: ${replica} promoted to master (was ${oldMaster})`).waitFor({ timeout: 15000 });
  });

  it('removes a proxy from the page', async () => {
    await tab('proxies');
    const s = await stats();
    const victim = s.proxy.models.find((p) => p.id === 2)!;
    await page.getByTestId('remove-proxy-2').click();
    await confirm();
    const after = await stats();
    assert.deepEqual(
      after.proxy.models.map((p) => p.id),
      [1],
    );
    await page.getByTestId('proxy-2').waitFor({ state: 'detached' });
    await waitFor(
      'the removed proxy to exit',
      async () =>
        await httpJson('GET', victim.admin_addr, '/health', { timeoutMs: 1000 }).then(
          () => false,
          () => true,
        ),
      15000,
      200,
    );
    await shot('proxies');
  });

  it('kill -9 of a master: the failover shows in the timeline and the group table', async () => {
    const g1 = (await stats()).group.models.find((g) => g.id === 1)!;
    const oldMaster = g1.servers[0]!.server;
    const replica = g1.servers[1]!.server;
    const victim = cluster.servers.find((x) => x.addr === oldMaster);
    assert.ok(victim, 'the master process is known');
    await victim.kill9();
    await tab('sentinels');
    await waitFor(
      'the timeline to show the failover of group 1',
      async () => {
        const text = await page
          .getByTestId('timeline')
          .textContent()
          .catch(() => '');
        return (text ?? '').includes(`group 1: failover, master ${oldMaster} → ${replica}`);
      },
      60000,
      250,
    );
    assert.match((await page.getByTestId('timeline').textContent()) ?? '', /switch-master|server .* not answering/);
    await shot('sentinels');
    await tab('groups');
    await waitFor(
      'the group table to show the new master',
      async () => (await page.getByTestId(`server-${replica}`).locator('td').first().textContent()) === 'master',
      15000,
      200,
    );
    assert.equal((await stats()).group.models.find((g) => g.id === 1)!.servers[0]!.server, replica);
  });

  it('says so while the dashboard is down', async () => {
    await cluster.procs[0]!.stop();
    await waitFor(
      'the page to say the dashboard is unreachable',
      async () => /Dashboard unreachable since/.test((await page.getByTestId('status').textContent()) ?? ''),
      20000,
      200,
    );
    await page.getByTestId('panel-groups').waitFor();
    await shot('dashboard-down');
  });
});
