#!/usr/bin/env python3
# Reads latency-trace.c's output and says whether the slowest 1% of requests are stalls (all
# connections slow within the same millisecond) or spread out: percentiles, then how many 1 ms
# windows (by completion time) hold the tail and how many tail requests the busiest windows hold.
# The first 20% of the requests are skipped (warm-up).
import collections
import sys

rows = [tuple(map(float, line.split())) for line in open(sys.argv[1])]
rows = rows[len(rows) // 5:]
lat = sorted(r[2] for r in rows)


def q(p):
    return lat[min(len(lat) - 1, int(p * len(lat)))]


print(f"n={len(rows)} p50={q(.5):.0f} p95={q(.95):.0f} p99={q(.99):.0f} p99.9={q(.999):.0f} max={lat[-1]:.0f} us  p99/p95={q(.99) / q(.95):.2f}")
tail = [r for r in rows if r[2] >= q(.99)]
windows = collections.Counter(int((r[1] + r[2]) // 1000) for r in tail)
print(f"tail: {len(tail)} requests in {len(windows)} of {len({int((r[1] + r[2]) // 1000) for r in rows})} 1 ms windows; busiest: {windows.most_common(5)}")
