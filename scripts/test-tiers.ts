// Which test files need the Kafka broker (integration) and which do not (unit: `npm run test:unit`), read from their
// imports, so that a new test lands in the right tier by itself.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const ROOT = resolve(new URL('..', import.meta.url).pathname);

/** Helpers whose use means a broker, a child `lagless` process, a container engine or a browser. */
const INTEGRATION_HELPERS = ['kafka', 'pipeline', 'lagless-process', 'exactly-once', 'members', 'kcat', 'cli', 'podman', 'browser'].map((h) => `test/helpers/${h}.ts`);

/** A header line that puts a file in the integration tier whatever it imports (it starts processes of its own, say). */
const MARK = /^\/\/ tier: integration\b/m;

function importsOf(file: string): string[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const specs = [...text.matchAll(/(?:^|\n)\s*(?:import|export)\b[^'"]*?\bfrom\s+['"]([^'"]+)['"]/g), ...text.matchAll(/\bimport\s*\(\s*['"]([^'"]+)['"]\s*\)/g)];
  return specs.map((m) => m[1]!).filter((s) => s.startsWith('.')).map((s) => relative(ROOT, resolve(ROOT, dirname(file), s)));
}

const cache = new Map<string, boolean>();

/** Whether `file` (a path from the repository root) needs the integration tier, through itself or the test helpers it imports. */
export function needsIntegration(file: string, seen = new Set<string>()): boolean {
  const known = cache.get(file);
  if (known !== undefined) return known;
  if (seen.has(file)) return false;
  seen.add(file);
  let result = false;
  if (MARK.test(readFileSync(join(ROOT, file), 'utf8'))) result = true;
  else {
    for (const target of importsOf(file)) {
      if (INTEGRATION_HELPERS.includes(target) || target.startsWith('src/broker/') || target.startsWith('faults/lib/run')) {
        result = true;
        break;
      }
      // Other test helpers and fixtures may lead to one.
      if (target.startsWith('test/') && target.endsWith('.ts') && needsIntegration(target, seen)) {
        result = true;
        break;
      }
    }
  }
  cache.set(file, result);
  return result;
}

/** Every test file (`test/**\/*.test.ts`), from the repository root. */
export function testFiles(dir = 'test'): string[] {
  const out: string[] = [];
  for (const name of readdirSync(join(ROOT, dir))) {
    const path = `${dir}/${name}`;
    if (statSync(join(ROOT, path)).isDirectory()) out.push(...testFiles(path));
    else if (name.endsWith('.test.ts')) out.push(path);
  }
  return out.sort();
}

/** The unit tier: test files that need no broker, no child process of the CLI, no container, no browser. */
export function unitTestFiles(): string[] {
  return testFiles().filter((f) => !needsIntegration(f));
}
