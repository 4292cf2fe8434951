// The filesystem coordinator and Codis exclude each other when writing one directory: Shardis holds
// Codis's flock on <root>/data.lck (src/coordinator/fs-flock.ts) around every write, so a real Codis
// writer (the unchanged codis-admin --config-restore) is refused while Shardis writes, and a Shardis
// write waits while another process (util-linux flock(1), as Codis's fs client would) holds it.
// If the helper process dies, its flock goes with it and the next write starts a new one.
// Expected duration: ~3-6 s.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openStore, type Store } from '../../src/coordinator/index.js';
import { DataFileLock } from '../../src/coordinator/fs-flock.js';
import { waitFor } from '../../src/util/processes.js';

const TOOLS = process.env.SHARDIS_CODIS_TOOLS ?? resolve(fileURLToPath(new URL('../../../../shared/tools/codis-3.2/', import.meta.url)));
const CODIS_ADMIN = join(TOOLS, 'codis-admin');

const cleanups: Array<() => Promise<void> | void> = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

function run(cmd: string, args: string[], timeoutMs = 30000): Promise<{ code: number; out: string }> {
  return new Promise((res) => {
    execFile(cmd, args, { timeout: timeoutMs }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1) : 0;
      res({ code, out: `${stdout}${stderr}` });
    });
  });
}

/** True when someone holds an flock on `file` (flock(1) -n fails with exit 1). */
const flockHeld = async (file: string): Promise<boolean> => (await run('flock', ['-n', file, 'true'])).code === 1;

test(
  'a Shardis write holds data.lck: flock(1) and a real Codis writer (codis-admin --config-restore) are refused meanwhile',
  { skip: existsSync(CODIS_ADMIN) ? false : `codis-admin not found in ${TOOLS}` },
  async () => {
    const root = mkdtempSync(join(tmpdir(), 'shardis-codis-lock-'));
    const lock = new DataFileLock(join(root, 'data.lck'));
    cleanups.push(() => lock.close());
    const cfg = join(root, 'restore.json');
    writeFileSync(
      cfg,
      JSON.stringify({
        slots: [{ id: 7, group_id: 1, action: {} }],
        group: [
          {
            id: 1,
            servers: [{ server: '127.0.0.1:6379', datacenter: '', action: {}, replica_group: false }],
            promoting: {},
            out_of_sync: false,
          },
        ],
      }),
    );
    const restore = (): Promise<{ code: number; out: string }> =>
      run(CODIS_ADMIN, ['--config-restore=' + cfg, '--product=lock-test', `--filesystem=${root}`, '--confirm']);

    await lock.acquire(Date.now() + 5000);
    assert.equal(await flockHeld(join(root, 'data.lck')), true, 'flock(1) sees the lock held');
    const refused = await restore();
    assert.notEqual(refused.code, 0, 'codis-admin must not write while Shardis holds the lock');
    assert.match(refused.out, /resource temporarily unavailable/i);

    await lock.release();
    assert.equal(await flockHeld(join(root, 'data.lck')), false);
    const ok = await restore();
    assert.equal(ok.code, 0, ok.out);
    const store = await openStore(`filesystem:${root}`);
    cleanups.push(() => store.close());
    const g = await store.read('/codis3/lock-test/group/group-0001');
    assert.equal(JSON.parse(String(g)).id, 1, 'Shardis reads what Codis wrote');
  },
);

test('a Shardis write waits while another process holds data.lck, and completes once it is released', async () => {
  const root = mkdtempSync(join(tmpdir(), 'shardis-codis-lock-'));
  const store: Store = await openStore(`filesystem:${root}`, { timeoutMs: 30000 });
  cleanups.push(() => store.close());
  await store.create('/codis3/p/first', Buffer.from('1')); // creates data.lck
  // flock(1) holds the lock while `cat` runs; closing its stdin ends it (and releases the lock).
  const holder = spawn('flock', ['-x', join(root, 'data.lck'), 'cat'], { stdio: ['pipe', 'ignore', 'inherit'] });
  const holderExited = new Promise<void>((r) => holder.once('exit', () => r()));
  cleanups.push(async () => {
    if (holder.exitCode === null) {
      holder.kill('SIGKILL');
      await holderExited;
    }
  });
  await waitFor('flock(1) to hold data.lck', () => flockHeld(join(root, 'data.lck')), 10000, 25);

  let written = false;
  const write = store.create('/codis3/p/second', Buffer.from('2')).then(() => {
    written = true;
  });
  // The writer took its own lock file and is now waiting for the flock: nothing is written while held.
  await waitFor('the writer to take shardis.lck', () => existsSync(join(root, 'shardis.lck')), 10000, 10);
  for (let i = 0; i < 20; i++) {
    assert.equal(written, false, 'the write must wait for the flock');
    assert.equal(await store.read('/codis3/p/second'), null);
    await new Promise((r) => setTimeout(r, 10));
  }
  holder.stdin.end();
  await holderExited;
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      write,
      new Promise((_, rej) => {
        timer = setTimeout(() => rej(new Error('the write did not complete after the flock was released')), 10000);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
  assert.equal(String(await store.read('/codis3/p/second')), '2');
});

test('a Shardis write that cannot get data.lck within the store timeout fails with a message naming it', async () => {
  const root = mkdtempSync(join(tmpdir(), 'shardis-codis-lock-'));
  const store: Store = await openStore(`filesystem:${root}`, { timeoutMs: 300 });
  cleanups.push(() => store.close());
  await store.create('/codis3/p/first', Buffer.from('1'));
  const holder = spawn('flock', ['-x', join(root, 'data.lck'), 'cat'], { stdio: ['pipe', 'ignore', 'inherit'] });
  const holderExited = new Promise<void>((r) => holder.once('exit', () => r()));
  cleanups.push(async () => {
    if (holder.exitCode === null) {
      holder.stdin.end();
      await holderExited;
    }
  });
  await waitFor('flock(1) to hold data.lck', () => flockHeld(join(root, 'data.lck')), 10000, 25);
  await assert.rejects(store.create('/codis3/p/second', Buffer.from('2')), (e: Error & { code?: string }) => {
    assert.equal(e.code, 'TIMEOUT');
    assert.match(e.message, /data\.lck stayed flocked by another process/);
    return true;
  });
  assert.equal(existsSync(join(root, 'shardis.lck')), false, 'the failed write released its own lock file');
  holder.stdin.end();
  await holderExited;
  await store.create('/codis3/p/second', Buffer.from('2'));
  assert.equal(String(await store.read('/codis3/p/second')), '2');
});

test('a helper that died (its flock gone with it) is replaced on the next acquire', async () => {
  const root = mkdtempSync(join(tmpdir(), 'shardis-codis-lock-'));
  const file = join(root, 'data.lck');
  const lock = new DataFileLock(file);
  cleanups.push(() => lock.close());
  await lock.acquire(Date.now() + 5000);
  const first = lock.helperPid;
  assert.ok(first);
  process.kill(first, 'SIGKILL');
  await waitFor('the killed helper to drop the flock', async () => !(await flockHeld(file)), 10000, 25);
  await lock.release(); // nothing to release: must not throw or hang
  await lock.acquire(Date.now() + 5000);
  assert.notEqual(lock.helperPid, first, 'a new helper');
  assert.equal(await flockHeld(file), true, 'and it holds the flock');
  await lock.release();
  assert.equal(await flockHeld(file), false);
});
