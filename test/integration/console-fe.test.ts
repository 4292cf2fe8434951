// `shardis fe` and the dashboard's console routes without a browser: two products (in-process
// dashboards on one filesystem coordinator) listed by the fe, the page served by both, requests
// forwarded by ?forward=, the live stream refused without the token unless console_read_only, and
// clear errors for unknown products and unreachable dashboards; in chromium, the page served by a
// dashboard itself (one product, no sidebar) with and without read-only viewing. Expected duration:
// about 10 s.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { chromium } from 'playwright-core';
import { startFeServer, type FeServer } from '../../src/fe/fe-server.js';
import { httpJson } from '../../src/util/http-json.js';
import { startShardisProcess } from '../../src/util/shardis-process.js';
import { startDashboard, tempDir, type TestDashboard } from '../helpers/dashboard.js';

/** GET that returns the first `data:` message of an event stream (or the status and body of a non-stream reply). */
function firstEvent(
  addr: string,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; type: string; text: string }> {
  const u = new URL(`http://${addr}${path}`);
  return new Promise((resolve, reject) => {
    const req = http.get({ host: u.hostname, port: Number(u.port), path: u.pathname + u.search, headers, timeout: 5000 }, (res) => {
      let buf = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        buf += d;
        const i = buf.indexOf('\n\n');
        if (String(res.headers['content-type']).startsWith('text/event-stream') && i >= 0) {
          req.destroy();
          resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), text: buf.slice(0, i).replace(/^data: /, '') });
        }
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), text: buf }));
    });
    req.on('timeout', () => req.destroy(new Error('no event within 5 s')));
    req.on('error', reject);
  });
}

