// One contract for every coordinator backend, run against a temp directory, a real etcd and a real
// ZooKeeper: CRUD and listing, watches, ephemeral nodes (owner closes / is killed), the lease lock
// (exclusivity, release, takeover after kill -9, loss reporting), and — for etcd/ZooKeeper — clear
// errors instead of hangs while the server is down, and recovery after it restarts.
// Expected duration: about 40 s (etcd and ZooKeeper restarts) on a quiet 2-core machine.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { isStoreError, type Lease, type Store, type StoreError } from '../../src/coordinator/index.js';
import {
  TEST_STORE_OPTIONS,
  spawnHolder,
  startEtcdBackend,
  startFsBackend,
  startZkBackend,
  type Backend,
} from '../helpers/coordinators.js';
import { eventually, withDeadline } from '../helpers/poll.js';
import { closedPort } from '../helpers/ports.js';

const LOCK_TTL_MS = 2000;
const b = (s: string): Buffer => Buffer.from(s);

async function rejectsWith(p: Promise<unknown>, codes: string[]): Promise<StoreError> {
  try {
    await p;
  } catch (e) {
    assert.ok(isStoreError(e), `expected a StoreError, got ${String(e)}`);
    assert.ok(codes.includes(e.code), `expected code ${codes.join('|')}, got ${e.code}: ${e.message}`);
    return e;
  }
  assert.fail(`expected a StoreError ${codes.join('|')}, but it resolved`);
}

