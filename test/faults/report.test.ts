// docs/reliability.md is the rendering of docs/reliability.json (the last full fault run of each delivery guarantee), and those runs passed with nothing lost.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { mergeRun, renderReport, runGuarantee, type Report, type RunResults } from '../../faults/lib/report.ts';
import { SCENARIOS } from '../../faults/scenarios/index.ts';

const ROOT = new URL('../../', import.meta.url);
const read = () => JSON.parse(readFileSync(new URL('docs/reliability.json', ROOT), 'utf8')) as Report;

test('docs/reliability.md is generated from docs/reliability.json (regenerate: npm run faults -- --report)', () => {
  assert.equal(readFileSync(new URL('docs/reliability.md', ROOT), 'utf8'), renderReport(read()));
});

test('the committed report covers every scenario at-least-once (and, when it has an exactly-once run, every scenario exactly-once too), each passed, lost 0, with its seed', () => {
  const { runs } = read();
  const guarantees = runs.map(runGuarantee);
  assert.ok(guarantees[0] === 'at-least-once' && new Set(guarantees).size === guarantees.length, `one run per guarantee, at-least-once first: ${guarantees.join(', ')}`);
  const alo = runs[0]!;
  const eos = runs.find((r) => runGuarantee(r) === 'exactly-once');
  assert.deepEqual(alo.scenarios.map((s) => s.scenario).sort(), SCENARIOS.map((s) => s.name).sort());
  for (const r of runs) {
    for (const s of r.scenarios) {
      assert.equal(s.guarantee, runGuarantee(r), `${s.scenario}: one guarantee per run`);
      assert.equal(s.lost, 0, `${s.scenario} (${s.guarantee}) lost nothing`);
      assert.ok(s.passed, `${s.scenario} (${s.guarantee}) passed: ${s.checks.filter((c) => !c.ok).map((c) => c.name).join('; ')}`);
      assert.equal(s.seed, r.seed);
    }
  }
  if (eos) {
    assert.deepEqual(eos.scenarios.map((s) => s.scenario).sort(), SCENARIOS.map((s) => s.name).sort());
    for (const s of eos.scenarios) assert.equal(s.duplicates, 0, `${s.scenario}: a read_committed reader sees each id once`);
    const eosKills = eos.scenarios.find((s) => s.scenario === 'member-kill')!;
    assert.ok(eosKills.events.some((e) => e.fault && e.note?.includes('during a commit')), 'exactly-once: a kill during a transaction commit');
    assert.ok(eosKills.events.filter((e) => e.fault).length >= 20, 'exactly-once: at least 20 member kills');
  }
  const kills = alo.scenarios.find((s) => s.scenario === 'member-kill')!;
  assert.ok(kills.events.filter((e) => e.fault).length >= 20, 'at least 20 member kills');
  assert.equal(alo.scenarios.find((s) => s.scenario === 'fuzz-records')!.records, 10_000);
  assert.equal(alo.scenarios.find((s) => s.scenario === 'fuzz-images')!.records, 1000);
  const readme = readFileSync(new URL('README.md', ROOT), 'utf8');
  assert.match(readme, /\]\(docs\/reliability\.md\)/, 'the README links the report');
});

test('a --report run replaces the run of its guarantee and keeps the other one', () => {
  const alo = read().runs[0]!;
  const eos: RunResults = { ...alo, seed: 7, scenarios: alo.scenarios.map((s) => ({ ...s, guarantee: 'exactly-once' as const })) };
  assert.deepEqual(mergeRun(undefined, eos).runs, [eos]);
  assert.deepEqual(mergeRun(eos, alo).runs, [alo, eos], 'an older single-run file is read as one run; at-least-once comes first');
  const again = { ...eos, seed: 8 };
  assert.deepEqual(mergeRun({ runs: [alo, eos] }, again).runs, [alo, again]);
  const md = renderReport({ runs: [alo, eos] });
  assert.match(md, /\| \[leader-kill\]\(#leader-kill\) \| at-least-once \|/);
  assert.match(md, /\| \[leader-kill\]\(#leader-kill-exactly-once\) \| exactly-once \|/);
  assert.match(md, /^### leader-kill \(exactly-once\)$/m);
});
