// The share benchmark's pure parts: the order of the contenders, what a replica's log says, the summary and tables, the command line.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseShareArgs, steadyRate } from '../../bench/share.ts';
import { contenderName, formatTables, othersCpu, parseReplicaLog, roundOrder, summarize, warningTotals, type GroupType, type ShareRun } from '../../bench/share/plan.ts';

test('roundOrder: share and consumer of the same replicas run side by side; the pairs rotate and the first of a pair alternates', () => {
  const names = (round: number) => roundOrder([1, 2, 4], round).map(contenderName);
  assert.deepEqual(names(0), ['share×1', 'consumer×1', 'share×2', 'consumer×2', 'share×4', 'consumer×4']);
  assert.deepEqual(names(1), ['consumer×2', 'share×2', 'consumer×4', 'share×4', 'consumer×1', 'share×1']);
  assert.deepEqual(names(2), ['share×4', 'consumer×4', 'share×1', 'consumer×1', 'share×2', 'consumer×2']);
  // Over two rounds, each pair runs once with share first and once with consumer first.
  for (const r of [1, 2, 4]) {
    const first = [0, 1].map((round) => roundOrder([1, 2, 4], round).find((c) => c.replicas === r)!.groupType);
    assert.deepEqual(first, ['share', 'consumer']);
  }
  assert.deepEqual(roundOrder([], 1), []);
});

test('parseReplicaLog: warning codes, the first assignment with partitions, the outputs of the stopped summary; other lines ignored', () => {
  const lines = [
    'not json',
    '{"time":"2026-12-08T03:47:18.845Z","level":"warn","msg":"heartbeat failed","code":"GROUP_HEARTBEAT_FAILED"}',
    '{"time":"2026-12-08T03:47:19.404Z","level":"warn","msg":"sampling lag failed: not readable yet","code":"LAG_SAMPLING_FAILED"}',
    '{"time":"2026-12-08T03:47:20.000Z","level":"info","msg":"assignment","event":"assignment","partitions":[]}',
    '{"time":"2026-12-08T03:47:22.446Z","level":"info","msg":"assignment","event":"assignment","partitions":[0]}',
    '{"time":"2026-12-08T03:47:25.000Z","level":"warn","msg":"sampling lag failed again","code":"LAG_SAMPLING_FAILED"}',
    '{"time":"2026-12-08T03:47:26.000Z","level":"info","msg":"status","event":"status","outputs":48}',
    '{"time":"2026-12-08T03:47:42.082Z","level":"notice","msg":"stopped","event":"stopped","outputs":200}',
    '{"broken',
  ];
  const l = parseReplicaLog(lines.join('\n'));
  assert.deepEqual(l.warnings, { GROUP_HEARTBEAT_FAILED: 1, LAG_SAMPLING_FAILED: 2 });
  assert.equal(l.messages.LAG_SAMPLING_FAILED, 'sampling lag failed: not readable yet', 'the first message of a code');
  assert.equal(l.assignedAt, Date.parse('2026-12-08T03:47:22.446Z'), 'an empty assignment is not one');
  assert.deepEqual(l.assignments, [Date.parse('2026-12-08T03:47:20.000Z'), Date.parse('2026-12-08T03:47:22.446Z')], 'every rebalance, empty or not');
  assert.equal(l.outputs, 200);
  assert.deepEqual(parseReplicaLog(''), { warnings: {}, messages: {}, assignedAt: null, assignments: [], outputs: null });
});

test('steadyRate: from the first poll after the last assignment before the end; none when too little was left', () => {
  // Spawned at wall 10 000 (performance.now() 500); a poll every 100 ms; 10 records a poll after 1 s.
  const samples = Array.from({ length: 40 }, (_, i) => ({ at: 500 + i * 100, done: Math.max(0, (i - 10) * 10) }));
  const doneAt = samples.at(-1)!.at;
  // The last assignment at wall 11 950 is at performance.now() 2450: the first poll after it is at 2500, with 100 done.
  const r = steadyRate([{ assignments: [11_000] }, { assignments: [11_950, 99_000] }], samples, 10_000, 500, doneAt, 290);
  assert.equal(r.settledSeconds, 1.95);
  assert.equal(r.steadyPerSecond, 190 / ((doneAt - 2500) / 1000), 'an assignment after the end (the stop) is left out');
  assert.deepEqual(steadyRate([{ assignments: [] }], samples, 10_000, 500, doneAt, 290), { settledSeconds: null, steadyPerSecond: null });
  assert.equal(steadyRate([{ assignments: [13_700] }], samples, 10_000, 500, doneAt, 290).steadyPerSecond, null, 'less than a fifth left');
});

