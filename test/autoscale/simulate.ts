// Discrete-time simulator for the autoscaling policy: a queue fed by an arrival profile, drained by units × service rate.
import { decide, initialScalingState, type ScalingDecision, type ScalingOptions } from '../../src/autoscale/index.ts';
export { seededRandom } from '../../faults/lib/rng.ts';

export interface SimulationOptions {
  /** Records/s arriving during second t (t = 0, 1, 2, ...). */
  arrival: (t: number) => number;
  /** Records/s one busy unit completes (the truth; the policy sees a measurement of it). */
  servicePerUnit: number;
  /** Length of the run in seconds (one tick per second). */
  seconds: number;
  scaling: ScalingOptions;
  /** Units active at t = 0. Default scaling.minUnits. */
  initialUnits?: number;
  /** Ticks between asking for a unit and that unit working (process start + rebalance for replicas). Default 0. */
  startDelayTicks?: number;
  /** Factor on the arrival rate the policy sees at tick t (measurement noise). Default 1. */
  arrivalNoise?: (t: number) => number;
  /** Factor on the service rate the policy sees at tick t. Default 1. */
  serviceNoise?: (t: number) => number;
  /** Report servicePerUnit to the policy after a tick with completions. Default true. */
  reportService?: boolean;
  /** Ticks in which nothing is served after the working count changes (a consumer-group rebalance). Default 0. */
  pauseTicksOnChange?: number;
}

export interface SimulationTick {
  t: number;
  arrival: number;
  /** Units working during this tick. */
  units: number;
  /** Units asked for but still starting during this tick (paid for, not yet working). */
  starting: number;
  /** Records waiting at the end of the tick. */
  lag: number;
  served: number;
  /** The policy's decision at the end of the tick (applies from the next tick). */
  decision: ScalingDecision;
  oracle: number;
}

export interface SimulationResult {
  ticks: SimulationTick[];
  /** Σ (working + starting units) × 1 s. */
  unitSeconds: number;
  /** Σ oracle units × 1 s, where oracle(t) = ceil(arrival(t) / servicePerUnit) within min..max. */
  oracleUnitSeconds: number;
  peakLag: number;
  /** Times the scaling direction reversed (up then down, or down then up); holds do not count. */
  directionChanges: number;
}

/** Units an oracle that knows the load would run in second t: just enough capacity, within the bounds. */
export function oracleUnits(arrival: number, servicePerUnit: number, options: ScalingOptions): number {
  return Math.min(options.maxUnits, Math.max(options.minUnits, Math.ceil(arrival / servicePerUnit - 1e-9)));
}

