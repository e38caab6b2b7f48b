// The token bucket on a simulated clock: exact counts however late the timers fire, bounded catch-up after a stall.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { countBetween, Pacer, parseProfile, stepsProfile } from '../../src/sources/index.ts';

/** Runs a pacer the way the synthetic source does, with timers that fire `lateness()` ms after they were due. */
function simulate(pacer: Pacer, endMs: number, lateness: () => number): { times: number[] } {
  const times: number[] = [];
  let now = 1000; // any origin: the pacer only uses differences
  const origin = now;
  pacer.start(now);
  while (now - origin < endMs) {
    const n = pacer.take(now);
    for (let i = 0; i < n; i++) times.push(now - origin);
    const wait = pacer.waitMs(now);
    if (wait === Infinity) break;
    now += wait + lateness();
  }
  return { times: times.filter((t) => t < endMs) };
}

test('50/s for 10 s gives exactly 500 records, the first at once, evenly spaced', () => {
  const { times } = simulate(new Pacer(parseProfile('constant:50')), 10_000, () => 0);
  assert.equal(times.length, 500);
  assert.equal(times[0], 0);
  assert.ok(Math.abs(times[1]! - 20) < 1e-6 && Math.abs(times[499]! - 9980) < 1e-6, `${times[1]} ${times[499]}`);
});

test('late timers do not drift: the count due by T is still the integral of the rate', () => {
  // Timers 0-15 ms late, as on a busy machine: the bucket makes up for it at the next wake-up.
  let i = 0;
  const lateness = () => [3, 15, 0, 7, 11][i++ % 5]!;
  const profile = parseProfile('steps:10@3s,150@6s,10@3s');
  const { times } = simulate(new Pacer(profile), 12_000, lateness);
  const expected = 1 + countBetween(profile, 0, 12_000);
  assert.ok(Math.abs(times.length - expected) <= 1, `${times.length} records, expected ${expected}`);
  // In every second, the count matches the profile within the lateness (a record or two at 150/s).
  for (let s = 0; s < 12; s++) {
    const inSecond = times.filter((t) => t >= s * 1000 && t < (s + 1) * 1000).length;
    const want = countBetween(profile, s * 1000, (s + 1) * 1000);
    assert.ok(Math.abs(inSecond - want) <= 3, `second ${s}: ${inSecond} records, profile says ${want}`);
  }
});

test('a stall longer than the burst allowance is dropped and counted, not flooded', () => {
  const pacer = new Pacer(parseProfile('constant:100'), { burstMs: 1000 });
  pacer.start(0);
  assert.equal(pacer.take(0), 1);
  // The consumer was stuck for 5 s: only the one due plus 1 s worth (100) may go out at once.
  assert.equal(pacer.take(5000), 101);
  assert.ok(Math.abs(pacer.dropped - 399) < 1e-6, `dropped ${pacer.dropped}`);
  assert.equal(pacer.take(5000), 0);
  assert.ok(Math.abs(pacer.waitMs(5000) - 10) < 1e-6);
});

test('a stall within the allowance is fully made up', () => {
  const pacer = new Pacer(parseProfile('constant:100'), { burstMs: 1000 });
  pacer.start(0);
  pacer.take(0);
  assert.equal(pacer.take(800), 80);
  assert.equal(pacer.dropped, 0);
});

test('crossing a step down is not mistaken for falling behind', () => {
  const pacer = new Pacer(stepsProfile([{ rate: 1000, durationMs: 1000 }, { rate: 1, durationMs: 1000 }]));
  pacer.start(0);
  let total = pacer.take(0);
  for (let t = 100; t <= 1100; t += 100) total += pacer.take(t);
  assert.equal(pacer.dropped, 0);
  assert.equal(total, 1001);
});

test('a rate of 0 waits until the next step', () => {
  const pacer = new Pacer(parseProfile('steps:0@2s,10@1s'));
  pacer.start(0);
  assert.equal(pacer.take(0), 0);
  assert.ok(Math.abs(pacer.waitMs(0) - 2100) < 1e-6, `${pacer.waitMs(0)}`);
});

test('property: with timers late by less than the burst allowance, nothing is dropped and the count matches', () => {
  fc.assert(
    fc.property(
      fc.array(fc.record({ rate: fc.integer({ min: 0, max: 3000 }), durationMs: fc.integer({ min: 100, max: 5000 }) }), { minLength: 1, maxLength: 4 }).filter((s) => s.some((x) => x.rate > 0)),
      fc.array(fc.integer({ min: 0, max: 50 }), { minLength: 1, maxLength: 20 }),
      (steps, lates) => {
        const profile = stepsProfile(steps);
        let i = 0;
        const pacer = new Pacer(profile, { burstMs: 1000 });
        const { times } = simulate(pacer, profile.lengthMs, () => lates[i++ % lates.length]!);
        assert.equal(pacer.dropped, 0);
        const expected = (profile.segmentAt(0).rate > 0 ? 1 : 0) + countBetween(profile, 0, profile.lengthMs);
        // Within one record at the end (a record due exactly at the end is not sent) plus the last wake-up's lateness.
        const lastRate = profile.segmentAt(profile.lengthMs - 1).rate;
        const slack = 1 + Math.ceil((lastRate * 50) / 1000);
        assert.ok(times.length <= Math.ceil(expected) && times.length >= Math.floor(expected) - slack, `${times.length} vs ${expected}`);
      },
    ),
  );
});
