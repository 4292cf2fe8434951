#!/usr/bin/env bash
# `npm run lint`: ESLint (typescript-eslint, type-checked; eslint.config.js) over the whole tree, then
# `prettier --check` over the files listed in scripts/prettier-files.txt. The tree is not yet formatted
# with Prettier (one reformat after the parallel branches merge); until then only listed files are
# checked. After that reformat, replace the list with `prettier --check .`.
set -euo pipefail
cd "$(dirname "$0")/.."
npx --no-install eslint --max-warnings 0 .
mapfile -t files < <(grep -v '^\s*#' scripts/prettier-files.txt | grep -v '^\s*$')
if [ ${#files[@]} -gt 0 ]; then npx --no-install prettier --check "${files[@]}"; fi
