// Dogfooding: the built-in jobs are written on the public API. Everything they import from Lagless goes through
// src/index.ts (what `import ... from 'lagless'` gives), besides their own modules (the palette engine, the downloader).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { test } from 'node:test';

const ROOT = resolve(new URL('../..', import.meta.url).pathname);
const PUBLIC_ENTRY = 'src/index.ts';

/** Relative specifiers a module imports, statically or dynamically (type-only imports included: they are API too). */
function importsOf(file: string): string[] {
  const text = readFileSync(resolve(ROOT, file), 'utf8');
  const specs = [...text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'"]*?\bfrom\s+['"]([^'"]+)['"]/g), ...text.matchAll(/\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g)];
  return specs.map((m) => m[1]!).filter((s) => s.startsWith('.'));
}

/** Every Lagless source file reached from `start`, not following the public entry; the files that import each. */
function closure(start: string): Map<string, string> {
  const seen = new Map<string, string>([[start, '(start)']]);
  const queue = [start];
  while (queue.length) {
    const file = queue.shift()!;
    for (const spec of importsOf(file)) {
      const target = relative(ROOT, resolve(ROOT, dirname(file), spec));
      if (seen.has(target)) continue;
      seen.set(target, file);
      if (target !== PUBLIC_ENTRY) queue.push(target);
    }
  }
  return seen;
}

const OWN: Record<string, RegExp> = {
  'src/jobs/palette.ts': /^src\/(jobs\/palette\.ts|palette\/|download\/)/,
  'src/jobs/noop.ts': /^src\/jobs\/noop\.ts$/,
};

for (const [job, own] of Object.entries(OWN)) {
  test(`${job} imports from Lagless only through its public entry (${PUBLIC_ENTRY})`, () => {
    const reached = closure(job);
    assert.ok(reached.has(PUBLIC_ENTRY), `${job} uses the public entry`);
    const outside = [...reached].filter(([f]) => f !== PUBLIC_ENTRY && !own.test(f)).map(([f, by]) => `${f} (imported by ${by})`);
    assert.deepEqual(outside, [], `${job} reaches Lagless modules that are not its own and not the public entry`);
  });
}

test('the scan sees imports: a file that imports the runtime directly would be caught', () => {
  const reached = closure('src/process/replica.ts');
  assert.ok([...reached.keys()].some((f) => f.startsWith('src/runtime/')));
});
