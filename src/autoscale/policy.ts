// The autoscaling policy: a pure function from measured rates, lag and the previous state to the wanted number of units.
import type { ScalingOptions } from './options.ts';

/**
 * What the caller measured, once per tick (e.g. every second). Rates are records/s over a recent window (the tick or
 * a few ticks). For worker threads a "unit" is one worker; for replicas it is one process and the service rate is
 * that of a whole replica (its workers × the service rate per worker). Non-finite or negative rates count as 0.
 */
export interface ScalingMetrics {
  /** Time of the measurement, ms on any monotonic clock. The policy never reads a clock itself. */
  now: number;
  /** Records/s entering the assigned partitions (growth of their log-end offsets). */
  arrivalRate: number;
  /**
   * The same over a shorter, more recent window (e.g. the last two ticks), or undefined. Scaling up uses the larger
   * of the two, so a step in the load is answered at the next tick at its full height instead of as the average of
   * the old and new rates; scaling down uses `arrivalRate` only, so a noisy tick never holds units.
   */
  arrivalRateRecent?: number | undefined;
  /**
   * How far back the rates reach, ms (the caller's averaging window), or undefined. A need measured less than this
   * after a surplus began still averages in the load from before it: the scale-down level leaves it out.
   */
  rateWindowMs?: number | undefined;
  /** Records/s finished (processed or dead-lettered). */
  completionRate: number;
  /**
   * Records/s that ONE busy unit completes: tasks finished / busy-seconds. Undefined or 0 before any task finished:
   * the policy then derives it from completionRate / (utilization × current), or uses the last value it saw, then
   * `servicePerUnitPrior`, and otherwise scales on utilisation and backlog alone.
   */
  servicePerUnit?: number | undefined;
  /** Records behind: log-end offset minus committed offset, summed over the assigned partitions (what Kafka reports). */
  lag: number;
  /**
   * Records inside `lag` that need no more work: finished, waiting for their commit. `lag − inFlight` is the backlog
   * (records still in Kafka plus fetched records not yet processed). The runtime passes window − unfinished.
   */
  inFlight: number;
  /** Busy fraction of the active units over the last tick, 0..1. */
  utilization: number;
  /** Units active now (started and working). */
  current: number;
}

/** What the policy remembers between ticks. Plain data: it can be logged, published and compared. */
export interface ScalingState {
  /** The count wanted by the last decision. */
  readonly desired: number;
  /** When `desired` last changed, ms. */
  readonly since: number;
  /** When the current uninterrupted surplus began, or undefined if there is none. */
  readonly surplusSince: number | undefined;
  /**
   * Largest count the arrivals needed (at scaleDownUtilization) during the current surplus, leaving out its first
   * rate window: the floor of the next scale-down (with the need of the deciding tick, backlog included).
   */
  readonly surplusNeed: number;
  /** Last measured or derived service rate per unit, used while no new measurement arrives (e.g. all units idle). */
  readonly servicePerUnit: number | undefined;
  /** The lag of the previous tick, to say whether it is rising. */
  readonly lastLag: number | undefined;
}

export const ScalingActions = ['up', 'down', 'hold'] as const;
export type ScalingAction = (typeof ScalingActions)[number];

/** Where the service rate used by a decision came from. */
export const ServiceSources = ['measured', 'derived', 'remembered', 'prior', 'unknown'] as const;
export type ServiceSource = (typeof ServiceSources)[number];

/** The numbers a decision used, for logs, `lagless status` and tests. */
export interface ScalingDetail {
  action: ScalingAction;
  /** Records/s per busy unit used, or undefined when unknown (then the policy scaled on utilisation). */
  servicePerUnit: number | undefined;
  serviceSource: ServiceSource;
  /** lag − inFlight: records still to process (in Kafka, or fetched and not finished). */
  backlog: number;
  /** Records/s wanted: arrivalRate + backlog / catchUp. Undefined when the service rate is unknown. */
  demand: number | undefined;
  /** Records/s the current units complete when fully busy: current × servicePerUnit. */
  capacity: number | undefined;
  /** Units the demand keeps fully busy (fractional): demand / servicePerUnit, or utilization × current. */
  busyUnits: number;
  /** Units needed: the arrivals at targetUtilization or the demand at 100%, whichever is more; before min/max and speed. */
  needUp: number;
  /** Units needed at scaleDownUtilization (never fewer than the busy units measured now), before min/max. */
  needDown: number;
  /** Most units this decision could add (upscaling speed). */
  stepLimit: number;
  /** How long the current surplus has lasted, ms (0 if none). */
  surplusMs: number;
  /**
   * Records/s the wanted count is meant to sustain: min(demand, desired × servicePerUnit), or the larger of the
   * arrival and completion rates when the service rate is unknown. Feed it to `suggestIoConcurrency`.
   */
  targetRate: number;
}

