// The web console's page: finds out whether it is served by a dashboard (one product) or by
// `shardis fe` (products in a sidebar), logs in with the product's admin token (taken once from
// `?token=`, kept in sessionStorage, removed from the address bar), follows the dashboard's live
// stream, and renders the panels. Charts keep their 15 minutes of samples in the page across data
// refreshes and dashboard restarts; while the dashboard is down the last data stays, marked as stale.
import { render, type JSX } from 'preact';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import type { ConsoleEvent, ConsoleLive, ConsoleSample } from '../models/console.js';
import { parseCluster, type Cluster } from './cluster.js';
import {
  apiUrl,
  call,
  detectSite,
  dropToken,
  fetchInfo,
  getToken,
  LiveFeed,
  setToken,
  type CallResult,
  type FeedState,
  type Site,
} from './connection.js';
import { ConfirmDialog, type Pending } from './dialog.js';
import { fakeMessage, fakeSize } from './fake.js';
import { Groups } from './panels/groups.js';
import { Migrations } from './panels/migrations.js';
import { Overview } from './panels/overview.js';
import { Proxies } from './panels/proxies.js';
import { Sentinels } from './panels/sentinels.js';
import { SlotMap } from './panels/slot-map.js';
import type { Ops } from './panels/types.js';

const WINDOW_MS = 15 * 60 * 1000;
const MAX_EVENTS = 500;
const TABS = ['overview', 'slots', 'migrations', 'groups', 'proxies', 'sentinels'] as const;
type Tab = (typeof TABS)[number];
const TAB_LABEL: Record<Tab, string> = {
  overview: 'Overview',
  slots: 'Slot map',
  migrations: 'Migrations',
  groups: 'Groups & servers',
  proxies: 'Proxies',
  sentinels: 'Sentinels & events',
};

declare global {
  interface Window {
    __shardisConsole?: { renders: number; lastRenderMs: number; messages: number };
  }
}
const perf = (window.__shardisConsole = { renders: 0, lastRenderMs: 0, messages: 0 });

function readHash(): { product: string; tab: Tab } {
  const [p, t] = decodeURIComponent(location.hash.slice(1)).split('/');
  return { product: p ?? '', tab: (TABS as readonly string[]).includes(t ?? '') ? (t as Tab) : 'overview' };
}

function takeTokenFromUrl(): string | null {
  const u = new URL(location.href);
  const t = u.searchParams.get('token');
  if (t === null) return null;
  u.searchParams.delete('token');
  history.replaceState(null, '', u.pathname + u.search + u.hash);
  return t;
}

function Login({
  product,
  site,
  readOnlyAllowed,
  error,
  onToken,
  onReadOnly,
}: {
  product: string;
  site: Site;
  readOnlyAllowed: boolean;
  error: string;
  onToken: (t: string) => void;
  onReadOnly: () => void;
}) {
  const [value, setValue] = useState('');
  const [err, setErr] = useState(error);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event): Promise<void> => {
    e.preventDefault();
    setBusy(true);
    const r = await call(site, product, 'GET', '/api/topom/xping/_', value.trim());
    setBusy(false);
    if (r.ok) onToken(value.trim());
    else setErr(r.status === 403 || r.status === 401 ? 'Wrong admin token for this product.' : r.error);
  };
  return (
    <form class="login" onSubmit={(e) => void submit(e)} data-testid="login">
      <h2>Log in to {product}</h2>
      <p class="muted">
        Enter the product's admin token (dashboard <code>admin_token</code>; <code>shardis up</code> prints a link with it).
      </p>
      <label>
        Admin token{' '}
        <input
          type="password"
          autoComplete="current-password"
          value={value}
          onInput={(e) => setValue((e.target as HTMLInputElement).value)}
          data-testid="token-input"
          autoFocus
        />
      </label>
      <button type="submit" class="primary" disabled={!value || busy} data-testid="login-submit">
        Log in
      </button>
      {readOnlyAllowed ? (
        <button type="button" onClick={onReadOnly}>
          View read-only
        </button>
      ) : null}
      {err ? (
        <p class="error" role="alert">
          {err}
        </p>
      ) : null}
    </form>
  );
}

