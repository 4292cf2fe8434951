#!/usr/bin/env node
// Fails (exit 1) when the TypeScript modules under src/ import each other in a cycle, type-only
// imports included. Uses the TypeScript compiler's own import scanner (ts.preProcessFile), so it
// needs no extra dependency. Usage: node scripts/check-cycles.mjs [dir ...]   (default: src)
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';

const root = resolve(dirname(new URL(import.meta.url).pathname), '..');
const dirs = (process.argv.slice(2).length ? process.argv.slice(2) : ['src']).map((d) => resolve(root, d));

function walk(dir, out) {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) walk(p, out);
    else if (p.endsWith('.ts') && !p.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

const files = dirs.flatMap((d) => walk(d, []));
const known = new Set(files);
/** file -> files it imports (relative imports only; '.js' specifiers name the '.ts' source). */
const edges = new Map();
for (const f of files) {
  const info = ts.preProcessFile(readFileSync(f, 'utf8'), true, true);
  const deps = [];
  for (const { fileName } of info.importedFiles) {
    if (!fileName.startsWith('.')) continue;
    const target = resolve(dirname(f), fileName).replace(/\.js$/, '.ts');
    if (known.has(target)) deps.push(target);
  }
  edges.set(f, deps);
}

// Tarjan's strongly connected components: any component with more than one module (or a module
// importing itself) is a cycle.
let index = 0;
const idx = new Map(),
  low = new Map(),
  onStack = new Set(),
  stack = [],
  cycles = [];
function strong(v) {
  idx.set(v, index);
  low.set(v, index);
  index++;
  stack.push(v);
  onStack.add(v);
  for (const w of edges.get(v)) {
    if (!idx.has(w)) {
      strong(w);
      low.set(v, Math.min(low.get(v), low.get(w)));
    } else if (onStack.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)));
  }
  if (low.get(v) === idx.get(v)) {
    const comp = [];
    let w;
    do {
      w = stack.pop();
      onStack.delete(w);
      comp.push(w);
    } while (w !== v);
    if (comp.length > 1 || edges.get(v).includes(v)) cycles.push(comp);
  }
}
for (const f of files) if (!idx.has(f)) strong(f);

if (cycles.length > 0) {
  console.error(`import cycles found (${cycles.length}):`);
  for (const c of cycles)
    console.error(
      `  ${c
        .map((f) => relative(root, f))
        .sort()
        .join(' <-> ')}`,
    );
  process.exit(1);
}
console.log(`no import cycles among ${files.length} modules`);
