// The multi-host harness itself (test/helpers/netns/hosts.ts): hosts reachable over the bridge and the
// control link, isolate / split / heal cut and restore traffic, killHost leaves no process behind,
// destroy removes every namespace and the control link, and sweepLeftovers removes namespaces whose
// creating process is gone. Needs root. Expected duration: ~10 s.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { HostNetwork, sweepLeftovers } from '../helpers/netns/hosts.js';
import { startRedisServer, rawCommand } from '../../src/util/redis-server.js';

const skip = process.getuid?.() !== 0 ? 'needs root to create network namespaces' : false;
const namespaces = (): string[] =>
  execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    .split('\n')
    .map((l) => l.split(' ')[0] ?? '');
/** PING sent from inside namespace `fromNs` (its own network stack), answered within 2 s. */
const ping = (host: string, port: number, fromNs: string): boolean => {
  const script = `exec 3<>/dev/tcp/${host}/${port} && printf 'PING\\r\\n' >&3 && head -c 5 <&3`;
  const r = spawnSync('ip', ['netns', 'exec', fromNs, 'timeout', '2', 'bash', '-c', script], { encoding: 'utf8', timeout: 10000 });
  return /PONG/.test(r.stdout ?? '');
};

test(
  'hosts talk over the bridge; isolate, split and heal cut and restore it; killHost and destroy leave nothing',
  { skip, timeout: 60000 },
  async () => {
    const net = await HostNetwork.create(['a', 'b', 'c']);
    let destroyed = false;
    try {
      const a = net.host('a'),
        b = net.host('b'),
        c = net.host('c');
      const r = await startRedisServer({ host: a.addr, port: 6379, netns: a.ns, dir: `/tmp/sdmh-harness-${process.pid}` });
      assert.match(await rawCommand(a.addr, 6379, 'PING'), /PONG/, 'the test process reaches a host over the control link');
      assert.equal(ping(a.addr, 6379, b.ns), true, 'b reaches a');
      await net.isolate('a');
      assert.equal(ping(a.addr, 6379, b.ns), false, 'b cannot reach an isolated a');
      await net.heal();
      assert.equal(ping(a.addr, 6379, b.ns), true, 'b reaches a after heal');
      await net.split(['a', 'c']);
      assert.equal(ping(a.addr, 6379, b.ns), false, 'b cannot reach a across the split');
      assert.equal(ping(a.addr, 6379, c.ns), true, 'c reaches a on its side');
      await net.heal();
      assert.equal(ping(a.addr, 6379, b.ns), true, 'b reaches a after heal');
      const killed = await net.killHost('a');
      assert.ok(killed.includes(r.proc.pid), 'the redis-server was killed with its host');
      assert.equal(r.running(), false);
      await net.destroy();
      destroyed = true;
      assert.deepEqual(
        namespaces().filter((n) => n.includes(`sdmh-${process.pid}-`)),
        [],
        'no namespace left',
      );
      assert.equal(
        spawnSync('ip', ['route', 'show', 'match', a.addr], { encoding: 'utf8' }).stdout.includes('sdmh-'),
        false,
        'no control route left',
      );
    } finally {
      if (!destroyed) await net.destroy();
      rmSync(`/tmp/sdmh-harness-${process.pid}`, { recursive: true, force: true });
    }
  },
);

test('sweepLeftovers removes namespaces whose creating process is gone, and only those', { skip, timeout: 30000 }, async () => {
  const dead = spawnSync('true').pid;
  assert.ok(dead);
  const orphan = `sdmh-${dead}-0000-x`;
  const mine = `sdmh-${process.pid}-0000-y`;
  execFileSync('ip', ['netns', 'add', orphan]);
  execFileSync('ip', ['netns', 'add', mine]);
  try {
    const removed = await sweepLeftovers();
    assert.ok(removed.includes(orphan));
    assert.ok(!namespaces().includes(orphan));
    assert.ok(namespaces().includes(mine), 'a namespace of a live creator stays');
  } finally {
    for (const n of [orphan, mine]) spawnSync('ip', ['netns', 'del', n]);
  }
});
