// Load profiles: the syntax users type, the rate at each instant, and the exact record counts the pacer relies on.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { burstsProfile, constantProfile, countBetween, parseProfile, rateAt, stepsProfile, timeForCount, type LoadProfile } from '../../src/sources/index.ts';

test('constant: the rate from --rate or from the spec', () => {
  assert.equal(rateAt(parseProfile('constant', { rate: 50 }), 12_345), 50);
  assert.equal(rateAt(parseProfile('constant:7.5'), 0), 7.5);
  assert.equal(countBetween(parseProfile('constant', { rate: 50 }), 0, 10_000), 500);
  assert.throws(() => parseProfile('constant'), /--rate/);
});

test('steps: the example from the issue, played in order and repeated after its length', () => {
  const p = parseProfile('10@30s,150@60s,10@30s');
  assert.equal(p.kind, 'steps');
  assert.equal(p.lengthMs, 120_000);
  assert.equal(rateAt(p, 0), 10);
  assert.equal(rateAt(p, 29_999), 10);
  assert.equal(rateAt(p, 30_000), 150);
  assert.equal(rateAt(p, 89_999), 150);
  assert.equal(rateAt(p, 90_000), 10);
  assert.equal(rateAt(p, 120_000 + 45_000), 150, 'the second pass is the same as the first');
  assert.equal(countBetween(p, 0, 120_000), 10 * 30 + 150 * 60 + 10 * 30);
  assert.equal(parseProfile('steps: 10@30s, 150@1m').describe(), 'steps:10@30s,150@1m');
});

test('bursts: base, then a peak of `for` every `every`, the first at `every` unless `at` says otherwise', () => {
  const p = parseProfile('bursts:base=10,peak=200,every=30s,for=5s');
  assert.equal(rateAt(p, 0), 10);
  assert.equal(rateAt(p, 29_999), 10);
  assert.equal(rateAt(p, 30_000), 200);
  assert.equal(rateAt(p, 34_999), 200);
  assert.equal(rateAt(p, 35_000), 10);
  assert.equal(rateAt(p, 60_000), 200);
  assert.equal(countBetween(p, 0, 60_000), 10 * 55 + 200 * 5);
  const early = parseProfile('bursts:peak=100,every=10s,for=1s,at=0s', { rate: 5 });
  assert.equal(rateAt(early, 0), 100, 'at=0s starts with a burst');
  assert.equal(rateAt(early, 1000), 5, 'base comes from --rate');
});

test('bad specs are refused with a message naming the part', () => {
  const cases: [string, RegExp][] = [
    ['sine', /unknown profile "sine"/],
    ['steps:', /expected steps/],
    ['steps:10@30s,abc', /step 2 "abc" is not rate@duration/],
    ['steps:10@0s', /step 1: expected a duration above 0/],
    ['steps:-5@10s', /step 1: expected a rate/],
    ['steps:10@30x', /step 1: invalid duration "30x"/],
    ['bursts:base=10,peak=200,every=30s', /missing for=/],
    ['bursts:base=10,peak=200,every=5s,for=5s', /for: expected a duration above 0 and below every \(5s\)/],
    ['bursts:base=10,peak=200,every=30s,for=5s,size=3', /unknown key "size"/],
    ['bursts:peak=200,every=30s,for=5s', /missing base=N \(or give --rate N\)/],
  ];
  for (const [spec, message] of cases) assert.throws(() => parseProfile(spec), message, spec);
});

test('describe() parses back to the same profile', () => {
  for (const spec of ['constant:50', 'steps:10@30s,150@1m,10@500ms', 'bursts:base=10,peak=200,every=30s,for=5s', 'bursts:base=0,peak=3,every=1m,for=1s,at=0s']) {
    const p = parseProfile(spec);
    assert.equal(p.describe(), spec);
    assert.equal(parseProfile(p.describe()).describe(), spec);
  }
});

const arbProfile: fc.Arbitrary<LoadProfile> = fc.oneof(
  fc.double({ min: 0.1, max: 5000, noNaN: true }).map(constantProfile),
  fc.array(fc.record({ rate: fc.integer({ min: 0, max: 2000 }), durationMs: fc.integer({ min: 1, max: 60_000 }) }), { minLength: 1, maxLength: 6 }).filter((s) => s.some((x) => x.rate > 0)).map(stepsProfile),
  fc
    .record({ base: fc.integer({ min: 0, max: 100 }), peak: fc.integer({ min: 1, max: 2000 }), everyMs: fc.integer({ min: 2, max: 60_000 }), atMs: fc.integer({ min: 0, max: 60_000 }) })
    .chain((r) => fc.integer({ min: 1, max: r.everyMs - 1 }).map((forMs) => burstsProfile({ ...r, forMs }))),
);

test('property: countBetween adds up over split intervals', () => {
  fc.assert(
    fc.property(arbProfile, fc.integer({ min: 0, max: 300_000 }), fc.integer({ min: 0, max: 300_000 }), fc.integer({ min: 0, max: 300_000 }), (p, a, b, c) => {
      const [t0, t1, t2] = [a, b, c].sort((x, y) => x - y) as [number, number, number];
      const whole = countBetween(p, t0, t2);
      const parts = countBetween(p, t0, t1) + countBetween(p, t1, t2);
      assert.ok(Math.abs(whole - parts) <= 1e-6 * Math.max(1, whole), `${whole} vs ${parts}`);
    }),
  );
});

test('property: timeForCount is the inverse of countBetween', () => {
  fc.assert(
    fc.property(arbProfile, fc.integer({ min: 0, max: 300_000 }), fc.double({ min: 0.001, max: 5000, noNaN: true }), (p, from, n) => {
      const t = timeForCount(p, from, n);
      assert.ok(Number.isFinite(t), 'a profile with a positive peak always delivers');
      assert.ok(t >= from);
      const got = countBetween(p, from, t);
      assert.ok(Math.abs(got - n) <= 1e-6 * Math.max(1, n), `count to ${t} is ${got}, wanted ${n}`);
      // Nothing earlier would do: just before t, fewer than n are due.
      if (t > from + 1e-3) assert.ok(countBetween(p, from, t - 1e-3) < n);
    }),
  );
});

test('a profile that never produces anything waits forever instead of spinning', () => {
  assert.equal(timeForCount(stepsProfile([{ rate: 0, durationMs: 1000 }]), 0, 1), Infinity);
  assert.equal(timeForCount(burstsProfile({ base: 0, peak: 0, everyMs: 1000, forMs: 10 }), 0, 1), Infinity);
});