export function simulate(o: SimulationOptions): SimulationResult {
  const delay = o.startDelayTicks ?? 0;
  let active = o.initialUnits ?? o.scaling.minUnits;
  let pending: Array<{ readyAt: number; count: number }> = [];
  let state = initialScalingState(o.scaling, 0, active);
  let queue = 0;
  let unitSeconds = 0;
  let oracleUnitSeconds = 0;
  let peakLag = 0;
  let pausedUntil = 0;
  let lastDirection: 'up' | 'down' | undefined;
  let directionChanges = 0;
  const ticks: SimulationTick[] = [];

  for (let t = 0; t < o.seconds; t++) {
    const before = active;
    for (const p of pending) if (p.readyAt <= t) active += p.count;
    pending = pending.filter((p) => p.readyAt > t);
    const starting = pending.reduce((n, p) => n + p.count, 0);
    if (active !== before) pausedUntil = t + (o.pauseTicksOnChange ?? 0);

    const arrival = o.arrival(t);
    queue += arrival;
    const served = t < pausedUntil ? 0 : Math.min(queue, active * o.servicePerUnit);
    queue -= served;
    peakLag = Math.max(peakLag, queue);
    unitSeconds += active + starting;
    const oracle = oracleUnits(arrival, o.servicePerUnit, o.scaling);
    oracleUnitSeconds += oracle;

    const decision = decide(
      {
        now: (t + 1) * 1000,
        arrivalRate: arrival * (o.arrivalNoise?.(t) ?? 1),
        completionRate: served,
        servicePerUnit: (o.reportService ?? true) && served > 0 ? o.servicePerUnit * (o.serviceNoise?.(t) ?? 1) : undefined,
        lag: queue,
        inFlight: 0,
        utilization: active > 0 ? served / (active * o.servicePerUnit) : 0,
        current: active,
      },
      state,
      o.scaling,
    );
    state = decision.state;
    ticks.push({ t, arrival, units: active, starting, lag: queue, served, decision, oracle });

    const action = decision.detail.action;
    if (action !== 'hold') {
      if (lastDirection !== undefined && action !== lastDirection) directionChanges++;
      lastDirection = action;
    }

    // Apply: fewer units take effect at once (pending starts are cancelled first); more units start after the delay.
    const target = decision.desired;
    if (target < active + starting) {
      let cut = active + starting - target;
      for (let i = pending.length - 1; i >= 0 && cut > 0; i--) {
        const take = Math.min(cut, pending[i]!.count);
        pending[i]!.count -= take;
        cut -= take;
      }
      pending = pending.filter((p) => p.count > 0);
      if (cut > 0) pausedUntil = t + 1 + (o.pauseTicksOnChange ?? 0);
      active -= cut;
    } else if (target > active + starting) {
      pending.push({ readyAt: t + 1 + delay, count: target - active - starting });
    }
  }
  return { ticks, unitSeconds, oracleUnitSeconds, peakLag, directionChanges };
}

/** A load that is `low` until `upAt`, `high` until `downAt`, then `after` (seconds). */
export function stepProfile(low: number, high: number, upAt: number, downAt: number, after = 0): (t: number) => number {
  return (t) => (t < upAt ? low : t < downAt ? high : after);
}

export interface StepResponse {
  /** Largest lag after the step up, records. */
  peakLag: number;
  /** Seconds after the step up until the lag is back under 2 s of arrivals (first time after its peak; 0 if it never exceeded that). */
  lagRecoveredAfter: number;
  /** Seconds after the step up until the units first give capacity ≥ the arrival rate. */
  capacityReachedAfter: number;
  /** Most units during the high phase. */
  peakUnits: number;
  /** Units at the end of the high phase. */
  settledUnits: number;
  /** Seconds after the load stops until the units are back at the minimum (and stay there). */
  backToMinAfter: number;
}

/** Reads the step-response figures out of a run of `stepProfile(low, high, upAt, downAt)`. */
export function stepResponse(r: SimulationResult, upAt: number, downAt: number, servicePerUnit: number, minUnits: number): StepResponse {
  const high = r.ticks.filter((k) => k.t >= upAt && k.t < downAt);
  const peakLag = Math.max(0, ...high.map((k) => k.lag));
  const peakAt = high.find((k) => k.lag === peakLag)!.t;
  const recovered = high.find((k) => k.t >= peakAt && k.lag <= 2 * k.arrival);
  const reached = high.find((k) => k.units * servicePerUnit >= k.arrival);
  let lastAboveMin = downAt - 1;
  for (const k of r.ticks) if (k.t >= downAt && k.units + k.starting > minUnits) lastAboveMin = k.t;
  return {
    peakLag,
    lagRecoveredAfter: high.every((k) => k.lag <= 2 * k.arrival) ? 0 : recovered === undefined ? Number.POSITIVE_INFINITY : recovered.t - upAt,
    capacityReachedAfter: reached === undefined ? Number.POSITIVE_INFINITY : reached.t - upAt,
    peakUnits: Math.max(...high.map((k) => k.units + k.starting)),
    settledUnits: high.at(-1)!.units,
    backToMinAfter: lastAboveMin + 1 - downAt,
  };
}
