// The layout is the architecture: one folder per concept under src/, each reached by other folders only through its
// index.ts, and no import cycle between folders.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { test } from 'node:test';

const ROOT = resolve(new URL('../..', import.meta.url).pathname);

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(ROOT, dir))) {
    const path = `${dir}/${name}`;
    if (statSync(join(ROOT, path)).isDirectory()) out.push(...sourceFiles(path));
    else if (name.endsWith('.ts')) out.push(path);
  }
  return out;
}

/** Relative imports and re-exports of a file (static and dynamic, type-only included), as paths from the root. */
function importsOf(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const specs = [...text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'"]*?\bfrom\s+['"]([^'"]+)['"]/g), ...text.matchAll(/\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g)];
  return specs.map((m) => m[1]!).filter((s) => s.startsWith('.')).map((s) => relative(ROOT, resolve(ROOT, dirname(file), s)));
}

/** The concept a source file belongs to: its folder under src/ ('' for src/index.ts). */
const folderOf = (file: string) => (file.split('/').length > 2 ? file.split('/')[1]! : '');

const edges = new Map<string, Set<string>>();
const throughSide: string[] = [];
for (const file of sourceFiles('src')) {
  const from = folderOf(file);
  for (const target of importsOf(file)) {
    if (!target.startsWith('src/')) continue;
    const to = folderOf(target);
    if (to === from || to === '') continue;
    if (!target.endsWith(`src/${to}/index.ts`)) throughSide.push(`${file} imports ${target}`);
    if (from === '') continue;
    const set = edges.get(from) ?? new Set<string>();
    set.add(to);
    edges.set(from, set);
  }
}

test('other folders reach a folder of src/ only through its index.ts', () => {
  assert.deepEqual(throughSide, []);
});

test('no import cycle between the folders of src/', () => {
  const cycles: string[] = [];
  const state = new Map<string, 'open' | 'done'>();
  const path: string[] = [];
  const visit = (node: string) => {
    state.set(node, 'open');
    path.push(node);
    for (const next of edges.get(node) ?? []) {
      if (state.get(next) === 'open') cycles.push([...path.slice(path.indexOf(next)), next].join(' → '));
      else if (!state.has(next)) visit(next);
    }
    path.pop();
    state.set(node, 'done');
  };
  for (const node of edges.keys()) if (!state.has(node)) visit(node);
  assert.deepEqual(cycles, []);
});

test('only the built-in jobs (written like a user\'s, with the public API) import the package entry src/index.ts; lower layers never do', () => {
  const upsideDown = sourceFiles('src')
    .filter((file) => folderOf(file) !== '' && folderOf(file) !== 'jobs')
    .filter((file) => importsOf(file).includes('src/index.ts'));
  assert.deepEqual(upsideDown, []);
});
