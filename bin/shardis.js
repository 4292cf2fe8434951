#!/usr/bin/env node
// Entry point of the `shardis` command: runs the compiled CLI.
import '../dist/src/cli/main.js';
