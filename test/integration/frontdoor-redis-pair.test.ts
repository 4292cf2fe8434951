// Redis hot standby without split-brain (`shardis admin frontdoor keepalived --redis-pair`): two
// "hosts" (network namespaces on one bridge), each a redis-server (h1 master, h2 replica) and
// keepalived; three sentinels on the bridge namespace; a client in a third namespace writing through
// the VIP. kill -9 the master: Sentinel promotes h2 and the VIP follows it; the old master restarts
// still believing it is master: the VIP stays where it is until Sentinel has made it a replica. All
// along, sampled every ~200 ms: never two hosts holding the VIP, and the VIP never on a host whose
// redis-server answers as a replica. Namespaces and daemons are removed in after(), also on failure.
// Expected duration: ~25-45 s.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { NetnsLab, ip } from '../helpers/netns-lab.js';
import { SHARDIS_BIN } from '../../src/util/shardis-process.js';
import { waitFor, type Spawned } from '../../src/util/processes.js';

const VIP = '192.0.2.100';
const dir = mkdtempSync(join(tmpdir(), 'sdfd-pair-'));
const lab = new NetnsLab('192.0.2.1/24');
/** Network namespaces need root (CAP_NET_ADMIN); without it these tests are skipped, saying why. */
const needsRoot = { skip: process.getuid?.() !== 0 ? 'needs root to create network namespaces' : false };
after(async () => {
  await lab.teardown();
});

interface Host {
  name: string;
  ns: string;
  ip: string;
  peer: string;
  priority: number;
  redis: Spawned | null;
  notify: string;
}