export interface ScalingDecision {
  /** Units wanted now, within minUnits..maxUnits. */
  desired: number;
  /** One readable line, e.g. `scale up 1→3: lag 900 rising, arrival 140/s > capacity 60/s, need 5 workers`. */
  reason: string;
  /** True when `desired` differs from the previous decision's: log the reason once, on change. */
  changed: boolean;
  /** Pass this to the next call. */
  state: ScalingState;
  detail: ScalingDetail;
}

/** The state before the first decision: `units` active (default minUnits), no surplus, nothing measured yet. */
export function initialScalingState(options: ScalingOptions, now: number, units: number = options.minUnits): ScalingState {
  return {
    desired: Math.min(options.maxUnits, Math.max(options.minUnits, Math.round(units))),
    since: now,
    surplusSince: undefined,
    surplusNeed: 0,
    servicePerUnit: undefined,
    lastLag: undefined,
  };
}

// A derived service rate is only trusted when the units were busy enough for the ratio to mean something.
const MIN_UTILIZATION_TO_DERIVE = 0.1;
// ceil() of values such as 3.0000000000000004 (float noise from rate arithmetic) must stay 3.
const ceil = (x: number): number => Math.max(0, Math.ceil(x - 1e-9));
// Inputs are measurements: NaN, negative or absurd values are clamped so that no decision divides into Infinity.
const MAX_RATE = 1e12;
const MIN_SERVICE_RATE = 1e-6;
const rate = (v: number | undefined): number => (typeof v === 'number' && Number.isFinite(v) && v > 0 ? Math.min(v, MAX_RATE) : 0);
const serviceRate = (v: number | undefined): number | undefined => (rate(v) >= MIN_SERVICE_RATE ? rate(v) : undefined);

/**
 * Decides how many units to run. Pure and deterministic: the same inputs give the same decision, nothing is read
 * from the clock or the environment, and the inputs are not modified. `options` must be valid
 * (`resolveScalingOptions`). With a service rate s:
 *
 *   demand   = arrivalRate + max(0, lag − inFlight) / catchUp
 *   needUp   = max(ceil(arrivalRate / (s × targetUtilization)), ceil(demand / s))
 *   needDown = max(ceil(demand / (s × scaleDownUtilization)), ceil(utilization × current / scaleDownUtilization))
 *
 * (needUp takes the larger of arrivalRate and arrivalRateRecent.) Up: at once when needUp > current, to at most
 * current + max(minUpscalingStep, ceil(upscalingSpeed × current)) units, counted from the units active now, so units
 * still starting count against the limit, like Ray's pending launches (units asked for earlier and still starting are
 * kept while needed). Down: only once needDown < current has held for idleTimeout without a break, straight to the
 * largest need of the arrivals seen during that time (ceil(arrivalRate / (s × scaleDownUtilization)), leaving out
 * needs measured within the first rateWindowMs, which still average in the load from before the surplus), or the
 * deciding tick's needDown if more. Between the two thresholds the count holds (hysteresis), units still
 * starting included: a one-tick dip never cancels them. Always within minUnits..maxUnits.
 */
