// `shardis up --front haproxy`: a real HAProxy in front of the local proxies, one printed address that
// serves reads and writes, stopped with everything else on SIGTERM. Expected duration: ~8-15 s.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { startShardisProcess } from '../../src/util/shardis-process.js';
import { waitFor } from '../../src/util/processes.js';

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

test('shardis up --front haproxy prints one address that serves through HAProxy, and stops it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sdfd-up-'));
  const up = startShardisProcess(
    'up',
    ['--dir', dir, '--base-port', '0', '--groups', '1', '--replicas', '0', '--proxies', '2', '--sentinels', '0', '--front', 'haproxy'],
    join(dir, 'up.log'),
  );
  let haproxyPid = 0;
  try {
    await up.waitLine(/^Press Ctrl-C/, 90000);
    const line = up.lines.find((l) => l.startsWith('Front door (HAProxy'));
    assert.ok(line, 'the front door address is printed');
    const m = /pid (\d+)\): redis-cli -h (\S+) -p (\d+)/.exec(line)!;
    haproxyPid = Number(m[1]);
    const c = new Redis({ host: m[2], port: Number(m[3]) });
    const keys = Array.from({ length: 20 }, (_, i) => `front:${i}`);
    await c.mset(...keys.flatMap((k) => [k, k]));
    assert.deepEqual(await c.mget(...keys), keys);
    c.disconnect();
  } finally {
    up.proc.child.kill('SIGTERM');
    await Promise.race([up.proc.exited, new Promise((r) => setTimeout(r, 30000).unref())]);
    await up.proc.kill9();
  }
  assert.ok(haproxyPid > 0);
  await waitFor('HAProxy stopped', () => !alive(haproxyPid), 10000, 100);
});
