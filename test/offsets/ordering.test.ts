// OrderingScheduler: examples and fast-check properties for unordered, key and partition modes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { OrderingScheduler, type OrderingMode } from '../../src/offsets/index.ts';

interface Rec {
  topic: string;
  partition: number;
  offset: number;
  key: string | Uint8Array | null;
}

const rec = (partition: number, offset: number, key: string | Uint8Array | null): Rec => ({ topic: 't', partition, offset, key });

test('unordered starts everything at once', () => {
  const s = new OrderingScheduler<Rec>('unordered');
  for (let i = 0; i < 5; i++) assert.equal(s.submit(rec(0, i, 'k')), true);
  assert.equal(s.running, 5);
});

test('key mode runs one record per key at a time, in offset order; other keys and null keys run alongside', () => {
  const s = new OrderingScheduler<Rec>('key');
  const a0 = rec(0, 0, 'a');
  const a1 = rec(0, 1, 'a');
  const b2 = rec(0, 2, 'b');
  const n3 = rec(0, 3, null);
  const a4 = rec(0, 4, 'a');
  const a0p1 = rec(1, 0, 'a'); // same key, other partition: its own lane
  assert.deepEqual([a0, a1, b2, n3, a4, a0p1].map((r) => s.submit(r)), [true, false, true, true, false, true]);
  assert.equal(s.waiting, 2);
  assert.deepEqual(s.complete(a0), [a1]);
  assert.deepEqual(s.complete(a1), [a4]);
  assert.deepEqual(s.complete(a4), []);
  assert.equal(s.waiting, 0);
});

test('byte keys are compared by bytes', () => {
  const s = new OrderingScheduler<Rec>('key');
  assert.equal(s.submit(rec(0, 0, new Uint8Array([0xff]))), true);
  assert.equal(s.submit(rec(0, 1, new Uint8Array([0xfe]))), true);
  assert.equal(s.submit(rec(0, 2, Buffer.from([0xff]))), false);
  assert.equal(s.submit(rec(0, 3, 'ÿ')), true, 'a string key is not the same key as its bytes');
});

test('partition mode runs one record per partition', () => {
  const s = new OrderingScheduler<Rec>('partition');
  const r = [rec(0, 0, 'a'), rec(0, 1, 'b'), rec(1, 0, 'a')];
  assert.deepEqual(r.map((x) => s.submit(x)), [true, false, true]);
  assert.deepEqual(s.complete(r[0]!), [r[1]]);
});

test('revoke drops the waiting records of a partition; its running record still completes', () => {
  const s = new OrderingScheduler<Rec>('partition');
  const r = [rec(0, 0, null), rec(0, 1, null), rec(0, 2, null), rec(1, 0, null), rec(1, 1, null)];
  r.forEach((x) => s.submit(x));
  assert.deepEqual(s.revoke('t', 0), [r[1], r[2]]);
  assert.equal(s.waiting, 1);
  assert.deepEqual(s.complete(r[0]!), []);
  assert.deepEqual(s.complete(r[3]!), [r[4]]);
});

test('complete() of a record that is not running throws', () => {
  const s = new OrderingScheduler<Rec>('key');
  const a = rec(0, 0, 'a');
  const b = rec(0, 1, 'a');
  s.submit(a);
  s.submit(b);
  assert.throws(() => s.complete(b), /not running/);
  assert.throws(() => new OrderingScheduler<Rec>('random' as OrderingMode), /ordering must be one of/);
});

/** Random traffic: submissions in offset order per partition, interleaved with completions of running records. */
const traffic = fc.array(
  fc.oneof(
    { weight: 3, arbitrary: fc.record({ kind: fc.constant('submit' as const), partition: fc.nat(2), key: fc.option(fc.constantFrom('a', 'b', 'c'), { nil: null }) }) },
    { weight: 2, arbitrary: fc.record({ kind: fc.constant('complete' as const), pick: fc.nat() }) },
  ),
  { maxLength: 200 },
);

for (const mode of ['unordered', 'key', 'partition'] as const) {
  test(`property (${mode}): lanes never run two records, start in offset order, and every record starts exactly once`, () => {
    fc.assert(
      fc.property(traffic, (steps) => {
        const s = new OrderingScheduler<Rec>(mode);
        const nextOffset = [0, 0, 0];
        const running: Rec[] = [];
        const started: Rec[] = [];
        const submitted: Rec[] = [];
        const lane = (r: Rec): string | undefined =>
          mode === 'unordered' ? undefined : mode === 'partition' ? `${r.partition}` : r.key === null ? undefined : `${r.partition}/${r.key as string}`;
        const start = (r: Rec) => {
          const l = lane(r);
          if (l !== undefined) assert.ok(!running.some((x) => lane(x) === l), `two records of lane ${l} running`);
          running.push(r);
          started.push(r);
        };
        const completeOne = (pick: number) => {
          const [r] = running.splice(pick % running.length, 1);
          for (const next of s.complete(r!)) start(next);
        };
        for (const step of steps) {
          if (step.kind === 'submit') {
            const r = rec(step.partition, nextOffset[step.partition]!++, step.key);
            submitted.push(r);
            const now = s.submit(r);
            if (mode === 'unordered') assert.equal(now, true);
            if (now) start(r);
          } else if (running.length > 0) {
            completeOne(step.pick);
          }
          assert.equal(s.running, running.length);
          assert.equal(s.running + s.waiting, submitted.length - (started.length - running.length));
        }
        while (running.length > 0) completeOne(0);
        // Everything started exactly once, and within each lane in submission (offset) order.
        assert.equal(started.length, submitted.length);
        assert.equal(new Set(started).size, submitted.length);
        const byLane = new Map<string, number[]>();
        for (const r of started) {
          const l = lane(r);
          if (l === undefined) continue;
          byLane.set(l, [...(byLane.get(l) ?? []), r.offset]);
        }
        for (const [l, offsets] of byLane) assert.deepEqual(offsets, [...offsets].sort((x, y) => x - y), `lane ${l}`);
        assert.equal(s.waiting, 0);
      }),
      { numRuns: 500 },
    );
  });
}
