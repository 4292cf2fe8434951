// Web console benchmark (not a test): render time of a large cluster's overview in headless chromium,
// and the page's memory over a long run of refreshes.
//
//   npm run bench:console                    # 10 minutes of 1 s refreshes, writes bench/reports/console-<date>.md
//   npm run bench:console -- --minutes 60    # the full hour the issue asks for
//   npm run bench:console -- --quick         # 1 minute, no report file
//
// The page runs in its fake-data mode (`?fake=large`: 1024 slots, 32 groups × 3 servers, 64 proxies,
// a migration under way, per-slot rates, 15 minutes of chart samples), served from dist/ui by a small
// static server, so the figures are the page's own cost (parse the data, render), not the network's.
// 1. Cold load: navigation start → the overview shows the 32 groups (bundle load + first render), 5 times.
// 2. Refresh render: the page's own timer from a data message to the committed render, over every refresh.
// 3. Each panel: click its tab → rendered.
// 4. Memory: JS heap after a forced GC (CDP HeapProfiler.collectGarbage) and DOM node count, sampled every
//    30 s while the page refreshes every second, switching panels every 10 refreshes (charts are torn
//    down and rebuilt), compared first vs last third.
// 5. Transfer: gzip size of index.html + app.js + app.css.
import http from 'node:http';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { consoleAsset } from '../src/util/console-assets.js';

/** What the page exposes for measuring (src/ui/main.tsx). */
declare global {
  interface Window {
    __shardisConsole?: { renders: number; lastRenderMs: number; messages: number };
  }
}

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const argv = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
const quick = argv.includes('--quick');
const minutes = Number(flag('--minutes') ?? (quick ? 1 : 10));
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];
const TABS = ['overview', 'slots', 'migrations', 'groups', 'proxies', 'sentinels'];

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
};
const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(s.length * p))] ?? NaN;
};
const r1 = (x: number): string => (Number.isFinite(x) ? x.toFixed(1) : '–');

