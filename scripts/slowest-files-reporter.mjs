// A node:test reporter that prints, at the end of the run, the slowest test files by wall time (from
// the file's first started event to its last event; files run one at a time). Used by run-tests.js
// beside the spec reporter, and closes with a plain `tests: N passed, N failed` line.
export default async function* slowestFiles(source) {
  const span = new Map(); // file -> [first, last] (ms)
  let passed = 0;
  let failed = 0;
  for await (const ev of source) {
    if (ev.data?.details?.type !== 'suite') {
      if (ev.type === 'test:pass') passed++;
      if (ev.type === 'test:fail') failed++;
    }
    const file = ev.data?.file;
    if (!file) continue;
    const now = Date.now();
    const s = span.get(file);
    if (s) s[1] = now;
    else if (ev.type !== 'test:enqueue') span.set(file, [now, now]);
  }
  const rows = [...span].map(([f, [a, b]]) => [f.replace(`${process.cwd()}/`, ''), b - a]).sort((x, y) => y[1] - x[1]);
  if (rows.length > 0) {
    yield '\nslowest test files (wall time):\n';
    for (const [f, ms] of rows.slice(0, 10)) yield `  ${(ms / 1000).toFixed(1).padStart(7)} s  ${f}\n`;
  }
  // The run's closing line, in the plain form CI reads (the spec summary above is no longer last).
  yield `\ntests: ${passed} passed, ${failed} failed\n`;
}
