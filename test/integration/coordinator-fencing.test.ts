// Fenced writes (`Lease.fenced`): a lock holder's writes are applied only while it still owns the
// lock, checked by the coordinator itself, on the filesystem, a real etcd and a real ZooKeeper.
// After an operator removes the lock and another owner takes it, the old holder's writes are refused
// with 'LOST' and the new owner's data stays. Expected duration: ~10 s (etcd and ZooKeeper start).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isStoreError, type Lease } from '../../src/coordinator/index.js';
import { startEtcdBackend, startFsBackend, startZkBackend, type Backend } from '../helpers/coordinators.js';

const LOCK = '/codis3/fence/topom';
const b = (s: string): Buffer => Buffer.from(s);

for (const [name, start] of [
  ['filesystem', startFsBackend],
  ['etcd', startEtcdBackend],
  ['zookeeper', startZkBackend],
] as const) {
  describe(`fenced writes on ${name}`, () => {
    let be: Backend;
    before(async () => {
      be = await start();
    });
    after(async () => {
      await be?.teardown();
    });

    test('applied while the lock is held; refused with LOST once another owner took it, leaving its data', async () => {
      const s1 = await be.open();
      const s2 = await be.open();
      // A long ttl: on the filesystem the holder's own heartbeat would notice the loss only after
      // ttl/3, so the refusal below comes from the store's check under its mutation lock.
      const a = (await s1.acquireLock(LOCK, b('A'), { ttlMs: 30000 })) as Lease;
      assert.ok(a, 'first owner gets the lock');
      await a.fenced.update('/codis3/fence/slots/slot-0001', b('a1'));
      await a.fenced.updateMany([
        ['/codis3/fence/slots/slot-0002', b('a2')],
        ['/codis3/fence/slots/slot-0003', b('a3')],
      ]);
      await a.fenced.delete('/codis3/fence/slots/slot-0003');
      assert.equal((await s2.read('/codis3/fence/slots/slot-0001'))?.toString(), 'a1');
      assert.equal((await s2.read('/codis3/fence/slots/slot-0002'))?.toString(), 'a2');
      assert.equal(await s2.read('/codis3/fence/slots/slot-0003'), null);

      // An operator removes the lock (Codis's --remove-lock) and a second dashboard takes it.
      await s2.delete(LOCK);
      const bl = await s2.acquireLock(LOCK, b('B'), { ttlMs: 30000 });
      assert.ok(bl, 'second owner gets the lock after the removal');
      await bl.fenced.update('/codis3/fence/slots/slot-0001', b('b1'));

      for (const attempt of [
        () => a.fenced.update('/codis3/fence/slots/slot-0001', b('stale')),
        () => a.fenced.updateMany([['/codis3/fence/slots/slot-0002', b('stale')]]),
        () => a.fenced.delete('/codis3/fence/slots/slot-0002'),
      ]) {
        await assert.rejects(attempt(), (e: unknown) => isStoreError(e, 'LOST'));
      }
      assert.equal((await s2.read('/codis3/fence/slots/slot-0001'))?.toString(), 'b1');
      assert.equal((await s2.read('/codis3/fence/slots/slot-0002'))?.toString(), 'a2');
      await bl.release();
      await a.release().catch(() => undefined);
    });
  });
}