async function main(): Promise<void> {
  const server = http.createServer((req, res) => {
    const name = new URL(req.url ?? '/', 'http://x').pathname.slice(1);
    const a = consoleAsset(name);
    if (!a) {
      res.writeHead(404);
      res.end();
      return;
    }
    res.writeHead(200, { 'content-type': a.type, 'content-encoding': 'gzip' });
    res.end(a.gzip);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const port = (server.address() as { port: number }).port;
  const url = `http://127.0.0.1:${port}/?fake=large`;
  const transfer = ['index.html', 'app.js', 'app.css'].map((f) => ({
    f,
    raw: consoleAsset(f)?.body.length ?? 0,
    gz: consoleAsset(f)?.gzip.length ?? 0,
  }));
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', headless: true, args: ARGS, timeout: 30000 });
  const lines: string[] = [];
  const log = (s: string): void => {
    lines.push(s);
    process.stdout.write(`${s}\n`);
  };
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.addInitScript(() => localStorage.setItem('shardis-refresh', '1'));
    // 1. cold loads
    const cold: number[] = [];
    for (let i = 0; i < 5; i++) {
      await page.goto(url);
      const t = await page.waitForFunction(
        () => (document.querySelector('[data-testid=ov-groups]')?.textContent === '32' ? performance.now() : 0),
        undefined,
        { timeout: 30000, polling: 'raf' },
      );
      cold.push(await t.jsonValue());
    }
    const hscroll = await page.evaluate(() => document.documentElement.scrollWidth > document.documentElement.clientWidth);
    // 3. panels
    const tabMs: Record<string, number[]> = {};
    const hscrollTabs = new Set<string>();
    for (let round = 0; round < 3; round++) {
      for (const t of TABS) {
        const ms = await page.evaluate(async (tab) => {
          const t0 = performance.now();
          (document.querySelector(`[data-testid=tab-${tab}]`) as HTMLElement).click();
          while (!document.querySelector(`[data-testid=panel-${tab}]`)) await new Promise((r) => requestAnimationFrame(r));
          return performance.now() - t0;
        }, t);
        (tabMs[t] ??= []).push(ms);
        if (await page.evaluate(() => document.documentElement.scrollWidth > document.documentElement.clientWidth)) hscrollTabs.add(t);
      }
    }
    await page.getByTestId('tab-overview').click();
    // 2 + 4. refreshes and memory
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Performance.enable');
    const sample = async (): Promise<{ heap: number; nodes: number; listeners: number }> => {
      await cdp.send('HeapProfiler.collectGarbage');
      const m = (await cdp.send('Performance.getMetrics')).metrics;
      const get = (n: string): number => m.find((x) => x.name === n)?.value ?? NaN;
      return { heap: get('JSHeapUsedSize'), nodes: get('Nodes'), listeners: get('JSEventListeners') };
    };
    const samples: Array<{ at: number; heap: number; nodes: number; listeners: number }> = [];
    const renders: number[] = [];
    const start = Date.now();
    const end = start + minutes * 60000;
    let lastRenders = 0;
    let tabIdx = 0;
    samples.push({ at: 0, ...(await sample()) });
    while (Date.now() < end) {
      await page.waitForTimeout(10000);
      const p = await page.evaluate(() => window.__shardisConsole ?? { renders: 0, lastRenderMs: 0, messages: 0 });
      if (p.renders > lastRenders) renders.push(p.lastRenderMs);
      lastRenders = p.renders;
      tabIdx = (tabIdx + 1) % TABS.length;
      await page.getByTestId(`tab-${TABS[tabIdx]}`).click();
      if ((Date.now() - start) % 30000 < 10000) samples.push({ at: Math.round((Date.now() - start) / 1000), ...(await sample()) });
    }
    await page.getByTestId('tab-overview').click();
    await page.waitForTimeout(2000);
    samples.push({ at: Math.round((Date.now() - start) / 1000), ...(await sample()) });
    const msgs = await page.evaluate(() => window.__shardisConsole?.messages ?? 0);
    // A dense per-refresh render sample on the overview: 30 refreshes at 1 s.
    const dense: number[] = [];
    for (let i = 0; i < 30; i++) {
      const before = await page.evaluate(() => window.__shardisConsole?.renders ?? 0);
      const v = await page.waitForFunction(
        (b) => ((window.__shardisConsole?.renders ?? 0) > b ? window.__shardisConsole!.lastRenderMs : 0),
        before,
        { timeout: 10000, polling: 50 },
      );
      dense.push(await v.jsonValue());
    }
    const third = Math.max(1, Math.floor(samples.length / 3));
    const firstHeap = median(samples.slice(0, third).map((s) => s.heap));
    const lastHeap = median(samples.slice(-third).map((s) => s.heap));
    log(`# Web console benchmark (${new Date().toISOString().slice(0, 10)})`);
    log('');
    log(
      `Machine: ${os.cpus().length} × ${os.cpus()[0]?.model ?? '?'}, load average ${os
        .loadavg()
        .map((x) => x.toFixed(2))
        .join(' ')} (shared with other builds and tests: indicative figures).`,
    );
    log(
      `Chromium: ${browser.version()} headless, viewport 1280×800. Page: \`?fake=large\` — 1024 slots, 32 groups × 3 servers, 64 proxies, 15 min of chart samples.`,
    );
    log(`Command: \`npm run bench:console -- --minutes ${minutes}\``);
    log('');
    log('| measure | value |');
    log('|---|---|');
    log(
      `| cold load to overview rendered (nav start → 32 groups shown), median of 5 | ${r1(median(cold))} ms (min ${r1(Math.min(...cold))}, max ${r1(Math.max(...cold))}) |`,
    );
    log(
      `| overview refresh render (data message → committed), median / p95 / max of ${dense.length} | ${r1(median(dense))} / ${r1(pct(dense, 0.95))} / ${r1(Math.max(...dense))} ms |`,
    );
    for (const t of TABS) log(`| switch to ${t} panel, median of 3 | ${r1(median(tabMs[t] ?? []))} ms |`);
    log(
      `| horizontal scrollbar at 1280×800 | ${hscroll || hscrollTabs.size ? `YES (${hscroll ? 'overview ' : ''}${[...hscrollTabs].join(' ')})` : 'no (every panel)'} |`,
    );
    log(
      `| transfer (gzip) | ${transfer.map((x) => `${x.f} ${(x.gz / 1024).toFixed(1)} KB`).join(', ')}; total ${(transfer.reduce((a, b) => a + b.gz, 0) / 1024).toFixed(1)} KB |`,
    );
    log(`| refreshes during the memory run | ${msgs} over ${minutes} min, panel switched every 10 s |`);
    log(
      `| JS heap after GC, median of first third → last third | ${(firstHeap / 1048576).toFixed(2)} MB → ${(lastHeap / 1048576).toFixed(2)} MB (${lastHeap >= firstHeap ? '+' : ''}${(((lastHeap - firstHeap) / firstHeap) * 100).toFixed(1)} %) |`,
    );
    log('');
    log('Memory samples (after a forced GC):');
    log('');
    log('| t (s) | JS heap (MB) | DOM nodes | listeners |');
    log('|---|---|---|---|');
    for (const s of samples) log(`| ${s.at} | ${(s.heap / 1048576).toFixed(2)} | ${s.nodes} | ${s.listeners} |`);
    if (!quick) {
      const dir = join(ROOT, 'bench', 'reports');
      mkdirSync(dir, { recursive: true });
      const file = join(dir, `console-${new Date().toISOString().slice(0, 10)}.md`);
      writeFileSync(file, lines.join('\n') + '\n');
      process.stdout.write(`report: ${file}\n`);
    }
  } finally {
    await browser.close();
    server.close();
  }
}

main().catch((e: Error) => {
  process.stderr.write(`console bench: ${e.stack ?? e.message}\n`);
  process.exit(1);
});
