// Codis 3.2's text forms and the dashboard's Codis views, without sockets: timesize/bytesize strings
// as Codis's Go types decode them, coordinator name/address, RemoteError-shaped stats errors, the
// sentinel INFO fields codis-fe counts, and who counts as a Codis client. Expected duration: < 1 s.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { FastifyRequest } from 'fastify';
import { codisBytes, codisDuration } from '../../src/util/codis-units.js';
import { codisCoordinator } from '../../src/dashboard/codis-config.js';
import { codisStatsView, isCodisClient, remoteError } from '../../src/dashboard/codis-api.js';
import { codisDashboardXAuth } from '../../src/models/auth.js';

test('durations and sizes use the largest whole unit, as Codis marshals them', () => {
  assert.equal(codisDuration(0), '0');
  assert.equal(codisDuration(30000), '30s');
  assert.equal(codisDuration(300000), '5m');
  assert.equal(codisDuration(7200000), '2h');
  assert.equal(codisDuration(1500), '1500ms');
  assert.equal(codisBytes(32 * 1024 * 1024), '32mb');
  assert.equal(codisBytes(512 * 1024), '512kb');
  assert.equal(codisBytes(100), '100b');
  assert.equal(codisBytes(0), '0b');
});

test('coordinator specs map to Codis coordinator_name / coordinator_addr', () => {
  assert.deepEqual(codisCoordinator('filesystem:/var/lib/codis'), { name: 'filesystem', addr: '/var/lib/codis' });
  assert.deepEqual(codisCoordinator('etcd:127.0.0.1:2379,127.0.0.1:2380'), { name: 'etcd', addr: '127.0.0.1:2379,127.0.0.1:2380' });
  assert.deepEqual(codisCoordinator('zookeeper:127.0.0.1:2181'), { name: 'zookeeper', addr: '127.0.0.1:2181' });
});

test('Codis token: sha256("Codis-XAuth-[product]"), first 32 hex chars', () => {
  // Computed independently: printf 'Codis-XAuth-[codis-demo]' | sha256sum | cut -c1-32
  assert.equal(codisDashboardXAuth('codis-demo'), '95b62887719520f17e312eaa76d28f2b');
});

test('stats for Codis clients: error texts become RemoteError objects, sentinels get INFO-style fields, the rest is unchanged', () => {
  const stats = {
    closed: false,
    slots: [{ id: 0, group_id: 1, action: {} }],
    group: {
      models: [],
      stats: { 'a:1': { stats: {}, error: 'refused', unixtime: 1 }, 'b:2': { stats: { role: 'master' }, unixtime: 2 } },
    },
    proxy: { models: [], stats: { t1: { error: 'gone', unixtime: 3, needs_resync: true }, t2: { stats: { online: true }, unixtime: 4 } } },
    sentinels: {
      model: { servers: ['s:1', 's:2'], out_of_sync: false },
      stats: {
        's:1': {
          masters: {
            'p-1': { addr: 'a:1', flags: 'master', num_slaves: 1 },
            'p-2': { addr: 'b:2', flags: 'master,o_down', num_slaves: 0 },
          },
        },
        's:2': { error: 'timeout' },
      },
      masters: { 1: 'a:1' },
    },
  };
  /* eslint-disable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment -- the Codis-shaped view read as untyped JSON, as Codis's tools decode it */
  const v = codisStatsView(stats) as any;
  assert.deepEqual(v.group.stats['a:1'].error, remoteError('refused'));
  assert.deepEqual(v.group.stats['b:2'], stats.group.stats['b:2']);
  assert.deepEqual(v.proxy.stats.t1.error, { Cause: 'gone', Stack: [] });
  assert.equal(v.proxy.stats.t1.needs_resync, true);
  assert.deepEqual(v.proxy.stats.t2, stats.proxy.stats.t2);
  const s1 = v.sentinels.stats['s:1'];
  assert.equal(s1.stats.sentinel_masters, '2');
  assert.equal(s1.stats.master0, 'name=p-1,status=ok,address=a:1,slaves=1,sentinels=2');
  assert.equal(s1.stats.master1, 'name=p-2,status=odown,address=b:2,slaves=0,sentinels=2');
  assert.deepEqual(v.sentinels.stats['s:2'].error, remoteError('timeout'));
  assert.deepEqual(v.slots, stats.slots);
  /* eslint-enable @typescript-eslint/no-explicit-any, @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-assignment */
  assert.equal(typeof stats.group.stats['a:1'].error, 'string', 'the original is not modified');
});

test("a Codis client: Codis token in the path, codis-fe's ?forward=, or Go's HTTP client", () => {
  const req = (o: { params?: Record<string, string>; query?: Record<string, string>; ua?: string }): FastifyRequest =>
    ({ params: o.params ?? {}, query: o.query ?? {}, headers: o.ua ? { 'user-agent': o.ua } : {} }) as unknown as FastifyRequest;
  assert.equal(isCodisClient(req({ params: { token: codisDashboardXAuth('p') } }), 'p'), true);
  assert.equal(isCodisClient(req({ query: { forward: 'p' } }), 'p'), true);
  assert.equal(isCodisClient(req({ ua: 'Go-http-client/1.1' }), 'p'), true);
  assert.equal(isCodisClient(req({ params: { token: 'shardis-token' }, ua: 'node' }), 'p'), false);
  assert.equal(isCodisClient(req({}), 'p'), false);
});
