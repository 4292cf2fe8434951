// Client users from the dashboard (issue 15): a dashboard with acl_file pushes its users to every proxy
// process of the product, where AUTH, key patterns and NOPERM work as with the proxy's own acl_users;
// when the dashboard comes back with another set, every proxy takes it within a stats period, a session
// logged in as a user that is gone is closed (as ACL DELUSER does), and a proxy rejects a set that
// redefines one of its own users (the dashboard logs the refusal). Real processes: a local cluster
// (one group, two proxy processes, a dashboard process). Expected duration: ~10-20 s.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startLocalCluster, type LocalCluster } from '../../src/cli/local-cluster.js';
import { startDashboardProcess, type DashboardProcess } from '../helpers/dashboard.js';
import { RawClient } from '../helpers/raw-client.js';
import { eventually } from '../helpers/poll.js';
import { startProxyProcess } from '../../src/util/shardis-process.js';
import type { Spawned } from '../../src/util/processes.js';

const dir = mkdtempSync(join(tmpdir(), 'shardis-acl-push-'));
let cluster: LocalCluster | null = null;
let dash2: DashboardProcess | null = null;
const extra: Spawned[] = [];
const clients: RawClient[] = [];
after(async () => {
  for (const c of clients) c.close();
  await Promise.all(extra.map((p) => p.stop(2000)));
  await dash2?.proc.stop();
  await cluster?.stop();
});

const portOf = (a: string): number => Number(a.slice(a.lastIndexOf(':') + 1));

async function connect(addr: string): Promise<RawClient> {
  const c = await RawClient.connect(portOf(addr));
  clients.push(c);
  return c;
}

/** AUTH user pass on a new connection to `addr`: the reply line. */
async function auth(addr: string, user: string, pass: string): Promise<string> {
  const c = await connect(addr);
  try {
    return await c.call('AUTH', user, pass);
  } finally {
    c.close();
  }
}

test('users from the dashboard reach every proxy, follow a change of the set, and end sessions of removed users', async () => {
  const first = join(dir, 'users-1.acl');
  writeFileSync(first, '# pushed by the dashboard\nuser app on >apppw ~app:* +@all\n');
  cluster = await startLocalCluster({
    groups: 1,
    replicas: 0,
    proxies: 2,
    dir,
    basePort: 0,
    host: '127.0.0.1',
    product: 'aclpush',
    sentinels: 0,
    dashboardArgs: ['--acl-file', first, '--stats-period', '300ms'],
  });
  const proxies = cluster.info.proxies.map((p) => p.addr);
  for (const p of proxies)
    await eventually(`proxy ${p} to know the dashboard's user app`, async () => (await auth(p, 'app', 'apppw')) === '+OK\r\n', 15000, 100);

  // The pushed user's rights, exactly as with the proxy's own acl_users.
  const app = await connect(proxies[0]!);
  assert.equal(await app.call('AUTH', 'app', 'apppw'), '+OK\r\n');
  assert.equal(await app.call('SET', 'app:1', 'x'), '+OK\r\n');
  assert.match(await app.call('SET', 'other', 'x'), /^-NOPERM this user has no permissions to access one of the keys/);
  assert.equal(await app.call('ACL', 'WHOAMI'), '$3\r\napp\r\n');
  assert.match(await auth(proxies[1]!, 'app', 'wrong'), /^-WRONGPASS/);

  // The dashboard comes back with another set: app is gone, ops is new.
  const second = join(dir, 'users-2.acl');
  writeFileSync(second, 'user ops on >opspw ~* +@read\n');
  const old = cluster.procs[0]!;
  await old.stop();
  dash2 = await startDashboardProcess(
    [
      '--coordinator',
      cluster.info.coordinator,
      '--product-name',
      'aclpush',
      '--admin-addr',
      cluster.info.dashboard.addr,
      '--acl-file',
      second,
      '--stats-period',
      '300ms',
    ],
    join(dir, 'dashboard-2.log'),
  );
  await dash2.waitReady(30000);
  for (const p of proxies)
    await eventually(`proxy ${p} to take the new set`, async () => (await auth(p, 'ops', 'opspw')) === '+OK\r\n', 15000, 100);
  for (const p of proxies) assert.match(await auth(p, 'app', 'apppw'), /^-WRONGPASS/, `app is gone on ${p}`);
  await eventually('the session logged in as the removed user to be closed', () => app.closed, 5000, 50);
  const ops = await connect(proxies[1]!);
  assert.equal(await ops.call('AUTH', 'ops', 'opspw'), '+OK\r\n');
  assert.equal(await ops.call('GET', 'app:1'), '$1\r\nx\r\n');
  assert.match(await ops.call('SET', 'k', 'v'), /^-NOPERM /);

  // A proxy that defines ops itself refuses the set (duplicate user) and keeps its own users; the
  // dashboard logs why.
  const own = await startProxyProcess(
    [
      '--dashboard',
      cluster.info.dashboard.addr,
      '--product-name',
      'aclpush',
      '--proxy-addr',
      '127.0.0.1:0',
      '--admin-addr',
      '127.0.0.1:0',
      '--acl-users',
      'user ops on >mine ~* +@all',
    ],
    join(dir, 'proxy-own.log'),
  );
  extra.push(own.proc);
  await eventually(
    'the proxy with its own ops to have refused the set',
    async () => {
      const { readFileSync } = await import('node:fs');
      return readFileSync(join(dir, 'dashboard-2.log'), 'utf8')
        .split('\n')
        .some((l) => l.includes('client users push refused by the proxy') && l.includes("Duplicate user 'ops'"));
    },
    15000,
    200,
  );
  const ownAddr = `127.0.0.1:${own.port}`;
  assert.equal(await auth(ownAddr, 'ops', 'mine'), '+OK\r\n', 'its own definition stays');
});
