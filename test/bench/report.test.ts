// `npm run bench -- report`: docs/performance.md, its charts and the README's figures are what the report writes from
// bench/results; it takes the latest result of each kind, renders a peers result (PeersBenchResult) and a share result
// (ShareBenchResult), and names the provenance of every figure.
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { CHART_DIR, PAGE, README, RESULTS_DIR, loadResults, renderPerformance, renderReadme } from '../../bench/report.ts';
import { summarize, type PeerRun } from '../../bench/peers/plan.ts';
import type { PeersBenchResult } from '../../bench/peers.ts';
import { summarize as summarizeShare, warningTotals, type ShareRun } from '../../bench/share/plan.ts';
import type { ShareBenchResult } from '../../bench/share.ts';

const ROOT = new URL('../../', import.meta.url).pathname;
const read = (p: string) => readFileSync(join(ROOT, p), 'utf8');

test('docs/performance.md, docs/performance/*.svg and the README\'s figures are what npm run bench -- report writes from bench/results', () => {
  const r = renderPerformance();
  assert.equal(read(PAGE), r.markdown, 'docs/performance.md (regenerate: npm run bench -- report)');
  const committed = readdirSync(join(ROOT, CHART_DIR)).filter((f) => f.endsWith('.svg')).map((f) => `${CHART_DIR}/${f}`).sort();
  assert.deepEqual(committed, [...r.charts.keys()].sort(), 'the charts in docs/performance/');
  for (const [path, svg] of r.charts) assert.equal(read(path), svg, path);
  assert.equal(read(README), renderReadme(read(README), r.headlines), 'the README\'s figures block');
  assert.ok(r.headlines.length >= 5, 'headline figures');
  for (const h of r.headlines) assert.match(read(README), new RegExp(`\\(docs/performance\\.md#${h.anchor}\\)`), `the README links ${h.anchor}`);
});

/** A copy of bench/results in a temporary directory, for fixtures added to it. */
function resultsCopy(t: import('node:test').TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'lagless-report-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const f of readdirSync(RESULTS_DIR)) if (f.endsWith('.json')) copyFileSync(join(RESULTS_DIR, f), join(dir, f));
  return dir;
}

function peersResult(date: string, noopRates: number[], bareRates: number[]): PeersBenchResult {
  const run = (contender: 'noop' | 'bare', round: number, perSecond: number, peakRssMb: number): PeerRun => ({
    round, contender, position: 0, records: 1_000_000, seconds: 1_000_000 / perSecond, perSecond, joinedSeconds: 1, firstOutputSeconds: 1.2, peakRssMb, cpuMsPerRecord: 0.01, outputs: 1_000_000, exit: 0,
  });
  const runs = [...noopRates.map((r, i) => run('noop', i, r, 180)), ...bareRates.map((r, i) => run('bare', i, r, 150))];
  return {
    bench: 'peers',
    date,
    command: 'npm run bench -- peers --rounds 3 --only noop,bare,kafkajs',
    commit: '0123456789abcdef0123456789abcdef01234567',
    machine: { cpu: 'Test CPU', cores: 2, memoryGb: 24, node: 'v24.21.0', loadBefore: [1, 1, 1], loadAfter: [1, 1, 1], brokerOwned: true },
    options: { records: 1_000_000, partitions: 8, rounds: 3, only: ['noop', 'bare', 'kafkajs'], laglessBin: false, laglessArgs: [] },
    method: 'fixture',
    contenders: { noop: 'lagless run noop', bare: 'bare loop', kafkajs: 'KafkaJS' },
    unavailable: { kafkajs: 'not installed in this fixture' },
    produceSeconds: 10,
    runs,
    summary: summarize(runs, ['noop', 'bare', 'kafkajs']),
    table: [],
    seconds: 100,
  };
}

