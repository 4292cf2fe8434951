#!/usr/bin/env python3
# How much of a latency tail is GC: reads latency-trace.c's OUT.txt (and OUT.txt.start) and the GC
# log of gc-log.mjs, and prints how many of the slowest 1% of requests were in flight during a GC
# pause, and the p99 of the requests that were not. The first 20% of the requests are skipped.
#
#   python3 bench/tools/gc-overlap.py OUT.txt /tmp/gc.txt
import bisect
import sys

out, gclog = sys.argv[1], sys.argv[2]
base = float(open(out + '.start').read())
rows = [tuple(map(float, line.split())) for line in open(out)]
rows = [(c, s + base, lat) for c, s, lat in rows[len(rows) // 5:]]
lat = sorted(r[2] for r in rows)
p99 = lat[int(.99 * len(lat))]
first, last = rows[0][1], max(r[1] + r[2] for r in rows)
gcs = sorted(g for g in (tuple(map(float, line.split())) for line in open(gclog)) if first - 10000 <= g[0] <= last)
starts = [g[0] for g in gcs]


def during_gc(r):
    i = bisect.bisect_left(starts, r[1] - 10000)
    while i < len(gcs) and gcs[i][0] < r[1] + r[2]:
        if gcs[i][0] + gcs[i][1] > r[1]:
            return True
        i += 1
    return False


pauses = sorted(g[1] for g in gcs)
tail = [r for r in rows if r[2] >= p99]
rest = sorted(r[2] for r in rows if not during_gc(r))
print(f"{len(gcs)} GC pauses while measuring, median {pauses[len(pauses) // 2] if pauses else 0:.0f} us")
print(f"p99 {p99:.0f} us: {sum(map(during_gc, tail))} of the {len(tail)} slowest requests were in flight during a pause "
      f"({sum(map(during_gc, rows))} of all {len(rows)})")
print(f"p99 of the requests no pause touched: {rest[int(.99 * len(rest))]:.0f} us")
