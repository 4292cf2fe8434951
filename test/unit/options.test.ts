// Option tables: TOML files (including a Codis proxy.toml), flags over files, sizes and durations, and
// clear errors for bad values and unknown keys.
// Expected duration: under 1 s on a quiet 2-core machine.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { applyFlags, defaults, loadToml, parseDuration, parseSize, renderDefaultToml } from '../../src/util/options.js';
import { PROXY_OPTIONS, CODIS_IGNORED_PROXY_KEYS, toProxyConfig } from '../../src/proxy/config.js';

const dir = mkdtempSync(join(tmpdir(), 'shardis-opts-'));
const file = (name: string, text: string): string => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

test('sizes and durations', () => {
  assert.equal(parseSize('128kb'), 131072);
  assert.equal(parseSize('512mb'), 512 * 1024 * 1024);
  assert.equal(parseSize(42), 42);
  assert.throws(() => parseSize('12 parsecs'), /not a size/);
  assert.equal(parseDuration('30s'), 30000);
  assert.equal(parseDuration('1m30s'), 90000);
  assert.equal(parseDuration('250'), 250);
  assert.throws(() => parseDuration('soon'), /not a duration/);
});

test('a Codis proxy.toml loads: same-meaning keys apply, Codis-only keys are ignored with a warning', () => {
  const codis = file(
    'codis-proxy.toml',
    `
product_name = "codis-demo"
product_auth = "pw"
session_auth = ""
admin_addr = "0.0.0.0:11080"
proto_type = "tcp4"
proxy_addr = "0.0.0.0:19000"
jodis_name = ""
jodis_addr = ""
proxy_max_clients = 1000
proxy_max_offheap_size = "1024mb"
backend_ping_period = "5s"
backend_recv_bufsize = "128kb"
backend_max_pipeline = 20480
backend_primary_parallel = 1
backend_number_databases = 16
session_recv_timeout = "30m"
session_max_pipeline = 10000
session_break_on_failure = false
metrics_report_server = ""
metrics_report_influxdb_period = "1s"
`,
  );
  const warnings: string[] = [];
  const cfg = toProxyConfig(loadToml(PROXY_OPTIONS, codis, defaults(PROXY_OPTIONS), CODIS_IGNORED_PROXY_KEYS, (w) => warnings.push(w)));
  assert.equal(cfg.productName, 'codis-demo');
  assert.equal(cfg.productAuth, 'pw');
  assert.equal(cfg.proxyAddr, '0.0.0.0:19000');
  assert.equal(cfg.maxClients, 1000);
  assert.equal(cfg.backendPingPeriod, 5000);
  assert.equal(cfg.sessionRecvTimeout, 30 * 60000);
  assert.equal(cfg.sessionMaxPipeline, 10000);
  assert.ok(warnings.some((w) => w.includes('proto_type')));
  assert.ok(warnings.some((w) => w.includes('metrics_report_influxdb_period')));
});

test('flags override the file; bad values and unknown keys are clear errors', () => {
  const f = file('p.toml', 'proxy_addr = "127.0.0.1:7000"\nworkers = 2\n');
  const v = applyFlags(PROXY_OPTIONS, loadToml(PROXY_OPTIONS, f), { proxy_addr: '127.0.0.1:7001', session_max_bulk_len: '1mb' });
  const cfg = toProxyConfig(v);
  assert.equal(cfg.proxyAddr, '127.0.0.1:7001');
  assert.equal(cfg.workers, 2);
  assert.equal(cfg.maxBulkLen, 1024 * 1024);
  assert.throws(() => loadToml(PROXY_OPTIONS, file('typo.toml', 'proxy_adr = "x"\n')), /unknown option "proxy_adr"/);
  assert.throws(() => loadToml(PROXY_OPTIONS, file('bad.toml', 'workers = "many"\n')), /option workers: expected an integer/);
  assert.throws(() => applyFlags(PROXY_OPTIONS, defaults(PROXY_OPTIONS), { backend_ping_period: 'often' }), /--backend-ping-period/);
  assert.throws(() => toProxyConfig(applyFlags(PROXY_OPTIONS, defaults(PROXY_OPTIONS), { product_name: 'bad name!' })), /product_name/);
});

test('the default config renders every option and loads back to the defaults', () => {
  const text = renderDefaultToml('test', PROXY_OPTIONS);
  for (const s of PROXY_OPTIONS) assert.ok(text.includes(`\n${s.key} = `), s.key);
  assert.deepEqual(toProxyConfig(loadToml(PROXY_OPTIONS, file('d.toml', text))), toProxyConfig(defaults(PROXY_OPTIONS)));
});
