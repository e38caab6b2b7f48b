// The short subset of the fault runner: a 3-node cluster, members in their own network namespaces, and one trial of each fault (leader kill, member kills mid-commit/mid-rebalance/at random, a cut-off member, faults before any commit, a hostile job) plus small fuzz sets, each with the full accounting; and a short share-group run (member kills, SIGTERM, a node kill).
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { renderReport } from '../../faults/lib/report.ts';
import { runFaults } from '../../faults/lib/run.ts';
import { topologyUnavailable } from '../../faults/lib/topology.ts';

// Member namespaces hang off the suite's own loopback-only namespace; outside it they would hang off the real network.
const why = !process.env.LAGLESS_TEST_NETNS ? 'not inside the loopback-only network namespace of "npm test" (run it as root)' : topologyUnavailable();

test('fault subset: nothing lost under a leader kill, member kills (random, mid-commit, mid-rebalance), a cut-off member, faults before any commit, a hostile job and fuzzed inputs', { skip: why ? `SKIPPED LOUDLY: ${why}` : false }, async (t) => {
  const workDir = await mkdtemp(join(tmpdir(), 'lagless-faults-test-'));
  t.after(() => rm(workDir, { recursive: true, force: true }));
  const seed = Math.floor(Math.random() * 2 ** 31);
  t.diagnostic(`seed ${seed} (reproduce: npm run faults -- --seed ${seed} --scenarios <name>)`);
  const lines: string[] = [];
  const results = await runFaults({
    seed,
    scenarios: ['leader-kill', 'member-kill', 'member-partition', 'cold-start', 'hostile-job', 'fuzz-records', 'fuzz-images'],
    perScenario: {
      'leader-kill': { trials: 1, durationMs: 15_000 },
      'member-kill': { trials: 3, durationMs: 24_000 },
      'member-partition': { trials: 1, durationMs: 12_000 },
      'cold-start': { trials: 3, durationMs: 30_000 },
      'hostile-job': { trials: 1, durationMs: 30_000 },
      'fuzz-records': { trials: 200 },
      'fuzz-images': { trials: 50 },
    },
    guarantee: 'at-least-once',
    groupProtocol: 'classic',
    rate: 10,
    heap: '320m',
    workDir,
    log: (line) => lines.push(line),
    command: 'npm test (fault subset)',
  });
  for (const row of renderReport({ runs: [results] }).split('\n').filter((l) => l.startsWith('| ['))) t.diagnostic(row);
  for (const s of results.scenarios) {
    const failed = s.checks.filter((c) => !c.ok);
    assert.equal(s.lost, 0, `${s.scenario}: lost ${s.lost}`);
    assert.deepEqual(failed.map((c) => `${c.name}: ${c.detail.slice(0, 500)}`), [], `${s.scenario} (seed ${seed}); runner log:\n${lines.slice(-40).join('\n')}`);
  }
  const kinds = results.scenarios.find((s) => s.scenario === 'member-kill')!.events.filter((e) => e.fault).map((e) => e.note ?? '');
  assert.ok(kinds.some((k) => k.includes('commit')) && kinds.some((k) => k.includes('rebalance')) && kinds.some((k) => k.includes('random')), `kill moments: ${kinds.join('; ')}`);
});

// Its own cluster and time budget: the share group's node kill and restart take a minute on their own.
test('fault subset, share group: nothing lost and the backlog back to 0 under kill -9 and SIGTERM of members and a node kill', {
  skip: why ? `SKIPPED LOUDLY: ${why}` : false,
}, async (t) => {
  const workDir = await mkdtemp(join(tmpdir(), 'lagless-faults-test-'));
  t.after(() => rm(workDir, { recursive: true, force: true }));
  const seed = Math.floor(Math.random() * 2 ** 31);
  t.diagnostic(`seed ${seed} (reproduce: npm run faults -- --seed ${seed} --scenarios share-group)`);
  const lines: string[] = [];
  const results = await runFaults({
    seed,
    scenarios: ['share-group'],
    perScenario: { 'share-group': { trials: 3, durationMs: 45_000 } },
    guarantee: 'at-least-once',
    groupProtocol: 'classic',
    rate: 10,
    heap: '320m',
    workDir,
    log: (line) => lines.push(line),
    command: 'npm test (fault subset, share group)',
  });
  const s = results.scenarios[0]!;
  t.diagnostic(renderReport({ runs: [results] }).split('\n').find((l) => l.startsWith('| ['))!);
  assert.equal(s.groupType, 'share');
  assert.equal(s.lost, 0, `lost ${s.lost}`);
  const faults = s.events.filter((e) => e.fault).map((e) => `${e.action} ${e.target}`);
  assert.ok(faults.some((f) => f.startsWith('kill -9 m')) && faults.some((f) => f.startsWith('SIGTERM')) && faults.some((f) => f.startsWith('kill -9 node')), `faults: ${faults.join('; ')}`);
  assert.deepEqual(s.checks.filter((c) => !c.ok).map((c) => `${c.name}: ${c.detail.slice(0, 500)}`), [], `share-group (seed ${seed}); runner log:\n${lines.slice(-40).join('\n')}`);
});