test('a peers result renders as a table of contenders (msg/s median, % of bare, peak RSS) with a chart, the latest one wins, and its figure reaches the headlines', (t) => {
  const dir = resultsCopy(t);
  // Only the two fixtures below: the repository's own peers results are left out of this copy.
  for (const f of readdirSync(dir)) if (f.startsWith('peers-')) rmSync(join(dir, f));
  writeFileSync(join(dir, 'peers-2026-12-01T10-00-00-000Z.json'), JSON.stringify(peersResult('2026-12-01T10:00:00.000Z', [50_000, 60_000, 55_000], [100_000, 100_000, 100_000])));
  writeFileSync(join(dir, 'peers-2026-12-02T10-00-00-000Z.json'), JSON.stringify(peersResult('2026-12-02T10:00:00.000Z', [92_000, 95_000, 93_000], [100_000, 101_000, 99_000])));
  assert.equal(loadResults(dir).get('peers')?.length, 2);
  const r = renderPerformance(dir);
  const section = r.markdown.slice(r.markdown.indexOf('## Against other clients'));
  assert.ok(section.length > 0 && r.markdown.includes('## Against other clients'), 'a section for the peers bench');
  assert.match(section, /^\| noop \| 93,000 \| 92,000–95,000 \| 93\.0% \| 180 \(\+30 vs bare\) \|/m, 'noop: the median of the latest result, % of bare, peak RSS');
  assert.match(section, /^\| bare \| 100,000 \|/m);
  assert.match(section, /^\| kafkajs \| not available here \|.*not installed in this fixture/m, 'a contender left out says why');
  assert.match(section, /peers-2026-12-02T10-00-00-000Z\.json` \| 2026-12-02 \| 2 cores \(Test CPU\)/, 'the provenance of the latest file');
  assert.match(section, /`npm run bench -- peers --rounds 3 --only noop,bare,kafkajs` \| `0123456789ab` \|/, 'its command and commit');
  assert.doesNotMatch(section, /peers-2026-12-01/, 'the older result is not used');
  assert.ok(r.charts.has(`${CHART_DIR}/peers.svg`), 'a chart');
  assert.match(r.charts.get(`${CHART_DIR}/peers.svg`)!, /<svg[\s\S]*noop[\s\S]*93,000 msg\/s \(93% of bare\)/);
  const h = r.headlines.find((x) => x.anchor === 'against-other-clients');
  assert.deepEqual(h && [h.value, h.target], ['93% of its msg/s', '≥ 90%'], 'the headline, held to the product\'s target');
});

function shareResult(date: string): ShareBenchResult {
  const run = (groupType: 'share' | 'consumer', replicas: number, round: number, perSecond: number, warnings: Record<string, number> = {}): ShareRun => ({
    round, job: 'io', partitions: 1, groupType, replicas, position: 0, records: 1600, seconds: 1600 / perSecond, perSecond, firstOutputSeconds: 2, settledSeconds: 2.5, steadyPerSecond: perSecond, totalSeconds: 2 + 1600 / perSecond,
    assignedSeconds: [], replicaOutputs: [], outputs: 1600, deadLetters: 0, cpuMsPerRecord: 1, othersCpuShare: round === 0 ? 0.1 : 0.3, warnings, exits: [0],
  });
  const runs = [
    run('share', 1, 0, 39), run('consumer', 1, 0, 40), run('share', 2, 0, 78, { LAG_SAMPLING_FAILED: 2 }), run('consumer', 2, 0, 39),
    run('share', 1, 1, 41), run('consumer', 1, 1, 38), run('share', 2, 1, 74, { LAG_SAMPLING_FAILED: 2 }), run('consumer', 2, 1, 41),
  ];
  return {
    bench: 'share',
    date,
    command: 'npm run bench -- share --only io --partitions 1 --replicas 1,2',
    commit: '0123456789abcdef0123456789abcdef01234567',
    machine: { cpu: 'Test CPU', cores: 2, memoryGb: 24, node: 'v24.21.0', loadBefore: [1, 1, 1], loadAfter: [1, 1, 1], brokerOwned: true },
    options: { records: 1600, rounds: 2, only: ['io'], partitions: [1], replicas: [1, 2], ioMs: 200, cpuMs: 10, maxConcurrency: 8, maxInFlight: 8 },
    method: 'fixture',
    jobs: { io: 'I/O job' },
    cpuIterations: null,
    replicaArgs: [],
    produceSeconds: 0.1,
    runs,
    summary: summarizeShare(runs, ['io'], [1], [1, 2]),
    warnings: { ...warningTotals(runs), messages: { LAG_SAMPLING_FAILED: 'sampling lag failed' } },
    table: [],
    seconds: 100,
  };
}

test('a share result renders as a table of replicas × {share, consumer} msg/s with share/consumer, the warnings logged, and a headline', (t) => {
  const dir = resultsCopy(t);
  for (const f of readdirSync(dir)) if (f.startsWith('share-')) rmSync(join(dir, f));
  writeFileSync(join(dir, 'share-2026-12-09T10-00-00-000Z.json'), JSON.stringify(shareResult('2026-12-09T10:00:00.000Z')));
  const r = renderPerformance(dir);
  const section = r.markdown.slice(r.markdown.indexOf('## Share groups'));
  assert.ok(r.markdown.includes('## Share groups'), 'a section for the share bench');
  assert.match(section, /^\| I\/O \(200 ms wait\) \| 1 \| 1 \| 40\.0 \(39\.0–41\.0\) \| 39\.0 \(38\.0–40\.0\) \| 1\.03× \| 1\.03× \|$/m);
  assert.match(section, /^\| I\/O \(200 ms wait\) \| 1 \| 2 \| 76\.0 \(74\.0–78\.0\) \| 40\.0 \(39\.0–41\.0\) \| 1\.90× \| 1\.90× \|$/m);
  assert.match(section, /Other processes on the machine used 20% of its CPU during a run \(median; 10%–30%\)/);
  assert.match(section, /Warnings the replicas logged: share group: `LAG_SAMPLING_FAILED` \(4 lines in 2 runs\); consumer group: none\./);
  assert.match(section, /share-2026-12-09T10-00-00-000Z\.json` \| 2026-12-09 \| 2 cores \(Test CPU\)/, 'its provenance');
  const h = r.headlines.find((x) => x.anchor === 'share-groups');
  assert.deepEqual(h && [h.value, h.target], ['1.9× the msg/s', ''], 'the headline: share/consumer with 2 replicas on 1 partition, I/O job');
  assert.doesNotMatch(r.markdown, /## Other results[\s\S]*\| share \|/, 'not listed among the unknown kinds');
});

test('results of a kind the report does not know are listed, not dropped; a missing commit or command says so', (t) => {
  const dir = resultsCopy(t);
  writeFileSync(join(dir, 'newbench-2026-12-03T00-00-00-000Z.json'), JSON.stringify({ bench: 'newbench', date: '2026-12-03T00:00:00.000Z', command: 'npm run bench -- newbench', commit: null }));
  const r = renderPerformance(dir);
  assert.match(r.markdown, /## Other results[\s\S]*\| newbench \| `bench\/results\/newbench-2026-12-03T00-00-00-000Z\.json` \| 2026-12-03 \| `npm run bench -- newbench` \| not recorded \|/);
  assert.match(r.markdown, /palette-2026-11-25T12-56-19-378Z\.json` \| 2026-11-25 \| .* \| `npm run bench -- palette` \(flags not recorded; options: .*runs=9/, 'an older result without its command');
});

test('renderReadme replaces only the figures block, and a README without one is an error', () => {
  const readme = 'intro\n<!-- figures:begin (written by npm run bench -- report) -->\nold\n<!-- figures:end -->\nrest\n';
  const out = renderReadme(readme, [{ anchor: 'pipeline', figure: 'f', value: 'v', target: '≥ 1' }]);
  assert.equal(out, 'intro\n<!-- figures:begin (written by npm run bench -- report) -->\n- **v**: f (target ≥ 1); [how measured](docs/performance.md#pipeline)\n<!-- figures:end -->\nrest\n');
  assert.throws(() => renderReadme('no block', []), /no figures block/);
  assert.ok(existsSync(join(ROOT, README)));
});
