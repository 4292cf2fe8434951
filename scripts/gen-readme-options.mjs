// Regenerates the option tables in README.md from the option tables in the code (run after a build:
// `npm run build && node scripts/gen-readme-options.mjs`), so the README lists every option.
import { readFileSync, writeFileSync } from 'node:fs';

const { renderMarkdown } = await import('../dist/src/util/options.js');
const tables = {
  proxy: (await import('../dist/src/proxy/config.js')).PROXY_OPTIONS,
  dashboard: (await import('../dist/src/dashboard/config.js')).DASHBOARD_OPTIONS,
  frontdoor: (await import('../dist/src/frontdoor/sync-config.js')).FRONTDOOR_SYNC_OPTIONS,
};
let readme = readFileSync('README.md', 'utf8');
for (const [name, specs] of Object.entries(tables)) {
  const re = new RegExp(`(<!-- options:${name} [^\\n]*-->\\n)[\\s\\S]*?(\\n<!-- /options:${name} -->)`);
  if (!re.test(readme)) throw new Error(`README.md has no options:${name} markers`);
  readme = readme.replace(re, (_, a, b) => a + renderMarkdown(specs) + b);
}
writeFileSync('README.md', readme);
