// docs/reliability.md is the rendering of docs/reliability.json (the last full fault run of each delivery guarantee), and those runs passed with nothing lost.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { mergeRun, renderReport, runGuarantee, runProtocol, type Report, type RunResults } from '../../faults/lib/report.ts';
import { SCENARIOS } from '../../faults/scenarios/index.ts';

const ROOT = new URL('../../', import.meta.url);
const read = () => JSON.parse(readFileSync(new URL('docs/reliability.json', ROOT), 'utf8')) as Report;

test('docs/reliability.md is generated from docs/reliability.json (regenerate: npm run faults -- --report)', () => {
  assert.equal(readFileSync(new URL('docs/reliability.md', ROOT), 'utf8'), renderReport(read()));
});

test('the committed report has a full run of every guarantee with both group protocols: every scenario, each passed, lost 0, with its seed', () => {
  const { runs } = read();
  const combos = runs.map((r) => `${runGuarantee(r)}/${runProtocol(r)}`);
  assert.deepEqual(combos, ['at-least-once/classic', 'at-least-once/consumer', 'exactly-once/classic', 'exactly-once/consumer'], 'one run per combination, in this order');
  for (const r of runs) {
    const label = `${runGuarantee(r)}, ${runProtocol(r)} groups`;
    assert.deepEqual(r.scenarios.map((s) => s.scenario).sort(), SCENARIOS.map((s) => s.name).sort(), `${label}: every scenario`);
    for (const s of r.scenarios) {
      assert.equal(s.guarantee, runGuarantee(r), `${s.scenario}: one guarantee per run`);
      assert.equal(s.groupProtocol ?? 'classic', runProtocol(r), `${s.scenario}: one group protocol per run`);
      assert.equal(s.lost, 0, `${s.scenario} (${label}) lost nothing`);
      assert.ok(s.passed, `${s.scenario} (${label}) passed: ${s.checks.filter((c) => !c.ok).map((c) => c.name).join('; ')}`);
      assert.equal(s.seed, r.seed);
      if (s.guarantee === 'exactly-once') assert.equal(s.duplicates, 0, `${s.scenario} (${label}): a read_committed reader sees each id once`);
    }
    const kills = r.scenarios.find((s) => s.scenario === 'member-kill')!;
    assert.ok(kills.events.filter((e) => e.fault).length >= 20, `${label}: at least 20 member kills`);
    assert.ok(kills.events.some((e) => e.fault && e.note?.includes('during a commit')), `${label}: a kill during a commit`);
    assert.ok(kills.events.some((e) => e.fault && e.note?.includes('rebalance')), `${label}: a kill during a rebalance`);
    const coordinators = r.scenarios.find((s) => s.scenario === 'coordinator-faults')!;
    assert.ok(coordinators.events.some((e) => e.fault && e.note?.includes('coordinator of group')), `${label}: a fault aimed at the group coordinator`);
    if (runGuarantee(r) === 'exactly-once') assert.ok(coordinators.events.some((e) => e.fault && e.note?.includes('transaction coordinator')), `${label}: a fault aimed at a transaction coordinator`);
    assert.equal(r.scenarios.find((s) => s.scenario === 'fuzz-records')!.records, 10_000);
    assert.equal(r.scenarios.find((s) => s.scenario === 'fuzz-images')!.records, 1000);
  }
  const readme = readFileSync(new URL('README.md', ROOT), 'utf8');
  assert.match(readme, /\]\(docs\/reliability\.md\)/, 'the README links the report');
});

test('a --report run replaces the run of its guarantee and group protocol and keeps the others', () => {
  const alo = read().runs[0]!;
  const as = (guarantee: 'at-least-once' | 'exactly-once', groupProtocol: 'classic' | 'consumer', seed: number): RunResults => ({
    ...alo,
    seed,
    scenarios: alo.scenarios.map((s) => ({ ...s, guarantee, groupProtocol })),
  });
  const aloClassic = as('at-least-once', 'classic', 1);
  const eos = as('exactly-once', 'classic', 7);
  const eos848 = as('exactly-once', 'consumer', 9);
  assert.deepEqual(mergeRun(undefined, eos).runs, [eos]);
  assert.deepEqual(mergeRun(eos, aloClassic).runs, [aloClassic, eos], 'an older single-run file is read as one run; at-least-once comes first');
  assert.deepEqual(mergeRun({ runs: [aloClassic, eos] }, eos848).runs, [aloClassic, eos, eos848], 'another protocol is another run');
  const again = { ...eos, seed: 8 };
  assert.deepEqual(mergeRun({ runs: [aloClassic, eos, eos848] }, again).runs, [aloClassic, again, eos848]);
  const md = renderReport({ runs: [aloClassic, eos, eos848] });
  assert.match(md, /\| \[leader-kill\]\(#leader-kill\) \| at-least-once \| classic \|/);
  assert.match(md, /\| \[leader-kill\]\(#leader-kill-exactly-once\) \| exactly-once \| classic \|/);
  assert.match(md, /\| \[leader-kill\]\(#leader-kill-exactly-once-kip-848\) \| exactly-once \| consumer \(KIP-848\) \|/);
  assert.match(md, /^### leader-kill \(exactly-once\)$/m);
  assert.match(md, /^### leader-kill \(exactly-once, KIP-848\)$/m);
});
