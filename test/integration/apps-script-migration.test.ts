// Scripts on a migrating slot (issue 12, src/proxy/script-slots.ts): a script may read keys of its slot
// it does not declare (BullMQ builds job keys inside its scripts), so the proxy cannot just move the
// declared keys first. EVAL/FCALL (alone or inside MULTI) on a migrating slot wait until the slot's
// migration finished and then run on the new owner, where every key of the slot now is; after
// migration_lock_wait they get TRYAGAIN. Two groups, one proxy, the table pushed by hand the way the
// dashboard does (migrating, keys moved, finished). Expected duration: ~2 s.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { startTestCluster, type TestCluster } from '../helpers/proxy-cluster.js';
import { RawClient } from '../helpers/raw-client.js';
import { slotOf } from '../../src/slots/hash.js';

let c: TestCluster;
const closers: Array<() => void> = [];
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const direct = (addr: string): Redis => {
  const i = addr.lastIndexOf(':');
  const r = new Redis({ host: addr.slice(0, i), port: Number(addr.slice(i + 1)) });
  closers.push(() => r.disconnect());
  return r;
};
// Reads an undeclared key built from the declared one, as BullMQ's scripts do.
const SCRIPT = "return redis.call('GET', KEYS[1] .. ':data')";

before(async () => {
  c = await startTestCluster({ groups: 2, config: { migrationLockWait: 1500 } });
});
after(async () => {
  for (const f of closers) f();
  await c?.stop();
});

/** Starts moving the slot of `tag` to the other server; returns the addresses and a finisher. */
async function startMove(key: string): Promise<{ from: string; to: string; finish: () => Promise<void> }> {
  const slot = slotOf(key);
  const from = c.slots[slot]!.backend_addr!;
  const to = c.servers.find((s) => s.addr !== from)!.addr;
  await c.proxy.fillSlotsAndDrain([{ id: slot, backend_addr: to, migrate_from: from }]);
  return {
    from,
    to,
    finish: async () => {
      await c.proxy.fillSlotsAndDrain([{ id: slot, backend_addr: to }]);
      c.slots[slot] = { id: slot, backend_addr: to };
    },
  };
}

/** Moves every key of `keys` from `from` to `to` as the dashboard's executor does (MIGRATE). */
async function moveKeys(from: string, to: string, keys: string[]): Promise<void> {
  const i = to.lastIndexOf(':');
  await direct(from).call('MIGRATE', to.slice(0, i), to.slice(i + 1), '', '0', '5000', 'REPLACE', 'KEYS', ...keys);
}

for (const inMulti of [false, true]) {
  test(`${inMulti ? 'MULTI/EVAL/EXEC' : 'EVAL'} on a migrating slot waits for the migration to finish and sees the undeclared key`, async () => {
    const k = inMulti ? '{sm2}job' : '{sm1}job';
    const p = new Redis({ port: c.port, host: '127.0.0.1' });
    closers.push(() => p.disconnect());
    await p.set(k, 'declared');
    await p.set(`${k}:data`, 'payload');
    const move = await startMove(k);
    const r = inMulti ? p.multi().eval(SCRIPT, 1, k).exec() : p.eval(SCRIPT, 1, k);
    let done = false;
    void r.then(
      () => (done = true),
      () => (done = true),
    );
    await sleep(300);
    assert.equal(done, false, 'the script waits while its slot migrates');
    await moveKeys(move.from, move.to, [k, `${k}:data`]);
    await move.finish();
    assert.deepEqual(await r, inMulti ? [[null, 'payload']] : 'payload');
    assert.equal(await direct(move.to).exists(`${k}:data`), 1);
  });
}

test('a script whose slot does not finish migrating within migration_lock_wait gets TRYAGAIN; other commands are not held', async () => {
  const k = '{sm3}job';
  const p = await RawClient.connect(c.port);
  closers.push(() => p.close());
  const q = new Redis({ port: c.port, host: '127.0.0.1' });
  closers.push(() => q.disconnect());
  const move = await startMove(k);
  p.send('EVAL', SCRIPT, '1', k);
  assert.equal(await q.set('{sm3}other', 'x'), 'OK', 'a plain command on the migrating slot is served (its key moves first)');
  assert.match(await p.read(5000), /^-TRYAGAIN slot \d+ is migrating/);
  await move.finish();
  assert.equal(await p.call('EVAL', SCRIPT, '1', k), '$-1\r\n');
});
