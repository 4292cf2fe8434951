// The README documents every option of every process (regenerate with scripts/gen-readme-options.mjs).
// Expected duration: under 1 s on a quiet 2-core machine.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { PROXY_OPTIONS } from '../../src/proxy/config.js';
import { DASHBOARD_OPTIONS } from '../../src/dashboard/config.js';
import { FRONTDOOR_SYNC_OPTIONS } from '../../src/frontdoor/sync-config.js';

test('README lists every proxy and dashboard option', () => {
  const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
  const missing = [...PROXY_OPTIONS, ...DASHBOARD_OPTIONS, ...FRONTDOOR_SYNC_OPTIONS]
    .filter((o) => !readme.includes(`| \`${o.key}\` / \`--`))
    .map((o) => o.key);
  assert.deepEqual(missing, [], 'run: npm run build && node scripts/gen-readme-options.mjs');
});
