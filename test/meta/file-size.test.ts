// The runtime stays readable in parts: no file in src/runtime/ over 500 lines, and the orchestrator (transformer.ts)
// holds no concept of its own beyond the order of its parts' calls (issue 23: aim under 400 lines).
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { test } from 'node:test';

const RUNTIME = resolve(new URL('../../src/runtime', import.meta.url).pathname);
const lines = (file: string) => readFileSync(join(RUNTIME, file), 'utf8').split('\n').length - 1;

test('no file in src/runtime/ is over 500 lines', () => {
  const over = readdirSync(RUNTIME)
    .filter((f) => f.endsWith('.ts'))
    .map((f) => ({ f, n: lines(f) }))
    .filter(({ n }) => n > 500);
  assert.deepEqual(over, [], 'split a file that grew past 500 lines into parts with one job each');
});

test('the transformer names no guarantee: it asks its delivery strategy', () => {
  const text = readFileSync(join(RUNTIME, 'transformer.ts'), 'utf8');
  assert.doesNotMatch(text, /exactly-once'|at-least-once'|exactlyOnce|#eos|#sink/);
});
