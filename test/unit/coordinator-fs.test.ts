// Unit tests for the filesystem coordinator (a temp directory, no servers): concurrent writers in
// several processes, lock takeover after the owner is kill -9ed or frozen, stale mutation-lock
// files, the Codis-compatible data layout, plus the spec parser and the Codis path helpers.
// Expected duration: about 5 s (spawns node holder processes) on a quiet 2-core machine.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import {
  formatStoreSpec,
  groupPath,
  idFromPath,
  isStoreError,
  jodisPath,
  listProducts,
  openStore,
  parseStoreSpec,
  proxyPath,
  proxyTokenFromPath,
  sentinelPath,
  slotPath,
  topomPath,
  type Store,
  type StoreSpec,
} from '../../src/coordinator/index.js';
import { spawnTracked } from '../../src/util/processes.js';
import { spawnHolder } from '../helpers/coordinators.js';
import { eventually } from '../helpers/poll.js';

const b = (s: string): Buffer => Buffer.from(s);

const WRITER_SCRIPT = `
const { openStore } = await import(process.env.SHARDIS_COORDINATOR_MODULE);
const { spec, n, tag } = JSON.parse(process.env.SHARDIS_WRITER);
const store = await openStore(spec);
let created = 0, exists = 0;
const pad = 'x'.repeat(20000);
for (let i = 0; i < n; i++) {
  try { await store.create('/race/k-' + i, Buffer.from(tag)); created++; }
  catch (e) { if (e.code === 'EXISTS') exists++; else throw e; }
  await store.update('/shared', Buffer.from(JSON.stringify({ tag, i, pad })));
  await store.update('/own/' + tag + '-' + i, Buffer.from(String(i)));
}
await store.close();
console.log(JSON.stringify({ created, exists }));
`;

async function runWriter(spec: StoreSpec, n: number, tag: string): Promise<{ created: number; exists: number }> {
  const proc = spawnTracked(process.execPath, ['--input-type=module', '-e', WRITER_SCRIPT], {
    stdio: ['ignore', 'pipe', 'inherit'],
    env: {
      ...process.env,
      SHARDIS_COORDINATOR_MODULE: new URL('../../src/coordinator/index.js', import.meta.url).href,
      SHARDIS_WRITER: JSON.stringify({ spec, n, tag }),
    },
  });
  let out = '';
  proc.child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
  });
  const code = await proc.exited;
  assert.equal(code, 0, `writer ${tag} failed: ${out}`);
  return JSON.parse(out.trim().split('\n').pop() ?? '{}') as { created: number; exists: number };
}

async function deadPid(): Promise<number> {
  const p = spawnTracked(process.execPath, ['-e', '']);
  await p.exited;
  return p.pid;
}

