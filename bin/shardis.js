#!/usr/bin/env -S node --max-semi-space-size=4 --heap-growing-percent=50 --no-allocation-site-pretenuring --no-parallel-scavenge
// Entry point of the `shardis` command: runs the compiled CLI. The node flags on the first line are
// the V8 heap settings of every shardis process (SHARDIS_NODE_FLAGS in src/util/shardis-process.ts).
import '../dist/src/cli/main.js';