test(
  'redis pair: the VIP follows the Sentinel-elected master, a returning old master never gets it, never two masters behind it',
  needsRoot,
  async () => {
    lab.setup();
    const hosts: Host[] = [
      { name: 'h1', ns: '', ip: '192.0.2.11', peer: '192.0.2.12', priority: 150, redis: null, notify: join(dir, 'notify-h1.log') },
      { name: 'h2', ns: '', ip: '192.0.2.12', peer: '192.0.2.11', priority: 100, redis: null, notify: join(dir, 'notify-h2.log') },
    ];
    const startRedis = (h: Host, replicaOf: string | null): void => {
      const d = join(dir, `redis-${h.name}`);
      mkdirSync(d, { recursive: true });
      h.redis = lab.spawn(
        h.ns,
        'redis-server',
        [
          '--bind',
          '0.0.0.0',
          '--port',
          '6379',
          '--save',
          '',
          '--appendonly',
          'no',
          '--dir',
          d,
          '--protected-mode',
          'no',
          ...(replicaOf ? ['--replicaof', replicaOf, '6379'] : []),
        ],
        join(dir, `redis-${h.name}.log`),
      );
    };
    const role = (h: Host): string => {
      try {
        return lab.exec(h.ns, 'redis-cli', ['-p', '6379', 'ROLE'], 3000).split('\n')[0]!.trim();
      } catch {
        return 'down';
      }
    };
    for (const h of hosts) {
      h.ns = lab.addHost(h.name, `${h.ip}/24`);
      startRedis(h, h.name === 'h1' ? null : '192.0.2.11');
    }
    await waitFor(
      'replication h1 -> h2',
      () => lab.exec(hosts[1]!.ns, 'redis-cli', ['-p', '6379', 'INFO', 'replication'], 3000).includes('master_link_status:up'),
      20000,
      100,
    );
    for (let i = 0; i < 3; i++) {
      const conf = join(dir, `sentinel-${i}.conf`);
      writeFileSync(
        conf,
        [
          `port ${26379 + i}`,
          'bind 192.0.2.1',
          `dir ${dir}`,
          'sentinel monitor sdfd-g1 192.0.2.11 6379 2',
          'sentinel down-after-milliseconds sdfd-g1 1000',
          'sentinel failover-timeout sdfd-g1 3000',
          '',
        ].join('\n'),
      );
      lab.spawn(lab.bridgeNs, 'redis-sentinel', [conf], join(dir, `sentinel-${i}.log`));
    }
    for (const h of hosts) {
      const conf = join(dir, `keepalived-${h.name}.conf`);
      lab.exec(
        h.ns,
        process.execPath,
        [
          SHARDIS_BIN,
          'admin',
          'frontdoor',
          'keepalived',
          '--redis-pair',
          '1',
          '--vip',
          `${VIP}/24`,
          '--interface',
          'eth0',
          '--peer',
          h.peer,
          '--src-ip',
          h.ip,
          '--priority',
          String(h.priority),
          '--virtual-router-id',
          '52',
          '--check-addr',
          '127.0.0.1:6379',
          '--notify-log',
          h.notify,
          '--out',
          conf,
        ],
        60000,
      );
      const text = readFileSync(conf, 'utf8');
      assert.ok(!/^[^#]*(SLAVEOF|REPLICAOF)/im.test(text), 'the generated config never promotes or demotes');
      lab.exec(h.ns, 'keepalived', ['--config-test', '-f', conf]);
      const pid = (s: string): string => join(dir, `ka-${h.name}-${s}.pid`);
      lab.spawn(
        h.ns,
        'keepalived',
        ['-n', '-l', '-D', '-P', '-f', conf, '-p', pid('main'), '-r', pid('vrrp'), '-c', pid('chk')],
        join(dir, `keepalived-${h.name}.log`),
      );
    }
    const [h1, h2] = hosts as [Host, Host];
    const holders = (): Host[] =>
      hosts.filter((h) => {
        try {
          return lab.hasAddress(h.ns, VIP);
        } catch {
          return false;
        }
      });
    await waitFor(
      'the VIP on h1, the master',
      () =>
        holders()
          .map((h) => h.name)
          .join() === 'h1',
      30000,
      100,
    );

    // Invariant sampler.
    const violations: string[] = [];
    const history: string[] = [];
    let sampling = true;
    const sampler = (async () => {
      for (let i = 0; sampling && i < 2000; i++) {
        const hs = holders();
        const roles = hosts.map((h) => `${h.name}:${role(h)}`);
        history.push(`${Date.now()} vip=${hs.map((h) => h.name).join('+') || '-'} ${roles.join(' ')}`);
        if (hs.length > 1) violations.push(`two VIP holders: ${history.at(-1)}`);
        for (const h of hs) if (role(h) === 'slave') violations.push(`VIP on a replica: ${history.at(-1)}`);
        await new Promise((r) => setTimeout(r, 150));
      }
    })();

    const lines: string[] = [];
    let writer: Spawned | null = null;
    try {
      // A client writing through the VIP.
      const client = lab.addHost('cl', '192.0.2.20/24');
      writer = lab.spawn(
        client,
        process.execPath,
        [fileURLToPath(new URL('../helpers/vip-writer.js', import.meta.url)), VIP, '6379', h2.ip, '6379'],
        undefined,
        true,
      );
      createInterface({ input: writer.child.stdout! }).on('line', (l) => lines.push(l));
      const acks = (): number[] => lines.filter((l) => l.startsWith('ack ')).map((l) => Number(l.slice(4)));
      await waitFor('writes through the VIP', () => acks().length >= 100, 20000, 50);

      // 1. kill -9 the master: Sentinel promotes h2, the VIP follows.
      const t0 = Date.now();
      await h1.redis!.kill9();
      await waitFor('Sentinel promotes h2', () => role(h2) === 'master', 30000, 100);
      await waitFor(
        'the VIP moves to h2',
        () =>
          holders()
            .map((h) => h.name)
            .join() === 'h2',
        30000,
        50,
      );
      const moved = Date.now() - t0;
      await waitFor('writes flow again through the VIP', () => acks().filter((t) => t > t0 + moved).length >= 50, 20000, 50);

      // 2. The old master comes back as a master (stale): it must not take the VIP back.
      startRedis(h1, null);
      await waitFor('Sentinel turns the old master into a replica', () => role(h1) === 'slave', 40000, 100);
      // h1's check fails again now (ROLE slave): it stays out of the election (FAULT).
      await waitFor(
        'h1 keepalived in FAULT',
        () => existsSync(h1.notify) && /is now FAULT/.test(readFileSync(h1.notify, 'utf8').trim().split('\n').at(-1) ?? ''),
        20000,
        100,
      );
      const seen = history.length;
      await waitFor('a few more invariant samples', () => history.length >= seen + 5, 20000, 50);
      assert.equal(
        holders()
          .map((h) => h.name)
          .join(),
        'h2',
        'the VIP stayed on the Sentinel-elected master',
      );
      process.stdout.write(`# VIP followed the new master ${moved} ms after kill -9\n`);
    } finally {
      sampling = false;
      await sampler;
    }
    assert.deepEqual(violations, [], history.slice(-20).join('\n'));
    assert.ok(history.length > 10, 'the invariant was sampled');
    writer!.child.stdin!.write('verify\n');
    await waitFor('writer verified', () => lines.some((l) => l.startsWith('verify')), 30000, 50);
    const v = /acked=(\d+) lost=(\d+)/.exec(lines.find((l) => l.startsWith('verify'))!)!;
    // Redis replication is asynchronous: a write acknowledged by the killed master just before kill -9
    // may not have reached h2. Reported, not asserted (it is Redis's guarantee, not keepalived's).
    process.stdout.write(`# acknowledged ${v[1]}, not on the new master ${v[2]}\n`);
    assert.ok(Number(v[1]) > 100);
  },
);

test('cleanup leaves no namespace of this run behind', needsRoot, async () => {
  await lab.teardown();
  assert.ok(!ip(['netns', 'list']).includes(lab.tag));
});
