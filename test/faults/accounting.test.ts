// The fault runner's accounting: lost and duplicated ids, stray records, dead-letter codes, the longest time without progress, and recovery after a fault.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { account, baseId, longestStall, type AccountingInput } from '../../faults/lib/accounting.ts';
import type { TopicRecord } from '../../faults/lib/kafka-io.ts';

const rec = (key: string | null, value = '{}', partition = 0, timestamp = 0): TopicRecord => ({ key, value, partition, offset: 0n, timestamp });
const dead = (key: string, code: string) => rec(key, JSON.stringify({ error: { code, message: 'x' } }));

function input(over: Partial<AccountingInput>): AccountingInput {
  return { inputs: [], outputs: [], deadLetters: [], arrivals: [], completions: new Map(), faults: [], ...over };
}

test('baseId recovers the input id from an output key, also when the key carries a fuzzed suffix', () => {
  assert.equal(baseId('member-kill-12'), 'member-kill-12');
  assert.equal(baseId('fuzz-records-7~\ufffd😀'), 'fuzz-records-7');
  assert.equal(baseId('fuzz-records-7'), 'fuzz-records-7');
  assert.equal(baseId('no-number'), undefined);
  assert.equal(baseId(null), undefined);
});

test('lost, duplicates, both, input duplicates, stray records and codes are counted', () => {
  const a = account(
    input({
      inputs: [rec('t-1'), rec('t-2'), rec('t-3'), rec('t-4'), rec('t-4')],
      outputs: [rec('t-1'), rec('t-1'), rec('t-3~odd'), rec('t-4'), rec('t-4'), rec('other-9')],
      deadLetters: [dead('t-3', 'HTTP_STATUS'), dead('t-5', 'NOT_A_CODE')],
    }),
  );
  assert.equal(a.records, 4);
  assert.deepEqual(a.lost, ['t-2']);
  assert.deepEqual(a.both, ['t-3']);
  // t-1 twice for one input (1), t-3 output + dead letter for one input (1), t-4 twice for two inputs (0).
  assert.equal(a.duplicates, 2);
  assert.equal(a.inputDuplicates, 1);
  assert.equal(a.unknown, 2);
  assert.deepEqual(a.codes, { HTTP_STATUS: 1, NOT_A_CODE: 1 });
  assert.deepEqual(a.unknownCodes, ['NOT_A_CODE']);
});

test('longest time without progress counts only time when work was waiting, per partition', () => {
  // Partition 0: completions every second, then one 10 s gap while a record waited.
  const p0 = [0, 1, 2, 3, 13].map((c, i) => ({ partition: 0, arrivedAt: i === 4 ? 3.5 : c - 0.2, completedAt: c }));
  // Partition 1: a 100 s gap with nothing waiting (no arrival) is not a stall.
  const p1 = [
    { partition: 1, arrivedAt: 0, completedAt: 0.5 },
    { partition: 1, arrivedAt: 100, completedAt: 100.5 },
  ];
  const s = longestStall([...p0, ...p1]);
  assert.equal(s.partition, 0);
  assert.equal(s.ms, 13 - 3.5);
  assert.deepEqual([s.from, s.to], [3.5, 13]);
  assert.equal(longestStall([]).ms, 0);
});

test('recovery: from a fault until every record that arrived before it is done', () => {
  const a = account(
    input({
      inputs: [rec('t-1'), rec('t-2'), rec('t-3')],
      outputs: [rec('t-1'), rec('t-2'), rec('t-3')],
      arrivals: [
        { id: 't-1', partition: 0, at: 1000 },
        { id: 't-2', partition: 1, at: 2000 },
        { id: 't-3', partition: 0, at: 9000 },
      ],
      completions: new Map([
        ['t-1', 1500],
        ['t-2', 8000],
        ['t-3', 9100],
      ]),
      faults: [2500, 8500, 20_000],
    }),
  );
  // Fault at 2.5 s: t-2 (arrived 2 s) done at 8 s. At 8.5 s nothing arrived before is pending. At 20 s neither.
  assert.deepEqual(a.recoveries, [5500, 0, 0]);
  assert.equal(a.longestStall.ms, 6000);
});