const run = (groupType: GroupType, replicas: number, round: number, perSecond: number, extra: Partial<ShareRun> = {}): ShareRun => ({
  round,
  job: 'io',
  partitions: 1,
  groupType,
  replicas,
  position: 0,
  records: 400,
  seconds: 400 / perSecond,
  perSecond,
  firstOutputSeconds: 2,
  settledSeconds: 1,
  steadyPerSecond: perSecond * 1.1,
  totalSeconds: 2 + 400 / perSecond,
  assignedSeconds: [],
  replicaOutputs: [],
  outputs: 400,
  deadLetters: 0,
  cpuMsPerRecord: null,
  othersCpuShare: null,
  warnings: {},
  exits: [0],
  ...extra,
});

test('summarize: medians per job, topic and replicas, share over consumer; failed runs are counted, not measured', () => {
  const runs = [
    run('share', 2, 0, 80),
    run('share', 2, 1, 76),
    run('share', 2, 2, 60),
    run('consumer', 2, 0, 40),
    run('consumer', 2, 1, 38),
    run('consumer', 2, 2, 0, { error: 'exited early' }),
    run('share', 1, 0, 40, { warnings: { LAG_SAMPLING_FAILED: 1 } }),
  ];
  const s = summarize(runs, ['io'], [1], [1, 2]);
  assert.equal(s.length, 2);
  const two = s.find((x) => x.replicas === 2)!;
  assert.deepEqual(two.share, { median: 76, min: 60, max: 80 });
  assert.deepEqual(two.consumer, { median: 39, min: 38, max: 40 });
  assert.equal(two.ratio, 76 / 39);
  assert.deepEqual(two.failed, { share: 0, consumer: 1 });
  assert.equal(two.steady.ratio, (76 * 1.1) / (39 * 1.1));
  const one = s.find((x) => x.replicas === 1)!;
  assert.equal(one.consumer, null);
  assert.equal(one.ratio, null, 'no ratio without both');
  const table = formatTables(s, () => 'I/O job');
  assert.ok(table.includes('I/O job, 1 partition: msg/s, median (min-max)'));
  assert.match(table.find((l) => l.startsWith('2 '))!, /76\.0 \(60\.0-80\.0\)\s+39\.0 \(38\.0-40\.0\)\s+1\.95x\s+1\.95x$/);
  assert.match(table.find((l) => l.startsWith('1 '))!, /40\.0 \(40\.0-40\.0\)\s+-\s+-\s+-$/);
  assert.equal(othersCpu(runs), null, 'none read');
  assert.deepEqual(othersCpu([run('share', 1, 0, 40, { othersCpuShare: 0.3 }), run('share', 1, 1, 40, { othersCpuShare: 0.1 }), run('share', 1, 2, 40)]), { median: 0.2, min: 0.1, max: 0.3 });
  assert.deepEqual(warningTotals(runs), { share: { LAG_SAMPLING_FAILED: { lines: 1, runs: 1 } }, consumer: {} });
});

test('parseShareArgs: flags to options; a bad value is a usage error naming its flag', () => {
  const { options, help } = parseShareArgs(['--records', '300', '--rounds', '1', '--only', 'io', '--partitions', '1,8', '--replicas', '1,2,4', '--cpu-ms', '2.5', '--io-ms', '0']);
  assert.equal(help, false);
  assert.deepEqual(options, { records: 300, rounds: 1, only: ['io'], partitions: [1, 8], replicas: [1, 2, 4], cpuMs: 2.5, ioMs: 0 });
  assert.equal(parseShareArgs(['-h']).help, true);
  assert.throws(() => parseShareArgs(['--replicas', '1,0']), (e: Error) => e instanceof RangeError && /--replicas takes positive integers/.test(e.message));
  assert.throws(() => parseShareArgs(['--partitions', 'eight']), /--partitions/);
  assert.throws(() => parseShareArgs(['--only', 'io,gpu']), /--only takes io,cpu/);
  assert.throws(() => parseShareArgs(['--records', '1.5']), /--records must be a positive integer/);
  assert.throws(() => parseShareArgs(['--cpu-ms', '0']), /--cpu-ms must be a positive number/);
  assert.throws(() => parseShareArgs(['--nope']), (e: Error) => e instanceof RangeError && /Unknown option '--nope'/.test(e.message));
});
