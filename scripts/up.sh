#!/usr/bin/env bash
# Brings up a local Shardis cluster (installs what it needs first). Extra args go to `shardis up`.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/install-deps.sh
exec node bin/shardis.js up "$@"
