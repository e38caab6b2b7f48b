// The autoscaling targets (docs/autoscaling.md) checked on the deterministic simulator (no clocks); the figures are printed as diagnostics.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { resolveScalingOptions, type ScalingOptions } from '../../src/autoscale/index.ts';
import { seededRandom, simulate, stepProfile, stepResponse, type SimulationResult } from './simulate.ts';

const SERVICE = 40; // records/s per worker
const workers = resolveScalingOptions({ minUnits: 1, maxUnits: 10, unitName: 'workers' }); // defaults otherwise
const UP = 60; // s: 10/s before, 150/s from here
const DOWN = 660; // s: the load stops here (10 minutes at 150/s)
const END = DOWN + 120;

const ratio = (r: SimulationResult) => r.unitSeconds / r.oracleUnitSeconds;
const fmt = (x: number) => (Number.isFinite(x) ? String(Math.round(x * 1000) / 1000) : String(x));

/** What the policy itself aims at in steady state: ceil(arrival / (s × targetUtilization)) within the bounds. */
function headroomUnitSeconds(r: SimulationResult, s: number, o: ScalingOptions): number {
  return r.ticks.reduce((sum, k) => sum + Math.min(o.maxUnits, Math.max(o.minUnits, Math.ceil(k.arrival / (s * o.targetUtilization) - 1e-9))), 0);
}

test('step 10 → 150/s with 40/s per worker: lag under 2 s of arrivals within 30 s, back at min within idleTimeout + 15 s', (t) => {
  const r = simulate({ arrival: stepProfile(10, 150, UP, DOWN, 0), servicePerUnit: SERVICE, seconds: END, scaling: workers });
  const s = stepResponse(r, UP, DOWN, SERVICE, workers.minUnits);
  t.diagnostic(`workers: ${JSON.stringify(s)}; worker-seconds ${r.unitSeconds} vs oracle ${r.oracleUnitSeconds} (${fmt(ratio(r))}×)`);
  for (const k of r.ticks.filter((k) => k.decision.changed)) t.diagnostic(`t=${k.t + 1}s ${k.decision.reason}`);

  assert.ok(s.lagRecoveredAfter <= 30, `lag recovered after ${s.lagRecoveredAfter} s`);
  assert.ok(s.backToMinAfter <= workers.idleTimeoutMs / 1000 + 15, `back at min after ${s.backToMinAfter} s`);
  assert.ok(s.backToMinAfter >= workers.idleTimeoutMs / 1000, 'not before the idle timeout');
  assert.ok(s.capacityReachedAfter <= Math.ceil(Math.log2(4 / 1)) + 1, `capacity after ${s.capacityReachedAfter} ticks`);
  assert.equal(s.settledUnits, 5, 'ceil(150 / (40 × 0.85)) = 5 workers');
  assert.equal(r.directionChanges, 1, 'up, then down once');
  // Worker-seconds: what the headroom costs (5 workers where the oracle runs 4) plus the idle tail (4 surplus workers
  // for idleTimeout) and nothing else; the ramp up is cheaper than the catch-up it replaces.
  const tail = (s.settledUnits - workers.minUnits) * (workers.idleTimeoutMs / 1000 + 1);
  assert.ok(r.unitSeconds <= headroomUnitSeconds(r, SERVICE, workers) + tail, `${r.unitSeconds} worker-seconds`);
});

test('worker-seconds ≤ 1.3× the oracle over a 30-minute varying load (stated profile), 40/s per worker', (t) => {
  // Minutes at each rate (records/s): 2 at 10, 8 at 150, 4 at 60, 6 at 150, 3 at 100, 5 at 20, 2 at 0.
  const segments: Array<[number, number]> = [[2, 10], [8, 150], [4, 60], [6, 150], [3, 100], [5, 20], [2, 0]];
  const arrival = (second: number) => {
    let minute = second / 60;
    for (const [length, rate] of segments) {
      if (minute < length) return rate;
      minute -= length;
    }
    return 0;
  };
  const r = simulate({ arrival, servicePerUnit: SERVICE, seconds: 30 * 60, scaling: workers });
  t.diagnostic(`varying load: worker-seconds ${r.unitSeconds} vs oracle ${r.oracleUnitSeconds} = ${fmt(ratio(r))}×; peak lag ${r.peakLag}; ${r.directionChanges} direction changes`);
  assert.ok(ratio(r) <= 1.3, `${fmt(ratio(r))}×`);
  assert.ok(r.ticks.every((k) => k.lag <= 2 * Math.max(k.arrival, 10)), 'lag never above 2 s of arrivals');
});