function mergeSamples(into: ConsoleSample[], add: ConsoleSample[], now: number): ConsoleSample[] {
  const last = into[into.length - 1]?.t ?? 0;
  const out = into.concat(add.filter((s) => s.t > last));
  let cut = 0;
  while ((out[cut]?.t ?? Infinity) < now - WINDOW_MS) cut++;
  return cut ? out.slice(cut) : out;
}

function mergeEvents(into: ConsoleEvent[], add: ConsoleEvent[]): ConsoleEvent[] {
  if (add.length === 0) return into;
  const seen = new Set(into.map((e) => `${e.t}|${e.text}`));
  const out = into.concat(add.filter((e) => !seen.has(`${e.t}|${e.text}`)));
  out.sort((a, b) => a.t - b.t);
  return out.length > MAX_EVENTS ? out.slice(out.length - MAX_EVENTS) : out;
}

interface Live {
  cluster: Cluster | null;
  at: number;
  standby: string;
  authed: boolean;
  dashboard: ConsoleLive['dashboard'];
  slotOps: number[] | null;
}

function ConsoleView({ site, product, token, onLogout }: { site: Site; product: string; token: string | null; onLogout: () => void }) {
  const [tab, setTab] = useState<Tab>(readHash().tab);
  const [interval, setIntervalS] = useState<number>(() => Number(localStorage.getItem('shardis-refresh')) || 3);
  const [live, setLive] = useState<Live>({ cluster: null, at: 0, standby: '', authed: false, dashboard: undefined, slotOps: null });
  const [feed, setFeed] = useState<FeedState>({ kind: 'connecting' });
  const [pending, setPending] = useState<Pending | null>(null);
  const [note, setNote] = useState<{ text: string; error: boolean } | null>(null);
  const samples = useRef<ConsoleSample[]>([]);
  const [events, setEvents] = useState<ConsoleEvent[]>([]);
  const t0 = useRef(0);

  const onMessage = (m: ConsoleLive): void => {
    t0.current = performance.now();
    perf.messages++;
    samples.current = mergeSamples(samples.current, m.samples, m.t);
    if (m.events.length) setEvents((e) => mergeEvents(e, m.events));
    setLive((prev) => ({
      cluster: m.stats !== undefined ? parseCluster(m.stats) : prev.cluster,
      at: m.stats !== undefined ? Date.now() : prev.at,
      standby: m.standby ?? '',
      authed: m.authed,
      dashboard: m.dashboard ?? prev.dashboard,
      slotOps: m.slot_ops,
    }));
  };

  useEffect(() => {
    history.replaceState(null, '', `${location.pathname}${location.search}#${encodeURIComponent(product)}/${tab}`);
  }, [product, tab]);

  useEffect(() => {
    localStorage.setItem('shardis-refresh', String(interval));
    const size = fakeSize();
    if (size) {
      let tick = 0;
      onMessage(fakeMessage(size, tick++, true));
      setFeed({ kind: 'live', since: Date.now() });
      const iv = setInterval(() => onMessage(fakeMessage(size, tick++, false)), interval * 1000);
      return () => clearInterval(iv);
    }
    const f = new LiveFeed(
      () => apiUrl(site, product, `/api/topom/console/live/${encodeURIComponent(token ?? '_')}`, { interval: String(interval) }),
      interval * 1000,
      onMessage,
      setFeed,
    );
    f.start();
    return () => f.stop();
  }, [site, product, token, interval]);

  useEffect(() => {
    if (t0.current) {
      perf.lastRenderMs = performance.now() - t0.current;
      perf.renders++;
      t0.current = 0;
    }
  });

  const refreshNow = async (): Promise<void> => {
    const r = await call(site, product, 'GET', '/api/topom/console/snapshot/_?since_t=' + Date.now(), token);
    if (r.ok) onMessage(r.body as unknown as ConsoleLive);
  };
  const ops: Ops = {
    readOnly: !token,
    ask: (question, path, o) =>
      setPending({
        question,
        detail: o?.detail,
        danger: o?.danger,
        run: () => call(site, product, 'PUT', path, token),
        done: (body) => {
          o?.done?.(body);
        },
      }),
    call: (method, path) => call(site, product, method, path, token),
    note: (text, error) => setNote({ text, error }),
  };
  const closeDialog = (r: CallResult | null): void => {
    const q = pending?.question ?? '';
    setPending(null);
    if (r?.ok) {
      const push = r.body.push as { failed?: Array<{ error?: string }> } | undefined;
      const failed = push?.failed?.length
        ? ` — but ${push.failed.length} proxies were not reached: ${push.failed.map((f) => f.error).join('; ')}`
        : '';
      setNote({ text: `Done: ${q.replace(/\?$/, '')}${failed}`, error: Boolean(failed) });
      void refreshNow();
    }
  };

  const chart = useMemo(() => {
    const s = samples.current;
    return {
      xs: s.map((x) => x.t / 1000),
      ops: s.map((x) => x.ops),
      p99: s.map((x) => (x.p99_us === null ? null : Math.round(x.p99_us / 100) / 10)),
    };
  }, [live]);

  const c = live.cluster;
  let status: JSX.Element;
  if (feed.kind === 'down')
    status = (
      <span class="bad" role="alert" data-testid="status">
        Dashboard unreachable since {new Date(feed.since).toLocaleTimeString()} —{' '}
        {c ? `showing data from ${new Date(live.at).toLocaleTimeString()}` : 'no data yet'}; retrying every {interval} s
      </span>
    );
  else if (live.standby)
    status = (
      <span class="warn" role="alert" data-testid="status">
        Dashboard is standby (takeover under way?): {live.standby}
      </span>
    );
  else if (feed.kind === 'connecting')
    status = (
      <span class="muted" data-testid="status">
        connecting…
      </span>
    );
  else
    status = (
      <span class="good" data-testid="status">
        live · updated {live.at ? new Date(live.at).toLocaleTimeString() : '–'}
        {c?.closed ? ' · FENCED' : ''}
      </span>
    );

  return (
    <main>
      <header class="top">
        <h1>{product}</h1>
        {status}
        <label class="refresh">
          Refresh every{' '}
          <input
            type="range"
            min={1}
            max={60}
            value={interval}
            onChange={(e) => setIntervalS(Number((e.target as HTMLInputElement).value))}
            aria-valuetext={`${interval} seconds`}
            data-testid="refresh"
          />{' '}
          <output>{interval} s</output>
        </label>
        {token ? (
          <button onClick={onLogout}>Log out</button>
        ) : (
          <span class="warn">
            read-only <button onClick={onLogout}>Log in</button>
          </span>
        )}
      </header>
      <nav class="tabs" role="tablist" aria-label="Panels">
        {TABS.map((t) => (
          <button
            key={t}
            role="tab"
            aria-selected={tab === t}
            class={tab === t ? 'active' : ''}
            onClick={() => setTab(t)}
            data-testid={`tab-${t}`}
          >
            {TAB_LABEL[t]}
          </button>
        ))}
      </nav>
      {note ? (
        <p class={note.error ? 'note error' : 'note'} role={note.error ? 'alert' : 'status'} data-testid="note">
          {note.text}{' '}
          <button class="link" onClick={() => setNote(null)} aria-label="dismiss">
            ✕
          </button>
        </p>
      ) : null}
      {!c ? (
        <p class="muted">Waiting for data…</p>
      ) : (
        <div class="panel" role="tabpanel" data-testid={`panel-${tab}`}>
          {tab === 'overview' ? (
            <Overview c={c} product={product} dashboard={live.dashboard} xs={chart.xs} ops={chart.ops} p99={chart.p99} />
          ) : null}
          {tab === 'slots' ? <SlotMap c={c} ops={ops} slotOps={live.slotOps} /> : null}
          {tab === 'migrations' ? <Migrations c={c} ops={ops} /> : null}
          {tab === 'groups' ? <Groups c={c} ops={ops} /> : null}
          {tab === 'proxies' ? <Proxies c={c} ops={ops} /> : null}
          {tab === 'sentinels' ? <Sentinels c={c} ops={ops} events={events} /> : null}
        </div>
      )}
      {pending ? <ConfirmDialog pending={pending} onClose={closeDialog} /> : null}
    </main>
  );
}

