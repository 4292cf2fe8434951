// Preload for a proxy under latency-trace.c: appends every GC pause to the file named by $GC_LOG, one
// line each: start (CLOCK_MONOTONIC µs, the clock latency-trace.c uses), duration (µs), kind (V8's
// flags: 1 scavenge, 4 mark-compact, ...). gc-overlap.py lines them up with the requests.
//
//   GC_LOG=/tmp/gc.txt node --import ./bench/tools/gc-log.mjs bin/shardis.js proxy ...
import { PerformanceObserver, performance } from 'node:perf_hooks';
import fs from 'node:fs';

const file = process.env.GC_LOG;
if (file) {
  // performance.now() counts from timeOrigin on the same monotonic clock as process.hrtime.
  const base = Number(process.hrtime.bigint()) / 1000 - performance.now() * 1000;
  fs.writeFileSync(file, '');
  new PerformanceObserver((list) => {
    let s = '';
    for (const e of list.getEntries())
      s += `${(base + e.startTime * 1000).toFixed(0)} ${(e.duration * 1000).toFixed(0)} ${e.detail?.kind ?? 0}\n`;
    fs.appendFileSync(file, s);
  }).observe({ entryTypes: ['gc'] });
}