test('sensitivity (the figures for the docs): each service rate settles at its headroom target; longer high phases cost no more per unit of work; replicas settle with catchUp 30 s and cascade with 10 s and a 5 s pause', (t) => {
  for (const s of [30, 40, 50, 60, 75, 100]) {
    const r = simulate({ arrival: stepProfile(10, 150, UP, DOWN, 0), servicePerUnit: s, seconds: END, scaling: workers });
    const sr = stepResponse(r, UP, DOWN, s, 1);
    t.diagnostic(`service ${s}/s: settled ${sr.settledUnits} workers (oracle ${Math.ceil(150 / s)}), peak lag ${sr.peakLag}, ratio ${fmt(ratio(r))}`);
    assert.equal(sr.settledUnits, Math.min(workers.maxUnits, Math.ceil(150 / (s * workers.targetUtilization) - 1e-9)), `service ${s}/s: settled at ceil(150 / (s × targetUtilization))`);
    assert.ok(Number.isFinite(sr.backToMinAfter), `service ${s}/s: back at min`);
  }
  const ratios: number[] = [];
  for (const minutes of [2, 5, 10, 15, 30]) {
    const down = UP + minutes * 60;
    const r = simulate({ arrival: stepProfile(10, 150, UP, down, 0), servicePerUnit: SERVICE, seconds: down + 120, scaling: workers });
    t.diagnostic(`high phase ${minutes} min: ratio ${fmt(ratio(r))}`);
    ratios.push(ratio(r));
  }
  for (let i = 1; i < ratios.length; i += 1) assert.ok(ratios[i]! <= ratios[i - 1]! + 1e-9, `the idle tail costs less the longer the high phase: ${ratios.map(fmt).join(', ')}`);
  for (const [catchUpMs, delay, pause] of [[10_000, 0, 0], [10_000, 5, 3], [10_000, 5, 5], [30_000, 5, 3], [30_000, 5, 5]] as const) {
    const replicas = resolveScalingOptions({ minUnits: 1, maxUnits: 10, catchUpMs, unitName: 'replicas' });
    const r = simulate({ arrival: stepProfile(10, 150, UP, DOWN, 0), servicePerUnit: SERVICE, seconds: END, scaling: replicas, startDelayTicks: delay, pauseTicksOnChange: pause });
    const sr = stepResponse(r, UP, DOWN, SERVICE, 1);
    const changes = r.ticks.filter((k) => k.decision.changed).length;
    t.diagnostic(
      `catchUp ${catchUpMs / 1000}s, start ${delay}s, rebalance pause ${pause}s: peak lag ${sr.peakLag}, lag < 2 s after ${sr.lagRecoveredAfter}s, ` +
        `capacity after ${sr.capacityReachedAfter}s, peak ${sr.peakUnits}, settled ${sr.settledUnits}, ${changes} scale events, min after ${sr.backToMinAfter}s, ratio ${fmt(ratio(r))}`,
    );
    // docs/autoscaling.md: with catchUp 10 s a 5 s pause per scale event cascades (it stays at the maximum); 30 s does not.
    const cascades = catchUpMs === 10_000 && pause === 5;
    if (cascades) assert.equal(sr.settledUnits, replicas.maxUnits, 'catchUp 10 s with a 5 s rebalance pause cascades to the maximum (why replicas use 30 s)');
    else assert.equal(sr.settledUnits, 5, `catchUp ${catchUpMs / 1000}s, start ${delay}s, pause ${pause}s: settled at ceil(150 / (40 × 0.85))`);
    assert.ok(Number.isFinite(sr.lagRecoveredAfter) && Number.isFinite(sr.backToMinAfter), 'the lag recovers and the replicas come back to min');
  }
});

test('replicas: with catchUp 30 s, a 5 s start and a 3 s rebalance pause per scale event do not cascade', () => {
  const replicas = resolveScalingOptions({ minUnits: 1, maxUnits: 10, catchUpMs: 30_000, unitName: 'replicas' });
  const r = simulate({ arrival: stepProfile(10, 150, UP, DOWN, 0), servicePerUnit: SERVICE, seconds: END, scaling: replicas, startDelayTicks: 5, pauseTicksOnChange: 3 });
  const s = stepResponse(r, UP, DOWN, SERVICE, 1);
  assert.equal(s.settledUnits, 5);
  assert.ok(s.lagRecoveredAfter <= 60, `${s.lagRecoveredAfter}`);
  assert.ok(s.backToMinAfter <= replicas.idleTimeoutMs / 1000 + 15);
  assert.ok(r.ticks.filter((k) => k.decision.changed).length <= 8);
});

test('noise beyond the guaranteed band: ±15% and ±30% on the measured arrival rate, 50 seeds × 30 min, ≤ 1 direction change', (t) => {
  for (const amplitude of [0.15, 0.3]) {
    let worst = 0;
    for (let seed = 1; seed <= 50; seed++) {
      const random = seededRandom(seed);
      const arrival = 5 + random() * 600;
      const service = 10 + Math.floor(random() * 90);
      const noise = (a: number) => () => 1 + a * (2 * random() - 1);
      const r = simulate({ arrival: () => arrival, servicePerUnit: service, seconds: 1800, scaling: resolveScalingOptions({ maxUnits: 64 }), arrivalNoise: noise(amplitude), serviceNoise: noise(0.02) });
      worst = Math.max(worst, r.directionChanges);
    }
    t.diagnostic(`arrival noise ±${amplitude * 100}%: at most ${worst} direction changes over 50 runs`);
    assert.ok(worst <= 1, `±${amplitude * 100}%: ${worst}`);
  }
});