describe('filesystem coordinator', () => {
  let root: string;
  let spec: StoreSpec;
  const stores: Store[] = [];
  const open = async (): Promise<Store> => {
    const s = await openStore(spec);
    stores.push(s);
    return s;
  };

  before(() => {
    root = mkdtempSync(join(tmpdir(), 'shardis-fs-unit-'));
    spec = { kind: 'filesystem', root, timeoutMs: 2000, ephemeralTtlMs: 2000, pollIntervalMs: 100 };
  });
  after(async () => {
    await Promise.all(stores.map((s) => s.close()));
    rmSync(root, { recursive: true, force: true });
  });

  it('stores values as plain files under {root}/data (Codis layout) and reads Codis-written files', async () => {
    const s = await open();
    await s.update(slotPath('demo', 1), b('{"id":1,"group_id":2}'));
    assert.equal(readFileSync(join(root, 'data', 'codis3', 'demo', 'slots', 'slot-0001'), 'utf8'), '{"id":1,"group_id":2}');
    mkdirSync(join(root, 'data', 'codis3', 'legacy', 'group'), { recursive: true });
    writeFileSync(join(root, 'data', 'codis3', 'legacy', 'group', 'group-0003'), '{"id":3,"servers":[]}');
    assert.equal(String(await s.read(groupPath('legacy', 3))), '{"id":3,"servers":[]}');
    assert.deepEqual(await listProducts(s), ['demo', 'legacy']);
  });

  it('refuses to put a value where the filesystem cannot (CONFLICT), with the path in the message', async () => {
    const s = await open();
    await s.update('/conflict/file', b('1'));
    await assert.rejects(
      s.update('/conflict/file/below', b('2')),
      (e) => isStoreError(e, 'CONFLICT') && e.message.includes('/conflict/file/below'),
    );
    await s.update('/conflict/dir/child', b('1'));
    await assert.rejects(s.update('/conflict/dir', b('2')), (e) => isStoreError(e, 'CONFLICT'));
  });

  it('keeps every write when several processes and store instances write at once', async () => {
    const n = 40;
    const s1 = await open();
    const s2 = await open();
    const local = async (s: Store, tag: string): Promise<{ created: number; exists: number }> => {
      let created = 0;
      let exists = 0;
      for (let i = 0; i < n; i++) {
        try {
          await s.create(`/race/k-${i}`, b(tag));
          created++;
        } catch (e) {
          if (isStoreError(e, 'EXISTS')) exists++;
          else throw e;
        }
        await s.update(`/own/${tag}-${i}`, b(String(i)));
      }
      return { created, exists };
    };
    const t0 = Date.now();
    const results = await Promise.all([runWriter(spec, n, 'p1'), runWriter(spec, n, 'p2'), local(s1, 'l1'), local(s2, 'l2')]);
    console.log(`# 4 concurrent writers x ${n} creates + ${n}-${2 * n} updates: ${Date.now() - t0} ms`);
    const created = results.reduce((a, r) => a + r.created, 0);
    const exists = results.reduce((a, r) => a + r.exists, 0);
    assert.equal(created, n, 'each racing create succeeded exactly once');
    assert.equal(exists, 3 * n);
    assert.equal((await s1.list('/race')).length, n);
    assert.equal((await s1.list('/own')).length, 4 * n);
    const shared = JSON.parse(String(await s1.read('/shared'))) as { tag: string; pad: string };
    assert.ok(shared.tag === 'p1' || shared.tag === 'p2');
    assert.equal(shared.pad.length, 20000, 'no torn write');
    assert.deepEqual(readdirSync(join(root, 'tmp')), [], 'no temp files left');
    assert.equal(existsSync(join(root, 'shardis.lck')), false, 'mutation lock released');
  });

  it('lets a standby take the lock at once when the owner is kill -9ed (dead pid), long before the ttl', async () => {
    const standby = await open();
    const holder = await spawnHolder(spec, { op: 'lock', path: topomPath('demo'), ttlMs: 30000, data: 'owner' });
    assert.equal(await standby.acquireLock(topomPath('demo'), b('standby'), { ttlMs: 30000 }), null);
    await holder.kill9();
    // 3 s deadline against a 30 s ttl: the takeover came from the dead pid, not from the ttl running out.
    const lease = await eventually('lock takeover', () => standby.acquireLock(topomPath('demo'), b('standby'), { ttlMs: 30000 }), 3000, 20);
    assert.equal(String(await standby.read(topomPath('demo'))), 'standby');
    await lease.release();
    assert.equal(await standby.read(topomPath('demo')), null, 'release removes the lock node');
  });

  it('lets a standby take the lock after the ttl when the owner is frozen, and the owner then learns it lost it', async () => {
    const standby = await open();
    const p = topomPath('frozen');
    const holder = await spawnHolder(spec, { op: 'lock', path: p, ttlMs: 1500, data: 'owner' });
    holder.pause();
    try {
      const frozenAt = Date.now();
      const lease = await eventually(
        'lock takeover from a frozen owner',
        () => standby.acquireLock(p, b('standby'), { ttlMs: 1500 }),
        6000,
        50,
      );
      // A lower bound (safety), not a speed figure: the lock must not be taken while the heartbeat is fresh.
      assert.ok(Date.now() - frozenAt >= 1000, 'not before the heartbeat went stale');
      holder.resume();
      const line = await holder.waitLine(/^LOST /, 5000);
      assert.match(line, /frozen\/topom/);
      assert.equal(String(await standby.read(p)), 'standby', 'the woken owner did not clobber the new owner');
      await lease.release();
    } finally {
      holder.resume();
      await holder.kill9();
    }
  });

  it('an ephemeral node of a kill -9ed process reads as absent at once and can be re-created', async () => {
    const s = await open();
    const p = jodisPath('demo', 'tok1');
    const holder = await spawnHolder(spec, { op: 'ephemeral', path: p, data: 'proxy' });
    assert.deepEqual(await s.list('/jodis/demo'), [p]);
    await holder.kill9();
    assert.equal(await s.read(p), null);
    assert.deepEqual(await s.list('/jodis/demo'), []);
    const h = await s.createEphemeral(p, b('again'));
    assert.equal(String(await s.read(p)), 'again');
    await h.remove();
  });

  it('breaks a mutation lock file left by a dead process, or one that is too old', async () => {
    const s = await open();
    const lockFile = join(root, 'shardis.lck');
    writeFileSync(lockFile, JSON.stringify({ pid: await deadPid(), host: hostname(), nonce: 'x' }));
    // Not broken, the lock would hold this update past the store's timeout (5 s, before the 10 s
    // staleness by age): the update would fail. So succeeding proves the dead owner was detected.
    await s.update('/after-dead-lock', b('1'));
    writeFileSync(lockFile, JSON.stringify({ pid: process.pid, host: 'another-host', nonce: 'y' }));
    const old = new Date(Date.now() - 60000);
    utimesSync(lockFile, old, old);
    await s.update('/after-old-lock', b('2'));
    assert.equal(existsSync(lockFile), false);
  });

  it('watch polls and reports value and child changes', async () => {
    const s = await open();
    let fired = 0;
    const unwatch = await s.watch('/watched', () => {
      fired++;
    });
    await s.update('/watched/a', b('1'));
    await eventually('watch on child add', () => fired >= 1, 3000, 20);
    unwatch();
  });

  it('operations on a closed store fail with CLOSED', async () => {
    const s = await openStore(spec);
    await s.close();
    await assert.rejects(s.read('/x'), (e) => isStoreError(e, 'CLOSED'));
  });
});

