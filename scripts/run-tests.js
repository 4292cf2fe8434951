// Runs the compiled test files with node's test runner: unit tests first, then integration tests,
// one file at a time (they start real servers on a 2-core machine). Extra args filter file names.
// At the end it prints the slowest files (each test file states its expected duration in its header).
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const filters = process.argv.slice(2);
function find(dir) {
  let out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out = out.concat(find(p));
    else if (name.endsWith('.test.js')) out.push(p);
  }
  return out;
}
const files = ['dist/test/unit', 'dist/test/integration']
  .flatMap((d) => {
    try {
      return find(d);
    } catch {
      return [];
    }
  })
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)));
// The spec reporter, then the list of the slowest files (scripts/slowest-files-reporter.mjs), on stdout.
const reporter = new URL('./slowest-files-reporter.mjs', import.meta.url).pathname;
const r = spawnSync(
  process.execPath,
  [
    '--test',
    '--test-concurrency=1',
    '--test-timeout=600000',
    '--test-reporter=spec',
    '--test-reporter-destination=stdout',
    `--test-reporter=${reporter}`,
    '--test-reporter-destination=stdout',
    ...files,
  ],
  { stdio: 'inherit' },
);
process.exit(r.status ?? 1);