function App() {
  const [site, setSite] = useState<Site | null>(null);
  const [product, setProduct] = useState('');
  const [token, setTok] = useState<string | null>(null);
  const [mode, setMode] = useState<'loading' | 'login' | 'console' | 'readonly'>('loading');
  const [readOnlyAllowed, setReadOnlyAllowed] = useState(false);
  const [error, setError] = useState('');

  useEffect(() => {
    const fromUrl = takeTokenFromUrl();
    if (fakeSize()) {
      setSite({ fe: false, products: ['fake'] });
      setProduct('fake');
      setTok('fake');
      setMode('console');
      return;
    }
    detectSite()
      .then((s) => {
        setSite(s);
        const want = readHash().product;
        const p = s.products.includes(want) ? want : (s.products[0] ?? '');
        if (fromUrl && p) setToken(p, fromUrl);
        setProduct(p);
      })
      .catch((e: Error) => setError(`cannot reach the console's server: ${e.message}`));
  }, []);

  useEffect(() => {
    if (!site || !product || fakeSize()) return;
    let cancelled = false;
    setMode('loading');
    void (async () => {
      const info = await fetchInfo(site, product);
      if (cancelled) return;
      const ro = 'read_only' in info && info.read_only;
      setReadOnlyAllowed(ro);
      const t = getToken(product);
      if (t) {
        const r = await call(site, product, 'GET', '/api/topom/xping/_', t);
        if (cancelled) return;
        if (r.ok || (r.status !== 401 && r.status !== 403)) {
          setTok(t);
          setMode('console');
          return;
        }
        dropToken(product);
        setError('The saved admin token was refused: log in again.');
      }
      setTok(null);
      setMode('login');
    })();
    return () => {
      cancelled = true;
    };
  }, [site, product]);

  if (!site) return <p class={error ? 'error' : 'muted'}>{error || 'Loading…'}</p>;
  return (
    <div class={site.fe ? 'layout with-sidebar' : 'layout'}>
      {site.fe ? (
        <aside class="sidebar" aria-label="Products">
          <h2>Shardis</h2>
          <ul>
            {site.products.map((p) => (
              <li key={p}>
                <a
                  href={`#${encodeURIComponent(p)}`}
                  aria-current={p === product ? 'page' : undefined}
                  onClick={() => {
                    setError('');
                    setProduct(p);
                  }}
                >
                  {p}
                </a>
              </li>
            ))}
          </ul>
          {site.products.length === 0 ? <p class="muted">No product in the coordinator.</p> : null}
        </aside>
      ) : null}
      {mode === 'loading' ? (
        <p class="muted">Loading {product}…</p>
      ) : mode === 'login' ? (
        <Login
          key={product}
          product={product}
          site={site}
          readOnlyAllowed={readOnlyAllowed}
          error={error}
          onToken={(t) => {
            setToken(product, t);
            setTok(t);
            setError('');
            setMode('console');
          }}
          onReadOnly={() => setMode('readonly')}
        />
      ) : (
        <ConsoleView
          key={`${product}|${token ?? ''}`}
          site={site}
          product={product}
          token={mode === 'readonly' ? null : token}
          onLogout={() => {
            dropToken(product);
            setTok(null);
            setMode('login');
          }}
        />
      )}
    </div>
  );
}

const root = document.getElementById('app');
if (root) render(<App />, root);