describe('shardis fe and the console routes', { timeout: 60000 }, () => {
  const dir = tempDir('sdui-fe-');
  const coordinator = `filesystem:${join(dir, 'coord')}`;
  let a: TestDashboard;
  let b: TestDashboard;
  let fe: FeServer;
  let feAddr = '';
  before(async () => {
    a = await startDashboard({ coordinator, product_name: 'sdui-a' });
    b = await startDashboard({ coordinator, product_name: 'sdui-b', console_read_only: 'true' });
    fe = await startFeServer({ listen: '127.0.0.1:0', coordinator });
    feAddr = `127.0.0.1:${fe.port}`;
  });
  after(async () => {
    await fe?.close();
    await a?.stop();
    await b?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it("lists every product of the coordinator, sorted, and never their dashboards' addresses", async () => {
    assert.deepEqual((await httpJson('GET', feAddr, '/list', { timeoutMs: 5000 })).json, ['sdui-a', 'sdui-b']);
    const detail = JSON.stringify((await httpJson('GET', feAddr, '/list?detail=1', { timeoutMs: 5000 })).json);
    assert.equal(detail, '["sdui-a","sdui-b"]');
    for (const addr of [a.addr, b.addr]) assert.ok(!detail.includes(addr), 'no dashboard address without a token');
  });

  it('serves the page (gzipped) at the fe root and at the dashboard /console/; the dashboard root redirects there', async () => {
    const page = await new Promise<{ status: number; enc: string; body: Buffer }>((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port: fe.port, path: '/', headers: { 'accept-encoding': 'gzip' } }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({ status: res.statusCode ?? 0, enc: String(res.headers['content-encoding']), body: Buffer.concat(chunks) }),
          );
        })
        .on('error', reject);
    });
    assert.equal(page.status, 200);
    assert.equal(page.enc, 'gzip');
    assert.match(gunzipSync(page.body).toString(), /<script type="module" src="app.js">/);
    const js = await httpJson('GET', feAddr, '/app.js', { timeoutMs: 5000 });
    assert.equal(js.status, 200);
    const onDash = await httpJson('GET', a.addr, '/console/', { timeoutMs: 5000 });
    assert.equal(onDash.status, 200);
    assert.match(onDash.text, /Shardis console/);
    const root = await httpJson('GET', a.addr, '/', { timeoutMs: 5000 });
    assert.equal(root.status, 302);
  });

  it('forwards API calls by ?forward= and names unknown products', async () => {
    const info = await httpJson('GET', feAddr, '/api/topom/console/info?forward=sdui-b', { timeoutMs: 5000 });
    assert.deepEqual(info.json, { product: 'sdui-b', version: (info.json as { version: string }).version, read_only: true, active: true });
    const unknown = await httpJson('GET', feAddr, '/api/topom/console/info?forward=nope', { timeoutMs: 5000 });
    assert.equal(unknown.status, 403);
    assert.match((unknown.json as { error: string }).error, /unknown product "nope"/);
  });

  it('streams live data with the token, refuses it without unless read-only viewing is on', async () => {
    const denied = await firstEvent(feAddr, '/api/topom/console/live/_?forward=sdui-a');
    assert.equal(denied.status, 401);
    const wrong = await firstEvent(feAddr, '/api/topom/console/live/wrong-token?forward=sdui-a');
    assert.equal(wrong.status, 403);
    const ok = await firstEvent(feAddr, `/api/topom/console/live/${a.token}?forward=sdui-a&interval=1`);
    assert.equal(ok.status, 200);
    const m = JSON.parse(ok.text) as {
      product: string;
      authed: boolean;
      full: boolean;
      stats: { slots: unknown[] };
      events: Array<{ kind: string }>;
    };
    assert.equal(m.product, 'sdui-a');
    assert.equal(m.authed, true);
    assert.equal(m.full, true);
    assert.equal(m.stats.slots.length, 1024);
    const ro = await firstEvent(feAddr, '/api/topom/console/live/_?forward=sdui-b');
    assert.equal(ro.status, 200);
    assert.equal((JSON.parse(ro.text) as { authed: boolean }).authed, false);
  });

  it('`shardis fe --coordinator` prints its URL and serves the product list; SIGTERM stops it', async () => {
    const p = startShardisProcess('fe', ['--coordinator', coordinator, '--listen', '127.0.0.1:0'], join(dir, 'fe.log'));
    try {
      const m = await p.waitLine(/^shardis fe listening url=http:\/\/(127\.0\.0\.1:\d+)\/$/, 20000);
      assert.deepEqual((await httpJson('GET', m[1]!, '/list', { timeoutMs: 5000 })).json, ['sdui-a', 'sdui-b']);
    } finally {
      await p.proc.stop();
    }
    assert.equal(await p.proc.exited, 0);
  });

  it('with --dashboard-list: a dashboard that is down gives a 502 naming it', async () => {
    const file = join(dir, 'list.json');
    writeFileSync(file, JSON.stringify([{ name: 'gone', dashboard: '127.0.0.1:1' }]));
    const fe2 = await startFeServer({ listen: '127.0.0.1:0', dashboardListFile: file });
    try {
      const addr = `127.0.0.1:${fe2.port}`;
      assert.deepEqual((await httpJson('GET', addr, '/list', { timeoutMs: 5000 })).json, ['gone']);
      const r = await httpJson('GET', addr, '/api/topom/console/info?forward=gone', { timeoutMs: 5000 });
      assert.equal(r.status, 502);
      assert.match((r.json as { error: string }).error, /dashboard 127\.0\.0\.1:1 of product gone is unreachable/);
    } finally {
      await fe2.close();
    }
    await assert.rejects(startFeServer({ listen: '127.0.0.1:0' }), /exactly one of --coordinator SPEC or --dashboard-list FILE/);
  });

  it('in chromium, the page on a dashboard offers read-only viewing only where console_read_only is on, without any action', async () => {
    const browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      headless: true,
      timeout: 30000,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
      page.setDefaultTimeout(15000);
      await page.goto(`http://${a.addr}/console/`);
      await page.getByTestId('login').waitFor();
      assert.equal(await page.getByRole('button', { name: 'View read-only' }).count(), 0);
      assert.equal(await page.locator('.sidebar').count(), 0, 'no product sidebar on a dashboard');
      await page.goto(`http://${b.addr}/console/`);
      await page.getByRole('button', { name: 'View read-only' }).click();
      await page.getByTestId('panel-overview').waitFor();
      assert.equal(await page.getByTestId('ov-product').textContent(), 'sdui-b');
      assert.equal(await page.getByRole('button', { name: 'Log out' }).count(), 0);
      await page.getByTestId('tab-groups').click();
      await page.getByTestId('panel-groups').waitFor();
      assert.equal(await page.getByTestId('new-group').count(), 0, 'no actions in read-only viewing');
      assert.equal(await page.evaluate(() => sessionStorage.length), 0, 'no token stored');
    } finally {
      await browser.close();
    }
  });
});