function contract(name: string, start: () => Promise<Backend>): void {
  describe(`coordinator contract: ${name}`, { timeout: 90000 }, () => {
    let be: Backend;
    let a: Store;
    let other: Store;
    let n = 0;
    const base = (): string => `/t/${name}/case-${++n}`;

    before(async () => {
      be = await start();
      a = await be.open();
      other = await be.open();
    });
    after(async () => {
      await be?.teardown();
    });

    it('create fails with EXISTS when the node is present; read returns what was written', async () => {
      const p = `${base()}/node`;
      await a.create(p, b('one'));
      assert.equal(String(await other.read(p)), 'one');
      const e = await rejectsWith(a.create(p, b('two')), ['EXISTS']);
      assert.match(e.message, new RegExp(`${a.kind}.*${p}`));
      assert.equal(String(await a.read(p)), 'one');
    });

    it('update creates (with parents) or overwrites; read of a missing node is null', async () => {
      const dir = base();
      const p = `${dir}/deep/er/node`;
      assert.equal(await a.read(p), null);
      await a.update(p, b('v1'));
      assert.equal(String(await a.read(p)), 'v1');
      await other.update(p, b('v2'));
      assert.equal(String(await a.read(p)), 'v2');
      assert.equal(await a.read(`${dir}/deep`), null, 'a parent without a value reads as null');
      assert.equal(await a.read(`${dir}/missing`), null);
      await rejectsWith(a.read('relative/path'), ['BAD_PATH']);
      await rejectsWith(a.update(`${dir}/../x`, b('x')), ['BAD_PATH']);
    });

    it('updateMany writes many nodes (new and existing, several directories) and validates every path', async () => {
      const dir = base();
      await a.update(`${dir}/s/slot-0001`, b('old'));
      const entries = Array.from({ length: 150 }, (_, i) => [`${dir}/s/slot-${String(i).padStart(4, '0')}`, b(`v${i}`)] as const);
      await a.updateMany([...entries, [`${dir}/other/x`, b('x')]]);
      for (const [p, v] of entries) assert.equal(String(await other.read(p)), String(v));
      assert.equal(String(await other.read(`${dir}/other/x`)), 'x');
      assert.equal((await other.list(`${dir}/s`)).length, 150);
      await rejectsWith(
        a.updateMany([
          [`${dir}/ok`, b('1')],
          ['relative', b('2')],
        ]),
        ['BAD_PATH'],
      );
      assert.equal(await a.read(`${dir}/ok`), null, 'nothing is written when a path is invalid');
      await a.updateMany([]);
    });

    it('delete removes a node, ignores a missing one, refuses a node with children', async () => {
      const dir = base();
      await a.update(`${dir}/x/leaf`, b('1'));
      await a.update(`${dir}/y`, b('2'));
      await a.delete(`${dir}/y`);
      assert.equal(await a.read(`${dir}/y`), null);
      await a.delete(`${dir}/y`);
      await a.delete(`${dir}/never-existed`);
      await rejectsWith(a.delete(`${dir}/x`), ['NOT_EMPTY']);
      assert.equal(String(await a.read(`${dir}/x/leaf`)), '1');
    });

    it('list returns sorted full child paths, [] for a missing node', async () => {
      const dir = base();
      for (const c of ['slot-0002', 'slot-0010', 'slot-0001']) await a.update(`${dir}/slots/${c}`, b(c));
      await a.update(`${dir}/group/group-0001/sub`, b('deeper'));
      assert.deepEqual(await other.list(`${dir}/slots`), [`${dir}/slots/slot-0001`, `${dir}/slots/slot-0002`, `${dir}/slots/slot-0010`]);
      assert.deepEqual(await a.list(dir), [`${dir}/group`, `${dir}/slots`]);
      assert.deepEqual(await a.list(`${dir}/group`), [`${dir}/group/group-0001`]);
      assert.deepEqual(await a.list(`${dir}/nothing-here`), []);
      assert.ok((await a.list('/')).includes('/t'));
    });

    it('watch fires on value change, child added/removed and deletion; unwatch stops it', async () => {
      const p = `${base()}/watched`;
      let fired = 0;
      const seen = async (what: string, act: () => Promise<void>): Promise<void> => {
        const before = fired;
        await act();
        await eventually(`watch to fire on ${what}`, async () => fired > before, 5000, 20);
      };
      const unwatch = await other.watch(p, () => {
        fired++;
      });
      await seen('create', () => a.create(p, b('1')));
      await seen('value change', () => a.update(p, b('2')));
      if (a.kind !== 'filesystem') {
        // (a filesystem path cannot be both a file and a directory, so children are tested on a parent)
        await seen('child added', () => a.update(`${p}/child`, b('c')));
        await seen('child removed', () => a.delete(`${p}/child`));
      }
      await seen('delete', () => a.delete(p));
      unwatch();

      const dir = `${base()}/kids`;
      let kids = 0;
      const unwatchKids = await other.watch(dir, () => {
        kids++;
      });
      await a.update(`${dir}/one`, b('1'));
      await eventually('watch to fire on a new child', async () => kids > 0, 5000, 20);
      const k = kids;
      await a.update(`${dir}/two`, b('2'));
      await eventually('watch to fire on a second child', async () => kids > k, 5000, 20);
      unwatchKids();
    });

    it('an ephemeral node is visible while its owner lives and disappears when the owner closes', async () => {
      const p = `${base()}/proxy-token1`;
      const owner = await be.open();
      const h = await owner.createEphemeral(p, b('{"state":"online"}'));
      assert.equal(String(await other.read(p)), '{"state":"online"}');
      assert.deepEqual(await other.list(p.slice(0, p.lastIndexOf('/'))), [p]);
      await rejectsWith(other.createEphemeral(p, b('dup')), ['EXISTS']);
      await h.update(b('{"state":"closed"}'));
      assert.equal(String(await other.read(p)), '{"state":"closed"}');
      await owner.close();
      await eventually('ephemeral node to disappear after close', async () => (await other.read(p)) === null, 3000);
      assert.deepEqual(await other.list(p.slice(0, p.lastIndexOf('/'))), []);
    });

    it('an ephemeral node disappears within its ttl after its owner is kill -9ed', async () => {
      const p = `${base()}/proxy-killed`;
      const holder = await spawnHolder(be.spec, { op: 'ephemeral', path: p, data: 'alive' });
      assert.equal(String(await other.read(p)), 'alive');
      await holder.kill9();
      await eventually(
        'ephemeral node of a killed owner to disappear',
        async () => (await other.read(p)) === null,
        TEST_STORE_OPTIONS.ephemeralTtlMs + 4000,
      );
    });

    it('an ephemeral node deleted behind its owner is reported and re-created', async () => {
      const p = `${base()}/proxy-recreated`;
      const owner = await be.open();
      const h = await owner.createEphemeral(p, b('mine'));
      const lost: StoreError[] = [];
      h.onLost((e) => lost.push(e));
      await other.delete(p);
      await eventually('ephemeral node to be re-created', async () => String(await other.read(p)) === 'mine', 8000);
      assert.equal(lost[0]?.code, 'LOST', 'onLost was called');
      await h.remove();
      assert.equal(await other.read(p), null);
      await owner.close();
    });

    it('the lock is exclusive; its value is readable; a clean release lets another take it at once', async () => {
      const p = `${base()}/topom`;
      const l1 = await a.acquireLock(p, b('{"token":"a"}'), { ttlMs: LOCK_TTL_MS });
      assert.ok(l1, 'first acquire succeeds');
      assert.equal(l1.held, true);
      assert.equal(await other.acquireLock(p, b('{"token":"b"}'), { ttlMs: LOCK_TTL_MS }), null);
      assert.equal(await a.acquireLock(p, b('{"token":"a2"}'), { ttlMs: LOCK_TTL_MS }), null, 'not re-entrant');
      assert.equal(String(await other.read(p)), '{"token":"a"}');
      await l1.release();
      assert.equal(l1.held, false);
      const l2 = await other.acquireLock(p, b('{"token":"b"}'), { ttlMs: LOCK_TTL_MS });
      assert.ok(l2, 'acquire right after a clean release succeeds');
      assert.equal(String(await a.read(p)), '{"token":"b"}');
      await l2.release();
    });

    it('a persistent node at the lock path (a Codis-style lock) blocks acquisition', async () => {
      const p = `${base()}/topom`;
      await a.create(p, b('{"token":"codis"}'));
      assert.equal(await other.acquireLock(p, b('x'), { ttlMs: LOCK_TTL_MS }), null);
      await a.delete(p); // what --remove-lock does
      const l = await other.acquireLock(p, b('x'), { ttlMs: LOCK_TTL_MS });
      assert.ok(l);
      await l.release();
    });

    it('a standby takes the lock over within ttl + a few s after the owner is kill -9ed', async () => {
      const p = `${base()}/topom`;
      const holder = await spawnHolder(be.spec, { op: 'lock', path: p, ttlMs: LOCK_TTL_MS, data: 'dead-owner' });
      assert.equal(await other.acquireLock(p, b('standby'), { ttlMs: LOCK_TTL_MS }), null);
      await holder.kill9();
      const lease = await eventually(
        'standby to acquire the lock',
        () => other.acquireLock(p, b('standby'), { ttlMs: LOCK_TTL_MS }),
        LOCK_TTL_MS + 4000,
        100,
      );
      assert.equal(String(await a.read(p)), 'standby');
      await lease.release();
    });

    it('the owner is told (onLost) when its lock node is removed behind its back', async () => {
      const p = `${base()}/topom`;
      const l = await a.acquireLock(p, b('owner'), { ttlMs: LOCK_TTL_MS });
      assert.ok(l);
      const lost = new Promise<StoreError>((resolve) => l.onLost(resolve));
      await other.delete(p);
      const e = await withDeadline('onLost after remove-lock', lost, 5000);
      assert.equal(e.code, 'LOST');
      assert.equal(l.held, false);
      const l2 = await other.acquireLock(p, b('next'), { ttlMs: LOCK_TTL_MS });
      assert.ok(l2);
      await l2.release();
      await l.release(); // no-op, must not remove the new owner's node
    });

    if (name !== 'filesystem') {
      it('fails fast with a clear error while the server is down, reports lock loss, and recovers after a restart', async () => {
        const server = be.server;
        assert.ok(server);
        const dir = base();
        await a.update(`${dir}/kept`, b('persisted'));
        const lockPath = `${dir}/topom`;
        const lock = (await a.acquireLock(lockPath, b('before-outage'), { ttlMs: LOCK_TTL_MS })) as Lease;
        assert.ok(lock);
        const lost = new Promise<void>((resolve) => lock.onLost(() => resolve()));
        const registrar = await be.open(); // a proxy's jodis registration, kept through the outage
        const jodis = `${dir}/proxy-registered`;
        await registrar.createEphemeral(jodis, b('online'));

        await server.kill9();
        for (const [what, op] of [
          ['read', () => a.read(`${dir}/kept`)],
          ['update', () => a.update(`${dir}/x`, b('x'))],
          ['list', () => a.list(dir)],
          ['create', () => a.create(`${dir}/y`, b('y'))],
        ] as const) {
          // A deadline (fails instead of hanging), not a speed figure: the store's timeout is 2 s.
          const e = await withDeadline(
            `${what} while the server is down`,
            rejectsWith(op(), ['UNAVAILABLE', 'TIMEOUT']),
            TEST_STORE_OPTIONS.timeoutMs + 8000,
          );
          assert.match(e.message, new RegExp(name));
        }
        await withDeadline('onLost during the outage', lost, LOCK_TTL_MS + 3000);
        assert.equal(lock.held, false);

        await server.restart();
        await eventually('store to work again after restart', async () => String(await a.read(`${dir}/kept`)) === 'persisted', 20000, 100);
        await a.update(`${dir}/after`, b('ok'));
        assert.equal(String(await other.read(`${dir}/after`)), 'ok');
        // The lost lock frees up within its ttl; then another owner can take it.
        const l2 = await eventually(
          'lock to be acquirable after the outage',
          () => other.acquireLock(lockPath, b('after-outage'), { ttlMs: LOCK_TTL_MS }),
          LOCK_TTL_MS + 8000,
          100,
        );
        await l2.release();
        await lock.release();
        // The ephemeral node was kept, or — when its session expired during the outage — is re-created by
        // its owner once it reconnects (on a loaded machine that can come after the lock checks above).
        await eventually(
          'the ephemeral node to survive the coordinator outage (kept or re-created)',
          async () => String(await other.read(jodis)) === 'online',
          LOCK_TTL_MS + 15000,
          100,
        );
        await registrar.close();
        assert.equal(await other.read(jodis), null);
      });

      it('openStore fails with UNAVAILABLE (not a hang) when nothing listens', async () => {
        const dead = `127.0.0.1:${await closedPort()}`;
        const spec =
          be.kind === 'etcd'
            ? { kind: 'etcd' as const, endpoints: [dead], timeoutMs: 1000 }
            : { kind: 'zookeeper' as const, servers: dead, timeoutMs: 1000 };
        const { openStore } = await import('../../src/coordinator/index.js');
        // Deadline, not a speed figure: a hang would be caught here (timeoutMs is 1 s).
        await withDeadline('openStore on a closed port', rejectsWith(openStore(spec), ['UNAVAILABLE', 'TIMEOUT']), 10000);
      });
    }
  });
}

// COORDINATOR_BACKENDS=etcd,zookeeper runs a subset (all three by default).
const only = process.env.COORDINATOR_BACKENDS?.split(',').map((s) => s.trim());
const backends = { filesystem: startFsBackend, etcd: startEtcdBackend, zookeeper: startZkBackend };
for (const [name, start] of Object.entries(backends)) {
  if (!only || only.includes(name)) contract(name, start);
}
