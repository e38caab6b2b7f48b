// Every TypeScript sample in the README and the docs type-checks as the project's own code does, against the real
// public API; every job among them says how it is run (test/docs/snippet-jobs.test.ts runs it against the broker).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { test } from 'node:test';
import { ROOT, tsSnippets, writeSnippets } from '../helpers/doc-snippets.ts';

test('the README and the docs have job samples, each with a job-test comment saying how it is run', () => {
  const snippets = tsSnippets();
  const jobs = snippets.filter((s) => s.job);
  assert.ok(jobs.some((s) => s.page === 'README.md'), 'the README has its job in ten lines');
  assert.ok(jobs.length >= 4, `${jobs.length} job samples`);
  for (const s of jobs) {
    assert.ok(s.jobTest, `${s.page}:${s.line}: a job sample needs a <!-- job-test {...} --> line above it (records in, outputs and dead letters out)`);
    assert.ok(s.jobTest.in.length > 0 && (s.jobTest.out.length > 0 || (s.jobTest.dlq?.length ?? 0) > 0), `${s.page}:${s.line}: its job-test expects something`);
  }
  for (const s of snippets.filter((x) => x.jobTest && !x.job)) assert.fail(`${s.page}:${s.line}: a job-test comment above a sample that is not a job`);
});

test('every TypeScript sample of the README and the docs type-checks (tsc, the project\'s strict settings)', (t) => {
  const snippets = tsSnippets();
  assert.ok(snippets.length >= 6, `${snippets.length} samples`);
  // Inside the repository, so that `import ... from 'lagless'` resolves to this package (its self-reference).
  const dir = mkdtempSync(join(ROOT, '.lagless-snippets-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const where = writeSnippets(dir, snippets);
  const tsc = spawnSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(dir, 'tsconfig.json'), '--noEmit', '--pretty', 'false'], { encoding: 'utf8', cwd: ROOT });
  // Name the page and line of each error, not the temporary file.
  let report = `${tsc.stdout}${tsc.stderr}`;
  for (const [s, path] of where) report = report.replaceAll(relative(ROOT, path), `${s.page}:${s.line} (${s.file})`);
  assert.equal(tsc.status, 0, report);
});

test('a sample with a type error fails the check (the check can fail)', (t) => {
  const dir = mkdtempSync(join(ROOT, '.lagless-snippets-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeSnippets(dir, [
    {
      page: 'fixture.md',
      line: 1,
      file: 'bad.ts',
      code: "import { defineJob } from 'lagless';\nexport default defineJob({ name: 'bad', run(record) { return { value: record.nope() }; } });\n",
      job: true,
      jobTest: undefined,
    },
  ]);
  const tsc = spawnSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(dir, 'tsconfig.json'), '--noEmit', '--pretty', 'false'], { encoding: 'utf8', cwd: ROOT });
  assert.notEqual(tsc.status, 0);
  assert.match(tsc.stdout, /TS2339/, 'property does not exist');
});
