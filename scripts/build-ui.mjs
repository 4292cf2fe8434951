// Bundles the web console (src/ui/) into dist/ui/: app.js (Preact + uPlot, minified, ES2020), app.css
// and index.html. Run by `npm run build` after tsc; about a second. Type checking of the page is
// `npm run typecheck:ui` (tsconfig.ui.json), kept out of the build to keep it fast.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'ui');
mkdirSync(out, { recursive: true });
await build({
  entryPoints: [join(root, 'src', 'ui', 'main.tsx')],
  bundle: true,
  minify: true,
  format: 'esm',
  target: 'es2020',
  outfile: join(out, 'app.js'),
  jsx: 'automatic',
  jsxImportSource: 'preact',
  legalComments: 'none',
  logLevel: 'warning',
  tsconfig: join(root, 'tsconfig.ui.json'),
});
for (const f of ['index.html', 'app.css']) copyFileSync(join(root, 'src', 'ui', f), join(out, f));
