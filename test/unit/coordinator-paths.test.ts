// The coordinator's Codis 3.2 path layout (src/coordinator/paths.ts) without a store: node paths of
// a product, ids and tokens read back from paths, path validation and the generic helpers, and the
// product listing over a stub store. Expected duration: under 1 s.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  baseName,
  childPath,
  groupPath,
  idFromPath,
  isValidProductName,
  jodisDir,
  jodisPath,
  listProducts,
  parentPath,
  productPath,
  proxyPath,
  proxyTokenFromPath,
  segments,
  sentinelPath,
  slotPath,
  topomPath,
  validatePath,
} from '../../src/coordinator/paths.js';
import { isStoreError, type Store } from '../../src/coordinator/index.js';

const badPath = (fn: () => unknown): void => {
  assert.throws(fn, (e: unknown) => isStoreError(e) && e.code === 'BAD_PATH');
};

test('node paths are the ones Codis 3.2 writes', () => {
  assert.equal(productPath('demo'), '/codis3/demo');
  assert.equal(topomPath('demo'), '/codis3/demo/topom');
  assert.equal(slotPath('demo', 7), '/codis3/demo/slots/slot-0007');
  assert.equal(slotPath('demo', 1023), '/codis3/demo/slots/slot-1023');
  assert.equal(groupPath('demo', 12), '/codis3/demo/group/group-0012');
  assert.equal(proxyPath('demo', 'abc123'), '/codis3/demo/proxy/proxy-abc123');
  assert.equal(sentinelPath('demo'), '/codis3/demo/sentinel');
  assert.equal(jodisDir('demo'), '/jodis/demo');
  assert.equal(jodisPath('demo', 'abc123'), '/jodis/demo/proxy-abc123');
});

test('bad product names, ids and tokens are refused with BAD_PATH', () => {
  for (const name of ['', '.hidden', '-x', 'a/b', 'a b']) {
    assert.equal(isValidProductName(name), false, name);
    badPath(() => topomPath(name));
  }
  for (const name of ['demo', 'a.b-c_d', '0']) assert.equal(isValidProductName(name), true, name);
  badPath(() => slotPath('demo', -1));
  badPath(() => slotPath('demo', 1.5));
  badPath(() => groupPath('demo', Number.NaN));
  badPath(() => proxyPath('demo', 'a/b'));
  badPath(() => jodisPath('demo', ''));
});

test('ids and tokens read back from paths', () => {
  assert.equal(idFromPath(slotPath('demo', 42)), 42);
  assert.equal(idFromPath(groupPath('demo', 7)), 7);
  assert.equal(idFromPath('/codis3/demo/topom'), null);
  assert.equal(idFromPath('/codis3/demo/slots/slot-x'), null);
  assert.equal(proxyTokenFromPath(proxyPath('demo', 'tok')), 'tok');
  assert.equal(proxyTokenFromPath(jodisPath('demo', 'tok')), 'tok');
  assert.equal(proxyTokenFromPath('/codis3/demo/proxy/proxy-'), null);
  assert.equal(proxyTokenFromPath('/codis3/demo/topom'), null);
});

test('validatePath accepts normalised absolute paths only', () => {
  validatePath('/a');
  validatePath('/codis3/demo/slots/slot-0001');
  validatePath('/', true);
  for (const p of ['', 'a/b', '/', '/a/', '/a//b', '/a/./b', '/a/../b', '/a\u0000b', `/${'x'.repeat(1100)}`])
    badPath(() => validatePath(p));
});

test('segments, baseName, parentPath and childPath agree with each other', () => {
  assert.deepEqual(segments('/'), []);
  assert.deepEqual(segments('/a/b/c'), ['a', 'b', 'c']);
  assert.equal(baseName('/a/b/c'), 'c');
  assert.equal(parentPath('/a/b/c'), '/a/b');
  assert.equal(parentPath('/a'), '/');
  assert.equal(parentPath('/'), null);
  for (const p of ['/a', '/a/b', '/codis3/demo/group/group-0001']) {
    const parent = parentPath(p);
    assert.ok(parent !== null);
    assert.equal(childPath(parent, baseName(p)), p);
  }
});

test('listProducts: valid product names under /codis3, sorted', async () => {
  const listed: string[] = [];
  const store = {
    list: async (path: string): Promise<string[]> => {
      listed.push(path);
      return ['/codis3/zeta', '/codis3/alpha', '/codis3/.trash', '/codis3/mid-1'];
    },
  } as unknown as Store;
  assert.deepEqual(await listProducts(store), ['alpha', 'mid-1', 'zeta']);
  assert.deepEqual(listed, ['/codis3']);
});
