// No import cycles among the TypeScript modules (src, test, bench; type-only imports included):
// runs scripts/check-cycles.mjs, as `npm run check:cycles` does. Expected duration: ~1-4 s.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../../', import.meta.url));

test('no import cycles in src, test and bench', () => {
  const r = spawnSync(process.execPath, ['scripts/check-cycles.mjs', 'src', 'test', 'bench'], {
    cwd: root,
    encoding: 'utf8',
    timeout: 60000,
  });
  assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
  assert.match(r.stdout, /no import cycles among \d+ modules/);
});
