// The cluster façade's node layout (src/proxy/apps/cluster-layout.ts): the same list gives the same
// contiguous ranges covering 0..16383 whatever its order, the proxy itself is flagged, wildcard hosts
// become reachable, and without a list the proxy alone owns every slot.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CLUSTER_SLOTS, facadeNodes, nodeId, reachableAddr } from '../../src/proxy/apps/cluster-layout.js';

test('façade nodes: slots split contiguously over the sorted peers, identical whatever the order', () => {
  const peers = ['127.0.0.1:7003', '127.0.0.1:7001', '127.0.0.1:7002'];
  const a = facadeNodes('127.0.0.1:7002', peers, 'p');
  const b = facadeNodes('127.0.0.1:7001', [...peers].reverse(), 'p');
  const strip = (ns: typeof a): unknown => ns.map(({ self: _s, ...n }) => n);
  assert.deepEqual(strip(a), strip(b), 'every proxy computes the same view');
  assert.deepEqual(
    a.map((n) => [n.addr, n.from, n.to]),
    [
      ['127.0.0.1:7001', 0, 5460],
      ['127.0.0.1:7002', 5461, 10921],
      ['127.0.0.1:7003', 10922, 16383],
    ],
  );
  assert.deepEqual(
    a.map((n) => n.self),
    [false, true, false],
  );
  assert.equal(a[1]?.id, nodeId('127.0.0.1:7002', 'p'));
  for (let n = 1; n <= 7; n++) {
    const ns = facadeNodes(
      'x:1',
      Array.from({ length: n }, (_, i) => `10.0.0.${i}:1`),
      'p',
    );
    assert.equal(ns[0]?.from, 0);
    assert.equal(ns.at(-1)?.to, CLUSTER_SLOTS - 1);
    for (let i = 1; i < ns.length; i++) assert.equal(ns[i]?.from, (ns[i - 1]?.to ?? 0) + 1, 'contiguous');
  }
});

test('façade nodes: no list (or an empty one) is this proxy alone; wildcard hosts are made reachable', () => {
  for (const peers of [null, []]) {
    const ns = facadeNodes('0.0.0.0:7000', peers, 'p');
    assert.deepEqual(
      ns.map((n) => [n.addr, n.from, n.to, n.self]),
      [['127.0.0.1:7000', 0, 16383, true]],
    );
  }
  assert.equal(reachableAddr(':7000'), '127.0.0.1:7000');
  assert.equal(reachableAddr('[::]:7000'), '127.0.0.1:7000');
  assert.equal(reachableAddr('10.1.2.3:7000'), '10.1.2.3:7000');
  const dup = facadeNodes('0.0.0.0:7000', ['127.0.0.1:7000', '0.0.0.0:7000', '127.0.0.1:7001'], 'p');
  assert.equal(dup.length, 2, 'one node per address');
});
