#!/usr/bin/env bash
# `npm run lint`: ESLint (typescript-eslint, type-checked; eslint.config.js) over the whole tree, then
# `prettier --check .` (.prettierrc.json; .prettierignore leaves out generated and Markdown files).
# `npm run format` formats the tree.
set -euo pipefail
cd "$(dirname "$0")/.."
npx --no-install eslint --max-warnings 0 .
npx --no-install prettier --check .
