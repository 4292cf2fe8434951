// Fake-data mode (`?fake=large` or `?fake=small`): the page generates a cluster's stats itself, with
// no dashboard, so the render time and memory of a big cluster (1024 slots, 32 groups × 3 servers,
// 64 proxies) can be measured in a browser (bench/console-bench.ts). Never used with a real cluster.
import type { ConsoleLive, ConsoleSample } from '../models/console.js';

export function fakeSize(): { groups: number; replicas: number; proxies: number } | null {
  const v = new URLSearchParams(location.search).get('fake');
  if (v === 'large') return { groups: 32, replicas: 2, proxies: 64 };
  if (v === 'small') return { groups: 2, replicas: 1, proxies: 2 };
  return null;
}

export function fakeMessage(size: { groups: number; replicas: number; proxies: number }, tick: number, full: boolean): ConsoleLive {
  const now = Date.now();
  const models = [];
  const stats: Record<string, unknown> = {};
  for (let g = 1; g <= size.groups; g++) {
    const servers = [];
    for (let r = 0; r <= size.replicas; r++) {
      const addr = `10.0.${g}.${r + 1}:6379`;
      servers.push({ server: addr, datacenter: `dc${(r % 2) + 1}`, action: {}, replica_group: r > 0 });
      stats[addr] = {
        stats: {
          role: r === 0 ? 'master' : 'slave',
          master_addr: r === 0 ? undefined : `10.0.${g}.1:6379`,
          master_link_status: r === 0 ? undefined : 'up',
          used_memory: String(1e8 + g * 1e6 + tick),
          maxmemory: String(4e9),
        },
        dbs: { 0: 100000 + g * 10 + (tick % 7) },
        unixtime: Math.floor(now / 1000),
      };
    }
    models.push({ id: g, servers, promoting: {}, out_of_sync: false });
  }
  const per = Math.floor(1024 / size.groups);
  const slots = Array.from({ length: 1024 }, (_, i) => {
    const gid = Math.min(size.groups, Math.floor(i / per) + 1);
    const migrating = i % 97 === tick % 97;
    return { id: i, group_id: gid, action: migrating ? { index: 1, state: 'migrating', target_id: (gid % size.groups) + 1 } : {} };
  });
  const pmodels = [];
  const pstats: Record<string, unknown> = {};
  for (let p = 1; p <= size.proxies; p++) {
    const token = `fake${p}`;
    pmodels.push({ id: p, token, proxy_addr: `10.1.0.${p}:19000`, admin_addr: `10.1.0.${p}:11080`, datacenter: `dc${(p % 2) + 1}` });
    pstats[token] = {
      ops_per_sec: 1000 + ((p * 37 + tick * 11) % 500),
      needs_resync: false,
      unixtime: Math.floor(now / 1000),
      stats: {
        online: true,
        ops: { total: 1e6 + tick * 1000, fails: p % 5 },
        sessions: { total: 100 + p, alive: 10 + (p % 4) },
        backends: Array.from({ length: size.groups }, () => ({ state: 'connected' })),
      },
    };
  }
  const samples: ConsoleSample[] = [];
  const n = full ? 450 : 1;
  for (let i = n - 1; i >= 0; i--)
    samples.push({ t: now - i * 2000, ops: 60000 + Math.round(5000 * Math.sin((tick - i) / 20)), p99_us: 1000 + ((tick - i) % 5) * 250 });
  return {
    product: 'fake',
    t: now,
    authed: true,
    full,
    dashboard: { addr: '127.0.0.1:18080', coordinator: 'fake', version: 'fake' },
    stats: {
      closed: false,
      slots,
      slot_counts: Object.fromEntries(models.map((m) => [String(m.id), per])),
      group: { models, stats },
      proxy: { models: pmodels, stats: pstats },
      slot_action: {
        interval: 0,
        busy_percent: 10,
        disabled: false,
        progress: {
          state: 'running',
          slots_done: tick % 50,
          slots_total: 50,
          keys_moved: tick * 100,
          keys_per_sec: 5000,
          elapsed_ms: tick * 1000,
        },
      },
      sentinels: {
        model: { servers: ['10.2.0.1:26379', '10.2.0.2:26379', '10.2.0.3:26379'], out_of_sync: false },
        stats: {},
        masters: {},
        disagreements: [],
      },
    },
    samples,
    events: [{ id: tick + 1, t: now, kind: 'migration', text: `fake event ${tick}` }],
    slot_ops: Array.from({ length: 1024 }, (_, i) => (i * 7 + tick) % 300),
  };
}