export function decide(metrics: ScalingMetrics, state: ScalingState, options: ScalingOptions): ScalingDecision {
  const o = options;
  const now = metrics.now;
  if (!Number.isFinite(now)) throw new RangeError(`metrics.now must be a finite number of ms, got ${now}`);
  if (!Number.isFinite(metrics.current) || metrics.current < 0) {
    throw new RangeError(`metrics.current must be a number of units >= 0, got ${metrics.current}`);
  }
  const current = Math.round(metrics.current);
  const arrival = rate(metrics.arrivalRate);
  // Up follows a step at once (the recent rate); down only trusts the whole window.
  const arrivalUp = Math.max(arrival, rate(metrics.arrivalRateRecent));
  const settleMs = Math.max(0, rate(metrics.rateWindowMs));
  const completion = rate(metrics.completionRate);
  const lag = rate(metrics.lag);
  const utilization = Math.min(1, rate(metrics.utilization));
  const backlog = Math.max(0, lag - rate(metrics.inFlight));

  // The service rate: a fresh measurement beats a derived one, which beats memory, which beats the prior.
  const derived = current > 0 && utilization >= MIN_UTILIZATION_TO_DERIVE ? serviceRate(completion / (utilization * current)) : undefined;
  let s: number | undefined;
  let source: ServiceSource;
  if ((s = serviceRate(metrics.servicePerUnit)) !== undefined) source = 'measured';
  else if ((s = derived) !== undefined) source = 'derived';
  else if ((s = serviceRate(state.servicePerUnit)) !== undefined) source = 'remembered';
  else if ((s = serviceRate(o.servicePerUnitPrior)) !== undefined) source = 'prior';
  else source = 'unknown';

  const measuredBusy = utilization * current;
  let demand: number | undefined;
  let busyUnits: number;
  let needUp: number;
  let needDown: number;
  // The need of the steady arrivals alone, at scaleDownUtilization: what a scale-down is sized for. A backlog is
  // catch-up, not load (its arrivals are in the arrival rate already), and a utilisation averaged over the rate window
  // still counts the busy time of the drain after it is over; both count only on the tick that decides.
  let steadyDown: number;
  let busyUp: number;
  if (s !== undefined) {
    const drain = backlog / (o.catchUpMs / 1000);
    demand = arrival + drain;
    busyUnits = demand / s;
    const demandUp = arrivalUp + drain;
    busyUp = demandUp / s;
    steadyDown = ceil(arrival / s / o.scaleDownUtilization);
    // Headroom is kept for the steady arrivals; draining a backlog may use it. Otherwise the lag left by a rebalance
    // (which every scale event of replicas causes) would ask for another scale event, and so on.
    needUp = Math.max(ceil(arrivalUp / s / o.targetUtilization), ceil(demandUp / s));
    // Units still busy (e.g. on records already fetched) are not surplus, whatever the rates say.
    needDown = Math.max(ceil(busyUnits / o.scaleDownUtilization), ceil(measuredBusy / o.scaleDownUtilization));
  } else {
    // No service rate yet: scale like HPA on utilisation, and like Ray on queued work (each waiting record asks
    // for a unit, within the speed limit) when the units are saturated. Never scale down with a backlog.
    busyUnits = measuredBusy;
    busyUp = measuredBusy;
    needUp = ceil(measuredBusy / o.targetUtilization);
    if (backlog > 0 && (current === 0 || utilization >= o.targetUtilization)) needUp = Math.max(needUp, current + ceil(backlog));
    needDown = ceil(measuredBusy / o.scaleDownUtilization);
    if (backlog > 0) needDown = Math.max(needDown, current);
    steadyDown = needDown;
  }

  const lo = o.minUnits;
  const hi = o.maxUnits;
  const stepLimit = Math.max(o.minUpscalingStep, ceil(o.upscalingSpeed * current));
  const upTarget = Math.min(hi, Math.max(lo, needUp));

  // Units asked for earlier and still starting (a replica process) are kept through a dip: only a surplus that lasts
  // idleTimeout takes them back, like any other unit.
  const starting = Math.max(current, Math.min(hi, state.desired));
  let desired = current;
  let action: ScalingAction = 'hold';
  let why: string;
  let surplusSince: number | undefined;
  let surplusNeed = 0;

  if (current > hi) {
    desired = hi;
    action = 'down';
    why = `above the maximum ${hi}`;
  } else if (current < lo) {
    desired = Math.max(lo, Math.min(upTarget, current + stepLimit));
    action = 'up';
    why = `below the minimum ${lo}`;
  } else if (upTarget > current) {
    // The step counts from the units working now, like Ray's limit on pending launches; units asked for earlier
    // and still starting are kept while they are needed.
    desired = Math.max(starting, Math.min(upTarget, current + stepLimit));
    action = 'up';
    why = desired < upTarget ? `upscaling speed allows +${stepLimit}` : '';
  } else if (needDown < current && current > lo) {
    surplusSince = state.surplusSince ?? now;
    const idleMs = now - surplusSince;
    surplusNeed = state.surplusSince === undefined ? 0 : state.surplusNeed;
    // A need measured in the surplus's first rate window still averages in the load from before it (e.g. 3 replicas'
    // worth while the arrivals have already fallen to 1's): it is left out of the level, unless the whole idle
    // timeout is shorter than that window.
    if (idleMs >= Math.min(settleMs, o.idleTimeoutMs)) surplusNeed = Math.max(surplusNeed, steadyDown);
    if (idleMs >= o.idleTimeoutMs) {
      desired = Math.min(current, Math.max(lo, surplusNeed, needDown));
      action = desired < current ? 'down' : 'hold';
      why = `idle for ${fmtSeconds(idleMs)}`;
      surplusSince = undefined;
      surplusNeed = 0;
    } else {
      desired = starting;
      why = `idle for ${fmtSeconds(idleMs)} of ${fmtSeconds(o.idleTimeoutMs)}`;
    }
  } else {
    desired = starting;
    why = current === hi && needUp > hi ? 'at the maximum' : current === lo && needDown < current ? 'at the minimum' : '';
  }

  const surplusMs = surplusSince === undefined ? 0 : now - surplusSince;
  const targetRate = s !== undefined && demand !== undefined ? Math.min(demand, desired * s) : Math.max(arrival, completion);
  const detail: ScalingDetail = {
    action,
    servicePerUnit: s,
    serviceSource: source,
    backlog,
    demand,
    capacity: s === undefined ? undefined : current * s,
    busyUnits,
    needUp,
    needDown,
    stepLimit,
    surplusMs,
    targetRate,
  };
  const changed = desired !== state.desired;
  const nextState: ScalingState = {
    desired,
    since: changed ? now : state.since,
    surplusSince,
    surplusNeed,
    servicePerUnit: source === 'measured' || source === 'derived' ? s : state.servicePerUnit,
    lastLag: lag,
  };
  const reason = formatReason(action, current, desired, why, { lag, lastLag: state.lastLag, arrival, arrivalUp, busyUp, utilization, detail }, o);
  return { desired, reason, changed, state: nextState, detail };
}

