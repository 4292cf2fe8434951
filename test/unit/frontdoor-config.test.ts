// Front-door config generators and input checks (pure functions; the daemons' own checks of the
// generated files run in the integration tests). Expected duration: < 1 s.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { defaultHaproxyOptions, haproxyServerName, renderHaproxyConfig } from '../../src/frontdoor/haproxy-config.js';
import { defaultNginxOptions, renderNginxConfig } from '../../src/frontdoor/nginx-config.js';
import { renderKeepalivedConfig, type KeepalivedOptions } from '../../src/frontdoor/keepalived-config.js';
import { checkInterface, FrontdoorInputError, parseVip } from '../../src/frontdoor/validate.js';
import { parseJodisEntry, type ProxyEntry } from '../../src/client/proxy-directory.js';

const proxies: ProxyEntry[] = [
  { token: 'aaaaaaaaaaaaaaaaaaaa', addr: '10.0.0.1:19000', admin: '10.0.0.1:11080', state: 'online' },
  { token: 'bbbbbbbbbbbbbbbbbbbb', addr: '10.0.0.2:19000', admin: '10.0.0.2:11080', state: 'online' },
];

test('haproxy.cfg: tcp mode, leastconn, RESP check with AUTH as a RESP array, one server per proxy, stats and runtime socket', () => {
  const cfg = renderHaproxyConfig(proxies, { ...defaultHaproxyOptions(), auth: 'p a"ss', runtimeApi: '127.0.0.1:9999' });
  assert.match(cfg, /^\s+mode tcp$/m);
  assert.match(cfg, /^\s+balance leastconn$/m);
  assert.match(cfg, /^\s+stats socket ipv4@127\.0\.0\.1:9999 level admin$/m);
  assert.ok(cfg.includes(`tcp-check send-binary ${Buffer.from('*2\r\n$4\r\nAUTH\r\n$6\r\np a"ss\r\n').toString('hex')}`));
  assert.ok(cfg.includes(`tcp-check send-binary ${Buffer.from('*1\r\n$4\r\nPING\r\n').toString('hex')}`));
  assert.match(cfg, /tcp-check expect string \+PONG/);
  for (const p of proxies)
    assert.match(cfg, new RegExp(`server ${haproxyServerName(p)} ${p.addr} check inter 1000 fall 2 rise 2 maxconn 1000 weight 100`));
  assert.match(cfg, /^listen stats$/m);
  const noAuth = renderHaproxyConfig(proxies, defaultHaproxyOptions());
  assert.ok(!noAuth.includes('AUTH'), 'no AUTH step without a password');
});

test('nginx.conf: stream upstream with least_conn, max_conns in a zone, passive failure detection', () => {
  const cfg = renderNginxConfig(proxies, { ...defaultNginxOptions(), bind: '127.0.0.1:6380' });
  assert.match(cfg, /load_module \/usr\/lib\/nginx\/modules\/ngx_stream_module\.so;/);
  assert.match(cfg, /least_conn;/);
  assert.match(cfg, /zone shardis_proxies 64k;/);
  assert.match(cfg, /server 10\.0\.0\.1:19000 max_fails=1 fail_timeout=5s max_conns=1000;/);
  assert.match(cfg, /listen 127\.0\.0\.1:6380;/);
});

const ka = (over: Partial<KeepalivedOptions> = {}): KeepalivedOptions => ({
  vip: '192.0.2.100/24',
  interface: 'eth0',
  virtualRouterId: 51,
  priority: 150,
  advertInt: 1,
  downTimerAdverts: 2,
  peers: ['192.0.2.12'],
  srcIp: '192.0.2.11',
  check: { kind: 'haproxy', host: '127.0.0.1', port: 6379, auth: '' },
  notifyLog: '',
  redisCli: '/usr/bin/redis-cli',
  instance: 'shardis_vip_51',
  routerId: 'r1',
  ...over,
});

test('keepalived.conf: VRRP instance, unicast peers, vrrp_script PING check, notify hook that only logs', () => {
  const cfg = renderKeepalivedConfig(ka());
  assert.match(cfg, /virtual_router_id 51/);
  assert.match(cfg, /priority 150/);
  assert.match(cfg, /advert_int 1/);
  assert.match(cfg, /unicast_peer \{\n\s+192\.0\.2\.12\n\s+\}/);
  assert.match(cfg, /script "\/bin\/sh -c '\/usr\/bin\/timeout 2 \/usr\/bin\/redis-cli -h 127\.0\.0\.1 -p 6379 PING \| grep -qx PONG'"/);
  assert.match(cfg, /192\.0\.2\.100\/24 dev eth0/);
  assert.match(cfg, /notify ".*logger -t shardis-keepalived/);
});

test('keepalived.conf --redis-pair: claims the VIP only where ROLE says master; never promotes or demotes', () => {
  const cfg = renderKeepalivedConfig(
    ka({ check: { kind: 'redis-pair', host: '192.0.2.11', port: 6379, auth: 'pw', group: 3 }, instance: 'shardis_redis_g3' }),
  );
  assert.match(cfg, /ROLE \| head -n 1 \| grep -qx master/);
  assert.match(cfg, /-a pw/);
  assert.ok(
    !/SLAVEOF|REPLICAOF/i.test(
      cfg
        .split('\n')
        .filter((l) => !l.trim().startsWith('#'))
        .join('\n'),
    ),
    'no SLAVEOF/REPLICAOF outside comments',
  );
});

test('input checks: VIP, interface', () => {
  assert.deepEqual(parseVip('192.0.2.1'), { addr: '192.0.2.1', cidr: '192.0.2.1/32' });
  assert.deepEqual(parseVip('192.0.2.1/24'), { addr: '192.0.2.1', cidr: '192.0.2.1/24' });
  assert.equal(parseVip('2001:db8::1/64').cidr, '2001:db8::1/64');
  for (const bad of ['300.1.1.1', 'vip', '192.0.2.1/40', '', '192.0.2.1/0']) assert.throws(() => parseVip(bad), FrontdoorInputError, bad);
  assert.throws(() => checkInterface('sdfd-no-such0'), /no such network interface/);
  assert.throws(() => checkInterface('bad name'), /not an interface name/);
  checkInterface('lo');
});

test('jodis entries: online/draining, bad ones ignored', () => {
  assert.deepEqual(parseJodisEntry('proxy-t1', Buffer.from('{"addr":"1.2.3.4:19000","admin":"1.2.3.4:11080","state":"online"}')), {
    token: 't1',
    addr: '1.2.3.4:19000',
    admin: '1.2.3.4:11080',
    state: 'online',
  });
  assert.equal(parseJodisEntry('proxy-t1', Buffer.from('{"addr":"1.2.3.4:19000","state":"draining","token":"x"}'))?.state, 'draining');
  assert.equal(parseJodisEntry('proxy-t1', Buffer.from('{"addr":"1.2.3.4:19000"}'))?.state, 'online', 'Codis jodis entries have no state');
  assert.equal(parseJodisEntry('proxy-t1', Buffer.from('not json')), null);
  assert.equal(parseJodisEntry('proxy-t1', Buffer.from('{"addr":"nope"}')), null);
});
