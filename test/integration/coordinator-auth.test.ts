// Coordinator credentials (Codis's --etcd-auth / --zookeeper-auth), against a real etcd with auth
// enabled and a real ZooKeeper: the store works with the user and password and is refused without
// them (etcd) or cannot read the nodes it created (ZooKeeper digest ACLs); a dashboard process with
// coordinator_auth takes its product lock and writes its metadata there, and `shardis admin` finds it
// with SHARDIS_COORDINATOR_AUTH. Expected duration: about 25 s (a JVM start).
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import { openStore, topomPath, type Store } from '../../src/coordinator/index.js';
import { startEtcd, type EtcdServer } from '../../src/util/etcd-server.js';
import { startZooKeeper, type ZooKeeperServer } from '../../src/util/zookeeper-server.js';
import { SHARDIS_BIN, startDashboardProcess } from '../../src/util/shardis-process.js';
import type { Spawned } from '../../src/util/processes.js';

const dir = mkdtempSync(join(tmpdir(), 'shardis-coord-auth-'));
const AUTH = { username: 'shardis', password: 'coord-pw-1' };
const FAST = { timeoutMs: 3000 };

function admin(env: Record<string, string>, ...args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [SHARDIS_BIN, 'admin', ...args],
      { timeout: 30000, env: { ...process.env, ...env } },
      (err, stdout, stderr) => {
        resolve({ code: err ? Number((err as { code?: number }).code ?? 1) : 0, out: String(stdout) + String(stderr) });
      },
    );
  });
}

async function withStore<T>(spec: string, o: Parameters<typeof openStore>[1], fn: (s: Store) => Promise<T>): Promise<T> {
  const s = await openStore(spec, o);
  try {
    return await fn(s);
  } finally {
    await s.close();
  }
}

/** A dashboard process on `spec` with coordinator_auth; resolves once it is active. */
async function dashboard(spec: string, product: string): Promise<Spawned> {
  const d = await startDashboardProcess(
    [
      '--coordinator',
      spec,
      '--coordinator-auth',
      `${AUTH.username}:${AUTH.password}`,
      '--product-name',
      product,
      '--admin-addr',
      '127.0.0.1:0',
    ],
    join(dir, `dashboard-${product}.log`),
  );
  return d.proc;
}

describe('etcd with auth enabled', () => {
  let etcd: EtcdServer | null = null;
  let spec = '';
  const procs: Spawned[] = [];
  before(async () => {
    etcd = await startEtcd({ dir: join(dir, 'etcd') });
    spec = `etcd:${etcd.endpoints.join(',')}`;
    // root (required to enable auth) and our user with a role on every key.
    const c = new Etcd3({ hosts: etcd.endpoints.map((e) => `http://${e}`) });
    try {
      await c.role('root').create();
      await c.user('root').create('root-pw');
      await c.user('root').addRole('root');
      const rw = await c.role('shardis-rw').create();
      await rw.grant({ permission: 'Readwrite', range: c.range({ prefix: '/' }) });
      await c.user(AUTH.username).create(AUTH.password);
      await c.user(AUTH.username).addRole('shardis-rw');
      await c.auth.authEnable();
    } finally {
      c.close();
    }
  });
  after(async () => {
    for (const p of procs) await p.stop();
    await etcd?.stop();
  });

  test('the store works with the credentials and is refused without them or with a wrong password', async () => {
    await withStore(spec, { ...FAST, auth: AUTH }, async (s) => {
      await s.update('/auth-test/a', Buffer.from('1'));
      assert.equal((await s.read('/auth-test/a'))?.toString(), '1');
    });
    await assert.rejects(withStore(spec, FAST, (s) => s.read('/auth-test/a')));
    await assert.rejects(withStore(spec, { ...FAST, auth: { ...AUTH, password: 'wrong' } }, (s) => s.read('/auth-test/a')));
  });

  test('a dashboard with coordinator_auth takes the product lock; shardis admin finds it with SHARDIS_COORDINATOR_AUTH', async () => {
    procs.push(await dashboard(spec, 'etcd-auth'));
    const topom = await withStore(spec, { ...FAST, auth: AUTH }, (s) => s.read(topomPath('etcd-auth')));
    assert.ok(topom, 'the dashboard wrote its lock record');
    const ok = await admin({ SHARDIS_COORDINATOR_AUTH: `${AUTH.username}:${AUTH.password}` }, '--coordinator', spec, 'list-products');
    assert.equal(ok.code, 0, ok.out);
    assert.match(ok.out, /etcd-auth/);
    const refused = await admin({ SHARDIS_COORDINATOR_AUTH: '' }, '--coordinator', spec, '--timeout', '3s', 'list-products');
    assert.notEqual(refused.code, 0, 'without credentials the CLI cannot list the products');
  });
});

describe('ZooKeeper with digest ACLs', () => {
  let zk: ZooKeeperServer | null = null;
  let spec = '';
  const procs: Spawned[] = [];
  before(async () => {
    zk = await startZooKeeper({ dir: join(dir, 'zk') });
    spec = `zookeeper:${zk.connect}`;
  });
  after(async () => {
    for (const p of procs) await p.stop();
    await zk?.stop();
  });

  test('nodes created with the credentials are readable with them only', async () => {
    await withStore(spec, { ...FAST, auth: AUTH }, async (s) => {
      await s.create('/acl-test/a', Buffer.from('secret-data'));
      assert.equal((await s.read('/acl-test/a'))?.toString(), 'secret-data');
    });
    await assert.rejects(
      withStore(spec, FAST, (s) => s.read('/acl-test/a')),
      /NoAuth|auth/i,
    );
    await assert.rejects(
      withStore(spec, { ...FAST, auth: { ...AUTH, password: 'wrong' } }, (s) => s.read('/acl-test/a')),
      /NoAuth|auth/i,
    );
    // Without credentials nothing can be written below either.
    await assert.rejects(withStore(spec, FAST, (s) => s.create('/acl-test/b', Buffer.from('x'))));
  });

  test('a dashboard with coordinator_auth keeps its metadata behind the digest ACL', async () => {
    procs.push(await dashboard(spec, 'zk-auth'));
    const topom = await withStore(spec, { ...FAST, auth: AUTH }, (s) => s.read(topomPath('zk-auth')));
    assert.ok(topom, 'the dashboard wrote its lock record');
    await assert.rejects(
      withStore(spec, FAST, (s) => s.read(topomPath('zk-auth'))),
      /NoAuth|auth/i,
    );
    const ok = await admin({ SHARDIS_COORDINATOR_AUTH: `${AUTH.username}:${AUTH.password}` }, '--coordinator', spec, 'list-products');
    assert.equal(ok.code, 0, ok.out);
    assert.match(ok.out, /zk-auth/);
  });
});
