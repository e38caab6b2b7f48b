// The autoscaling benchmark's figures, computed from a hand-made timeline whose answers are known.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { analyse, oracleWorkers, type TimelinePoint } from '../../bench/lib/autoscale-report.ts';

const shape = { capacityPerWorker: 10, minWorkers: 1, maxWorkers: 3, stepAt: 5, stepEnd: 15, stopAt: 20, highRate: 20, idleTimeoutS: 5 };

/** t = 1..30 s: 2/s, then 20/s from 5 to 15 s, 2/s until 20 s, then nothing. */
function timeline(over: (t: number) => Partial<TimelinePoint> = () => ({})): TimelinePoint[] {
  return Array.from({ length: 30 }, (_, i) => {
    const t = i + 1;
    const scheduled = t <= 5 ? 2 : t <= 15 ? 20 : t <= 20 ? 2 : 0;
    const base: TimelinePoint = {
      t,
      scheduled,
      arrival: scheduled,
      completion: scheduled,
      lag: 0,
      workers: t > 7 && t <= 26 ? 2 : 1,
      wish: null,
      oracle: oracleWorkers(scheduled, 10, 1, 3),
      cpu: 0,
      machineCpu: null,
    };
    return { ...base, ...over(t) };
  });
}

test('oracle: ceil(rate / capacity) within min..max', () => {
  assert.deepEqual([0, 2, 10, 10.5, 20, 45].map((r) => oracleWorkers(r, 10, 1, 3)), [1, 1, 1, 2, 2, 3]);
});

test('worker-seconds against the oracle and fixed sizes, and the return to the minimum', () => {
  const f = analyse(timeline(), shape);
  assert.equal(f.spanS, 30);
  // 1 worker for t = 1..7 and 27..30 (11 s), 2 for t = 8..26 (19 s).
  assert.equal(f.workerSeconds.autoscaled, 11 + 2 * 19);
  // The oracle runs 2 workers for t = 6..15 (10 s) and 1 otherwise.
  assert.equal(f.workerSeconds.oracle, 20 + 20);
  assert.equal(f.workerSeconds.fixedMin, 30);
  assert.equal(f.workerSeconds.fixedMax, 90);
  assert.equal(f.ratios.vsOracle, 49 / 40);
  assert.equal(f.backToMinAfterS, 7, 'at 1 worker from t = 27 on, the load stopped at 20');
  assert.equal(f.scaledUpAfterS, 3, 'two workers at t = 8, the step was at 5');
  // One worker falls behind by 10/s for 10 s.
  assert.equal(f.fixedMinPeakBacklog, 100);
});

test('lag: peak, first time back under 2 s of arrivals, and whether it stayed under', () => {
  const lag = (t: number) => ({ lag: t === 7 ? 50 : t === 8 ? 60 : t === 12 ? 45 : 5 });
  const f = analyse(timeline(lag), shape);
  assert.equal(f.peakLag, 60);
  assert.equal(f.peakLagSeconds, 3);
  assert.equal(f.lagBackUnderAfterS, 4, 'under 40 again at t = 9');
  assert.equal(f.lagRecoveredAfterS, 8, 'above again at 12, under for good from 13');

  assert.equal(analyse(timeline(() => ({ lag: 10 })), shape).lagBackUnderAfterS, 0, 'never above');
  const stuck = analyse(timeline((t) => ({ lag: t >= 7 ? 100 : 0 })), shape);
  assert.equal(stuck.lagBackUnderAfterS, null);
  assert.equal(stuck.lagRecoveredAfterS, null);
  const notBack = analyse(timeline(() => ({ workers: 2 })), shape);
  assert.equal(notBack.backToMinAfterS, null, 'still above the minimum at the end of the timeline');
});
