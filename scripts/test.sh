#!/usr/bin/env bash
# Runs every Shardis test (unit, then integration against real servers) after installing what they need.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
exec node scripts/run-tests.js "$@"
