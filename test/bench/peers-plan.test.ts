// The peers benchmark's pure parts: the rotating order of the contenders, the medians against the bare loop, the table.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatTable, median, roundOrder, summarize, type Contender, type PeerRun } from '../../bench/peers/plan.ts';

test('roundOrder: each contender runs once in each position over as many rounds as contenders; two alternate', () => {
  const all = ['noop', 'bare', 'kafkajs', 'confluent'];
  const rounds = [0, 1, 2, 3].map((r) => roundOrder(all, r));
  assert.deepEqual(rounds[1], ['bare', 'kafkajs', 'confluent', 'noop']);
  for (const order of rounds) assert.deepEqual([...order].sort(), [...all].sort());
  for (let position = 0; position < all.length; position++) assert.deepEqual(rounds.map((o) => o[position]).sort(), [...all].sort());
  assert.deepEqual(roundOrder(all, 4), roundOrder(all, 0));
  assert.deepEqual([0, 1, 2, 3, 4].map((r) => roundOrder(['noop', 'bare'], r)[0]), ['noop', 'bare', 'noop', 'bare', 'noop']);
  assert.deepEqual(roundOrder([], 3), []);
});

test('median: odd and even counts, order of the input does not matter', () => {
  assert.equal(median([3, 1, 2]), 2);
  assert.equal(median([4, 1, 3, 2]), 2.5);
});

const run = (contender: Contender, round: number, perSecond: number, peakRssMb: number, error?: string): PeerRun => ({
  round,
  contender,
  position: 0,
  records: 1000,
  seconds: 1000 / perSecond,
  perSecond,
  joinedSeconds: 1,
  firstOutputSeconds: 1.1,
  peakRssMb,
  cpuMsPerRecord: null,
  outputs: 1000,
  exit: 0,
  ...(error === undefined ? {} : { error }),
});

test('summarize: medians and ranges per contender, each against the bare loop; failed runs are counted, not averaged', () => {
  const runs = [
    run('bare', 0, 100, 200),
    run('bare', 1, 120, 210),
    run('bare', 2, 110, 190),
    run('noop', 0, 99, 240),
    run('noop', 1, 90, 250),
    run('noop', 2, 0, 0, 'exited early (1)'),
    run('kafkajs', 0, 50, 150),
  ];
  const [noop, bare, kafkajs] = summarize(runs, ['noop', 'bare', 'kafkajs']);
  assert.deepEqual(bare!.perSecond, { median: 110, min: 100, max: 120 });
  assert.equal(bare!.vsBare, 1);
  assert.equal(bare!.rssMinusBareMb, 0);
  assert.equal(noop!.runs, 2);
  assert.equal(noop!.failed, 1);
  assert.equal(noop!.perSecond.median, 94.5);
  assert.equal(noop!.vsBare, 94.5 / 110);
  assert.equal(noop!.rssMinusBareMb, 245 - 200);
  assert.equal(kafkajs!.rssMinusBareMb, -50);
});

test('summarize: without bare runs there is nothing to compare with', () => {
  const [noop] = summarize([run('noop', 0, 90, 240)], ['noop']);
  assert.equal(noop!.vsBare, null);
  assert.equal(noop!.rssMinusBareMb, null);
});

test('formatTable: a line per contender, the unavailable one says why', () => {
  const runs = [run('bare', 0, 100_000, 200), run('noop', 0, 95_000, 230)];
  const lines = formatTable(summarize(runs, ['noop', 'bare', 'confluent']), { confluent: 'Cannot find module' });
  assert.equal(lines.length, 4);
  assert.match(lines[0]!, /^contender\s+msg\/s median\s+min-max\s+% of bare\s+peak RSS MB\s+RSS - bare MB\s+runs$/);
  assert.match(lines[1]!, /^noop\s+95,000\s+95,000-95,000\s+95\.0%\s+230\s+\+30\s+1$/);
  assert.match(lines[2]!, /^bare\s+100,000\s+100,000-100,000\s+100\.0%\s+200\s+\+0\s+1$/);
  assert.equal(lines[3], 'confluent: not available here: Cannot find module');
});
