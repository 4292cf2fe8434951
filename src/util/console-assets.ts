// The web console's built files (`npm run build` bundles src/ui/ into dist/ui/: index.html, app.js,
// app.css), read once and served from memory, gzipped when the browser accepts it, by the dashboard
// (`/console/`) and by `shardis fe` (`/`). Missing files (UI not built) give a clear 404 text.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

export interface Asset {
  body: Buffer;
  gzip: Buffer;
  type: string;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
  '.json': 'application/json',
};

/** dist/ui, next to dist/src (this file is dist/src/util/console-assets.js once compiled). */
export function consoleAssetsDir(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'ui');
}

let cache: Map<string, Asset> | null = null;

function load(): Map<string, Asset> {
  if (cache) return cache;
  const m = new Map<string, Asset>();
  const dir = consoleAssetsDir();
  if (existsSync(dir)) {
    for (const f of readdirSync(dir)) {
      const ext = f.slice(f.lastIndexOf('.'));
      const type = TYPES[ext];
      if (!type) continue;
      const body = readFileSync(join(dir, f));
      m.set(f, { body, gzip: gzipSync(body, { level: 9 }), type });
    }
  }
  cache = m;
  return m;
}

/** The asset for a file name under the console root ('' = index.html), or null. */
export function consoleAsset(name: string): Asset | null {
  const f = name === '' || name.endsWith('/') ? 'index.html' : name;
  if (f.includes('/') || f.includes('..')) return null;
  return load().get(f) ?? null;
}

export const CONSOLE_NOT_BUILT = 'the web console is not built: run `npm run build` (it bundles src/ui/ into dist/ui/)';
