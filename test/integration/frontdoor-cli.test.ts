// `shardis admin frontdoor` from the command line: bad input (a --vip that is not an address, an
// unknown interface, no online proxies) gives a clear error and writes no file; good input writes a
// file that haproxy -c and nginx -t accept. Expected duration: ~5-10 s.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { runShardis } from '../helpers/frontdoor.js';

const dir = mkdtempSync(join(tmpdir(), 'sdfd-cli-'));

test('bad input: clear error, exit code, no file written', async () => {
  const out = join(dir, 'bad.conf');
  const cases: Array<[string[], RegExp, number]> = [
    [['frontdoor', 'keepalived', '--vip', '300.1.2.3', '--interface', 'lo'], /--vip "300\.1\.2\.3" is not an IP address/, 2],
    [['frontdoor', 'haproxy', '--vip', 'not-an-ip', '--proxy', '127.0.0.1:19000'], /--vip "not-an-ip" is not an IP address/, 2],
    [
      ['frontdoor', 'keepalived', '--vip', '192.0.2.100/24', '--interface', 'sdfdnosuch0'],
      /--interface "sdfdnosuch0": no such network interface/,
      2,
    ],
    [
      ['--coordinator', `filesystem:${join(dir, 'empty-coord')}`, '--product', 'sdfd-empty', 'frontdoor', 'haproxy'],
      /no online proxies in .*nothing written/,
      1,
    ],
    [['--coordinator', `filesystem:${join(dir, 'empty-coord')}`, '--product', 'sdfd-empty', 'frontdoor', 'nginx'], /no online proxies/, 1],
    [['frontdoor', 'haproxy', '--proxy', 'nohostport'], /--proxy "nohostport" is not HOST:PORT/, 2],
    [['frontdoor', 'keepalived', '--vip', '192.0.2.100', '--interface', 'lo', '--peer', 'x.y'], /--peer "x\.y" is not an IP address/, 2],
  ];
  for (const [args, re, code] of cases) {
    const r = await runShardis(['admin', ...args, '--out', out]);
    assert.equal(r.code, code, `${args.join(' ')}: exit ${r.code} ${r.stderr}`);
    assert.match(r.stderr, re, args.join(' '));
    assert.ok(!existsSync(out), `${args.join(' ')}: no file written`);
  }
});

test('good input: files written mode 600 and accepted by haproxy -c and nginx -t', async () => {
  const h = join(dir, 'haproxy.cfg');
  const r = await runShardis([
    'admin',
    'frontdoor',
    'haproxy',
    '--proxy',
    '127.0.0.1:19000',
    '--proxy',
    '127.0.0.1:19001',
    '--auth',
    'secret',
    '--runtime-api',
    '127.0.0.1:9999',
    '--out',
    h,
  ]);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(statSync(h).mode & 0o777, 0o600);
  execFileSync('haproxy', ['-c', '-q', '-f', h], { stdio: 'pipe' });
  const n = join(dir, 'nginx.conf');
  const r2 = await runShardis([
    'admin',
    'frontdoor',
    'nginx',
    '--proxy',
    '127.0.0.1:19000',
    '--bind',
    '127.0.0.1:6390',
    '--pid-file',
    join(dir, 'nginx.pid'),
    '--out',
    n,
  ]);
  assert.equal(r2.code, 0, r2.stderr);
  execFileSync('nginx', ['-t', '-q', '-p', dir, '-c', n, '-g', `error_log ${join(dir, 'nginx-error.log')};`], { stdio: 'pipe' });
});
