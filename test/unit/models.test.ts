// The stored models read and written without a store: the sentinel list and the dashboard's lock
// record (Codis 3.2 JSON, omitempty rules), proxy records as Codis or Shardis wrote them, and the
// 4-space JSON the dashboard writes back. Expected duration: under 1 s.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { emptySentinel, encodeSentinel, parseSentinel } from '../../src/models/sentinel.js';
import { newTopomModel, parseTopom } from '../../src/models/topom.js';
import { encodeJson, parseProxyModel } from '../../src/dashboard/store-models.js';

test('sentinel model: parse keeps only strings, encode drops an empty server list like Codis', () => {
  assert.deepEqual(parseSentinel({ servers: ['a:1', 7, 'b:2'], out_of_sync: true }), { servers: ['a:1', 'b:2'], out_of_sync: true });
  assert.deepEqual(parseSentinel(null), emptySentinel());
  assert.deepEqual(parseSentinel({ out_of_sync: 'yes' }), { servers: [], out_of_sync: false });
  assert.deepEqual(encodeSentinel({ servers: [], out_of_sync: true }), { out_of_sync: true });
  assert.deepEqual(encodeSentinel({ servers: ['a:1'], out_of_sync: false }), { servers: ['a:1'], out_of_sync: false });
  const round = parseSentinel(JSON.parse(JSON.stringify(encodeSentinel({ servers: ['x:1', 'y:2'], out_of_sync: true }))));
  assert.deepEqual(round, { servers: ['x:1', 'y:2'], out_of_sync: true });
});

test('topom model: a fresh record names this process and survives a JSON round trip', () => {
  const t = newTopomModel('demo', '127.0.0.1:18080');
  assert.equal(t.product_name, 'demo');
  assert.equal(t.admin_addr, '127.0.0.1:18080');
  assert.equal(t.pid, process.pid);
  assert.match(t.token, /^[0-9a-f]{32}$/);
  assert.deepEqual(parseTopom(JSON.parse(JSON.stringify(t))), t);
  assert.notEqual(newTopomModel('demo', '127.0.0.1:18081').token, t.token, 'the token depends on the address');
});

test('proxy records: Codis fields read, missing ones empty, no token refused', () => {
  const codis = {
    id: 7,
    token: '5f0b4e5e1e4c3a2b',
    start_time: '2018-11-04 10:00:00',
    admin_addr: 'h:11080',
    proto_type: 'tcp4',
    proxy_addr: 'h:19000',
    jodis_path: '/jodis/demo/proxy-5f0b4e5e1e4c3a2b',
    product_name: 'demo',
    pid: 1234,
    pwd: '/opt',
    sys: 'Linux',
    hostname: 'h',
    datacenter: 'bj',
    extra_field: 'ignored',
  };
  const p = parseProxyModel(codis);
  assert.equal(p.id, 7);
  assert.equal(p.datacenter, 'bj');
  assert.equal((p as unknown as Record<string, unknown>).extra_field, undefined);
  const sparse = parseProxyModel({ token: 't1', id: 'not a number' });
  assert.equal(sparse.id, 0);
  assert.equal(sparse.admin_addr, '');
  assert.throws(() => parseProxyModel({ id: 1 }, 'proxy-x'), /proxy-x: token is missing/);
  assert.throws(() => parseProxyModel([]), /expected an object/);
  assert.throws(() => parseProxyModel('text'), /expected an object/);
});

test('encodeJson writes 4-space indented JSON like Go json.MarshalIndent', () => {
  assert.equal(encodeJson({ id: 5, group_id: 1, action: {} }).toString(), '{\n    "id": 5,\n    "group_id": 1,\n    "action": {}\n}');
});