describe('coordinator specs and paths', () => {
  it('parses CLI-style specs and formats them back', () => {
    assert.deepEqual(parseStoreSpec('filesystem:/var/lib/shardis'), { kind: 'filesystem', root: '/var/lib/shardis' });
    assert.deepEqual(parseStoreSpec('fs:/tmp/x'), { kind: 'filesystem', root: '/tmp/x' });
    assert.deepEqual(parseStoreSpec('etcd:127.0.0.1:2379,127.0.0.1:2380'), {
      kind: 'etcd',
      endpoints: ['127.0.0.1:2379', '127.0.0.1:2380'],
    });
    assert.deepEqual(parseStoreSpec('etcd:http://10.0.0.1:2379/'), { kind: 'etcd', endpoints: ['http://10.0.0.1:2379'] });
    assert.deepEqual(parseStoreSpec('zookeeper:127.0.0.1:2181'), { kind: 'zookeeper', servers: '127.0.0.1:2181' });
    assert.deepEqual(parseStoreSpec('zk:a:2181,b:2181/chroot', { timeoutMs: 1000 }), {
      kind: 'zookeeper',
      servers: 'a:2181,b:2181/chroot',
      timeoutMs: 1000,
    });
    assert.equal(formatStoreSpec(parseStoreSpec('etcd:127.0.0.1:2379,127.0.0.1:2380')), 'etcd:127.0.0.1:2379,127.0.0.1:2380');
    for (const bad of ['redis:x', 'etcd:', 'etcd:localhost', 'zookeeper:nohost', '/just/a/path']) {
      assert.throws(
        () => parseStoreSpec(bad),
        (e) => isStoreError(e),
        bad,
      );
    }
  });

  it('builds and parses the Codis 3.2 paths', () => {
    assert.equal(topomPath('demo'), '/codis3/demo/topom');
    assert.equal(slotPath('demo', 7), '/codis3/demo/slots/slot-0007');
    assert.equal(slotPath('demo', 1023), '/codis3/demo/slots/slot-1023');
    assert.equal(groupPath('demo', 12), '/codis3/demo/group/group-0012');
    assert.equal(proxyPath('demo', 'ab12'), '/codis3/demo/proxy/proxy-ab12');
    assert.equal(sentinelPath('demo'), '/codis3/demo/sentinel');
    assert.equal(jodisPath('demo', 'ab12'), '/jodis/demo/proxy-ab12');
    assert.equal(idFromPath('/codis3/demo/slots/slot-0042'), 42);
    assert.equal(idFromPath('/codis3/demo/group/group-0007'), 7);
    assert.equal(idFromPath('/codis3/demo/topom'), null);
    assert.equal(proxyTokenFromPath('/jodis/demo/proxy-ab12'), 'ab12');
    assert.throws(
      () => topomPath('../etc'),
      (e) => isStoreError(e, 'BAD_PATH'),
    );
    assert.throws(
      () => slotPath('demo', -1),
      (e) => isStoreError(e, 'BAD_PATH'),
    );
  });
});
