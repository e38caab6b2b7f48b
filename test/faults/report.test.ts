// docs/reliability.md is the rendering of docs/reliability.json (the last full fault run), and that run passed with nothing lost.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { renderReport, type RunResults } from '../../faults/lib/report.ts';
import { SCENARIOS } from '../../faults/scenarios/index.ts';

const ROOT = new URL('../../', import.meta.url);

test('docs/reliability.md is generated from docs/reliability.json (regenerate: npm run faults -- --report)', () => {
  const results = JSON.parse(readFileSync(new URL('docs/reliability.json', ROOT), 'utf8')) as RunResults;
  assert.equal(readFileSync(new URL('docs/reliability.md', ROOT), 'utf8'), renderReport(results));
});

test('the committed report covers every scenario, each passed, lost 0, with its seed', () => {
  const results = JSON.parse(readFileSync(new URL('docs/reliability.json', ROOT), 'utf8')) as RunResults;
  assert.deepEqual(results.scenarios.map((s) => s.scenario).sort(), SCENARIOS.map((s) => s.name).sort());
  for (const s of results.scenarios) {
    assert.equal(s.lost, 0, `${s.scenario} lost nothing`);
    assert.ok(s.passed, `${s.scenario} passed: ${s.checks.filter((c) => !c.ok).map((c) => c.name).join('; ')}`);
    assert.equal(s.seed, results.seed);
  }
  const kills = results.scenarios.find((s) => s.scenario === 'member-kill')!;
  assert.ok(kills.events.filter((e) => e.fault).length >= 20, 'at least 20 member kills');
  assert.equal(results.scenarios.find((s) => s.scenario === 'fuzz-records')!.records, 10_000);
  assert.equal(results.scenarios.find((s) => s.scenario === 'fuzz-images')!.records, 1000);
  const readme = readFileSync(new URL('README.md', ROOT), 'utf8');
  assert.match(readme, /\]\(docs\/reliability\.md\)/, 'the README links the report');
});
