#!/usr/bin/env bash
# Runs every Shardis test (unit, then integration against real servers) after installing what they
# need: first a check that the locked dependencies install on this Node without engine warnings,
# then `npm audit --omit=dev` (scripts/audit.mjs), then `npm run lint`, then the tests.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
# Every locked package must support this Node (package.json "engines"): fail on any EBADENGINE.
if npm ci --dry-run --no-audit --no-fund 2>&1 | grep -B1 -A4 EBADENGINE; then
  echo "npm ci: a locked package does not support node $(node --version) (EBADENGINE above)" >&2
  exit 1
fi
# Advisories against runtime dependencies fail the run (where the registry answers audits).
node scripts/audit.mjs
npm run -s lint
exec node scripts/run-tests.js "$@"
