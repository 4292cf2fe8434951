// Small CLI and process helpers without processes: option flags back to option overrides
// (src/cli/option-flags.ts) and the free-port retry (src/util/free-port.ts) with a stub start that
// fails the way a server does when its port was taken. Expected duration: under 1 s.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { flagOverrides } from '../../src/cli/option-flags.js';
import { startOnFreePort } from '../../src/util/free-port.js';
import type { OptionSpec } from '../../src/util/options.js';

const specs: OptionSpec[] = [
  { key: 'product_name', type: 'string', default: 'demo', doc: 'name' },
  { key: 'max_clients', type: 'int', default: 100, doc: 'clients' },
  { key: 'backend_ping_period', type: 'duration', default: '5s', doc: 'ping' },
];

test('flagOverrides maps camel-cased commander values back to option keys, skipping unset ones', () => {
  assert.deepEqual(flagOverrides(specs, { productName: 'p1', maxClients: '7', unrelated: 'x' }), { product_name: 'p1', max_clients: '7' });
  assert.deepEqual(flagOverrides(specs, { backendPingPeriod: ['1s', '2s'] }), { backend_ping_period: '1s,2s' });
  assert.deepEqual(flagOverrides(specs, {}), {});
});

test('startOnFreePort: a given port is used once, as is; a taken free port is retried, up to the limit', async () => {
  const tried: number[] = [];
  assert.equal(
    await startOnFreePort('127.0.0.1', 6390, async (p) => {
      tried.push(p);
      return 'ok';
    }),
    'ok',
  );
  assert.deepEqual(tried, [6390]);
  await assert.rejects(
    startOnFreePort('127.0.0.1', 6390, async () => {
      throw new Error('EADDRINUSE');
    }),
    /EADDRINUSE/,
  );

  const seen: number[] = [];
  const got = await startOnFreePort('127.0.0.1', undefined, async (p) => {
    seen.push(p);
    if (seen.length < 3) throw new Error(`port ${p}: EADDRINUSE`);
    return p;
  });
  assert.equal(seen.length, 3);
  assert.equal(got, seen[2]);
  assert.equal(new Set(seen).size, 3, 'a different port each time');

  let attempts = 0;
  await assert.rejects(
    startOnFreePort(
      '127.0.0.1',
      undefined,
      async () => {
        attempts++;
        throw new Error('EADDRINUSE');
      },
      4,
    ),
    /EADDRINUSE/,
  );
  assert.equal(attempts, 4);
});
