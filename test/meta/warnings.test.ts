// Every warning the runtime emits carries a stable code (src/errors WarningCodes): no `warning` event or warning
// callback is given a bare Error, so tests and users match codes, never text.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { LaglessError, warning, WarningCodes } from '../../src/errors/index.ts';

const SRC = fileURLToPath(new URL('../../src/', import.meta.url));

function* sources(dir: string): Generator<string> {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) yield* sources(p);
    else if (p.endsWith('.ts')) yield p;
  }
}

test('no warning in src is a bare Error', () => {
  const bare = /(emit\('warning',\s*new Error\(|onWarning\(\s*new Error\(|log\(`warning: )/;
  const found: string[] = [];
  for (const file of sources(SRC)) {
    readFileSync(file, 'utf8').split('\n').forEach((line, i) => {
      if (bare.test(line)) found.push(`${file.slice(SRC.length)}:${i + 1}: ${line.trim()}`);
    });
  }
  assert.deepEqual(found, []);
});

test('the check above finds a bare warning (it can fail)', () => {
  const bare = /(emit\('warning',\s*new Error\(|onWarning\(\s*new Error\(|log\(`warning: )/;
  assert.ok(bare.test("this.emit('warning', new Error(`x`));"));
});

test('warning() gives a LaglessError with the code (the logger prints it after the message: test/observe/logger.test.ts)', () => {
  const cause = new Error('underneath');
  const w = warning('COMMIT_FAILED', 'commit failed (will retry)', cause);
  assert.ok(w instanceof LaglessError);
  assert.equal(w.code, 'COMMIT_FAILED');
  assert.equal(w.cause, cause);
  assert.ok(Object.hasOwn(WarningCodes, w.code));
});