interface ReasonFacts {
  lag: number;
  lastLag: number | undefined;
  arrival: number;
  /** The larger of the window's and the recent arrival rate, and the units it keeps busy with the backlog. */
  arrivalUp: number;
  busyUp: number;
  utilization: number;
  detail: ScalingDetail;
}

function formatReason(action: ScalingAction, current: number, desired: number, why: string, f: ReasonFacts, o: ScalingOptions): string {
  const head = action === 'hold' ? `hold ${current}${desired > current ? ` (+${desired - current} starting)` : ''}` : `scale ${action} ${current}→${desired}`;
  const d = f.detail;
  const facts: string[] = [];
  if (why) facts.push(why);
  if (f.lag > 0) {
    const trend = f.lastLag === undefined || f.lag === f.lastLag ? '' : f.lag > f.lastLag ? ' rising' : ' falling';
    facts.push(`lag ${fmtCount(f.lag)}${trend}`);
  }
  if (d.capacity !== undefined) {
    // Going up on the recent arrival rate: say so, with the need it gives.
    const recent = action === 'up' && f.arrivalUp > f.arrival;
    const a = recent ? f.arrivalUp : f.arrival;
    facts.push(`arrival ${recent ? `${fmtRate(f.arrival)}, recently ${fmtRate(a)}` : fmtRate(a)} ${a > d.capacity ? '>' : '≤'} capacity ${fmtRate(d.capacity)}`);
    facts.push(`need ${fmtUnits(recent ? f.busyUp : d.busyUnits)} ${o.unitName}`);
  } else {
    facts.push(`service rate unknown, utilisation ${Math.round(f.utilization * 100)}%`);
  }
  return `${head}: ${facts.join(', ')}`;
}

const fmtSeconds = (ms: number): string => `${Math.round(ms / 100) / 10}s`;
const fmtCount = (n: number): string => String(Math.round(n));
const fmtRate = (r: number): string => `${r >= 10 ? Math.round(r) : Math.round(r * 10) / 10}/s`;
const fmtUnits = (n: number): string => (Number.isInteger(n) ? String(n) : n.toFixed(1));
