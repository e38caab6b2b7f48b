// Dogfooding: the built-in jobs are written on the public API. Everything they import from Lagless goes through
// src/index.ts (what `import ... from 'lagless'` gives), besides their own modules (the palette engine, the downloader),
// which sit below the entry and take the error vocabulary from src/errors directly — only names the entry exports.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, relative, resolve } from 'node:path';
import { test } from 'node:test';

const ROOT = resolve(new URL('../..', import.meta.url).pathname);
const PUBLIC_ENTRY = 'src/index.ts';
const ERRORS = 'src/errors/index.ts';

/** The names a file imports from `target` (a relative specifier resolved from the file). */
function namesImported(file: string, target: string): string[] {
  const text = readFileSync(resolve(ROOT, file), 'utf8');
  const names: string[] = [];
  for (const m of text.matchAll(/import\s+(?:type\s+)?\{([^}]*)\}\s*from\s*['"]([^'"]+)['"]/g)) {
    if (relative(ROOT, resolve(ROOT, dirname(file), m[2]!)) !== target) continue;
    for (const part of m[1]!.split(',')) {
      const name = part.trim().replace(/^type\s+/, '').split(/\s+as\s+/)[0]!;
      if (name) names.push(name);
    }
  }
  return names;
}

/** What the public entry re-exports from src/errors. */
function publicErrorNames(): Set<string> {
  const text = readFileSync(resolve(ROOT, PUBLIC_ENTRY), 'utf8');
  const names = new Set<string>();
  for (const m of text.matchAll(/export\s+(?:type\s+)?\{([^}]*)\}\s*from\s*['"]\.\/errors\/index\.ts['"]/g)) {
    for (const part of m[1]!.split(',')) {
      const name = part.trim().replace(/^type\s+/, '').split(/\s+as\s+/)[0]!;
      if (name) names.add(name);
    }
  }
  return names;
}

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
    // The job's own modules may take the error vocabulary from src/errors, as long as every name is public.
    const outside = [...reached].filter(([f, by]) => f !== PUBLIC_ENTRY && !own.test(f) && !(f === ERRORS && own.test(by))).map(([f, by]) => `${f} (imported by ${by})`);
    assert.deepEqual(outside, [], `${job} reaches Lagless modules that are not its own and not the public entry`);
    const publicNames = publicErrorNames();
    const privateNames = [...reached.keys()].filter((f) => own.test(f)).flatMap((f) => namesImported(f, ERRORS).filter((n) => !publicNames.has(n)).map((n) => `${n} (in ${f})`));
    assert.deepEqual(privateNames, [], `${job}'s modules import from src/errors only what the public entry exports`);
  });
}

test('the scan sees imports: a file that imports the runtime directly would be caught', () => {
  const reached = closure('src/process/replica.ts');
  assert.ok([...reached.keys()].some((f) => f.startsWith('src/runtime/')));
});
