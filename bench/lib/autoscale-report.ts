// The autoscaling benchmark's figures from a per-second timeline: peak lag, recovery, return to the minimum, worker-seconds vs an oracle.

/** One sample of the run, about every second. Times are seconds since the load started. */
export interface TimelinePoint {
  t: number;
  /** The load profile's rate at t (records/s): what an oracle knows in advance. */
  scheduled: number;
  /** Measured: growth of the input topic's log-end offsets, records/s. */
  arrival: number;
  /** Measured: growth of the runner's outputs + dead letters, records/s. */
  completion: number;
  /** Log-end minus committed offsets of the group (what Kafka tools and KEDA see), records. */
  lag: number;
  /** Units working: CPU workers allowed to run (lagless_workers_active), or replica processes holding partitions. */
  workers: number;
  /** The policy's wish (lagless_desired_workers), or null before its first decision. */
  wish: number | null;
  /** ceil(scheduled / capacity per worker) within min..max. */
  oracle: number;
  /** CPU-seconds per second used by the runner process (all its threads). */
  cpu: number;
  /** CPU-seconds per second used by the whole machine (every process: broker, source, other users), or null if unknown. */
  machineCpu: number | null;
}

export interface ScaleEvent {
  /** Seconds since the load started. */
  t: number;
  line: string;
}

export interface RunShape {
  /** Records/s one worker completes, measured alone before the run. */
  capacityPerWorker: number;
  minWorkers: number;
  maxWorkers: number;
  /** When the step up starts and ends, and when the load stops (s since the load started). */
  stepAt: number;
  stepEnd: number;
  stopAt: number;
  highRate: number;
  idleTimeoutS: number;
}

export interface AutoscaleFigures {
  peakLag: number;
  /** Peak lag in seconds of the step's arrivals (peakLag / highRate). */
  peakLagSeconds: number;
  /** Seconds from the step until the lag is first back under 2 s of arrivals (2 × highRate); 0 when it never went above; null if never. */
  lagBackUnderAfterS: number | null;
  /**
   * Seconds from the step until the lag is under 2 s of arrivals for the rest of the step (stricter); 0 when it never
   * went above; null when it was still above at the end of the step.
   */
  lagRecoveredAfterS: number | null;
  /** Seconds from the step until the workers reached the oracle's count for the step; null if never. */
  scaledUpAfterS: number | null;
  /** Seconds from the end of the load until the workers are at the minimum for good; null if not by the end of the timeline. */
  backToMinAfterS: number | null;
  /** Seconds of timeline the worker-seconds cover. */
  spanS: number;
  workerSeconds: { autoscaled: number; oracle: number; fixedMin: number; fixedMax: number };
  ratios: { vsOracle: number; vsFixedMin: number; vsFixedMax: number };
  /** Backlog a fixed minimum would have built (fluid model on the scheduled load), records. */
  fixedMinPeakBacklog: number;
}

/** Width of sample i in seconds: half the gaps to its neighbours (the timeline is sampled about every second). */
function widths(points: readonly TimelinePoint[]): number[] {
  return points.map((p, i) => {
    const prev = i > 0 ? points[i - 1]!.t : p.t - (points[1] ? points[1].t - p.t : 1);
    const next = i < points.length - 1 ? points[i + 1]!.t : p.t + (p.t - prev);
    return (next - prev) / 2;
  });
}

export function oracleWorkers(rate: number, capacityPerWorker: number, min: number, max: number): number {
  return Math.min(max, Math.max(min, Math.ceil(rate / capacityPerWorker - 1e-9)));
}

export function analyse(points: readonly TimelinePoint[], shape: RunShape): AutoscaleFigures {
  const w = widths(points);
  const span = w.reduce((a, b) => a + b, 0);
  const sum = (f: (p: TimelinePoint) => number) => points.reduce((a, p, i) => a + f(p) * w[i]!, 0);
  const autoscaled = sum((p) => p.workers);
  const oracle = sum((p) => p.oracle);
  const fixedMin = shape.minWorkers * span;
  const fixedMax = shape.maxWorkers * span;

  const peakLag = Math.max(0, ...points.map((p) => p.lag));
  const during = points.filter((p) => p.t >= shape.stepAt && p.t < shape.stepEnd);
  const threshold = 2 * shape.highRate;
  let lagRecoveredAfterS: number | null = 0;
  const lastAbove = during.findLastIndex((p) => p.lag >= threshold);
  if (lastAbove === during.length - 1 && during.length > 0) lagRecoveredAfterS = null;
  else if (lastAbove >= 0) lagRecoveredAfterS = during[lastAbove + 1]!.t - shape.stepAt;

  const firstAbove = during.findIndex((p) => p.lag >= threshold);
  const backUnder = firstAbove < 0 ? undefined : during.slice(firstAbove).find((p) => p.lag < threshold);
  const lagBackUnderAfterS = firstAbove < 0 ? 0 : backUnder ? backUnder.t - shape.stepAt : null;

  const stepNeed = oracleWorkers(shape.highRate, shape.capacityPerWorker, shape.minWorkers, shape.maxWorkers);
  const reached = during.find((p) => p.workers >= stepNeed);
  const scaledUpAfterS = reached ? reached.t - shape.stepAt : null;

  const after = points.filter((p) => p.t >= shape.stopAt);
  const lastNotMin = after.findLastIndex((p) => p.workers !== shape.minWorkers);
  const backToMinAfterS =
    after.length === 0 || lastNotMin === after.length - 1 ? null : lastNotMin < 0 ? 0 : after[lastNotMin + 1]!.t - shape.stopAt;

  let backlog = 0;
  let fixedMinPeakBacklog = 0;
  points.forEach((p, i) => {
    backlog = Math.max(0, backlog + (p.scheduled - shape.minWorkers * shape.capacityPerWorker) * w[i]!);
    fixedMinPeakBacklog = Math.max(fixedMinPeakBacklog, backlog);
  });

  return {
    peakLag,
    peakLagSeconds: peakLag / shape.highRate,
    lagBackUnderAfterS,
    lagRecoveredAfterS,
    scaledUpAfterS,
    backToMinAfterS,
    spanS: span,
    workerSeconds: { autoscaled, oracle, fixedMin, fixedMax },
    ratios: { vsOracle: autoscaled / oracle, vsFixedMin: autoscaled / fixedMin, vsFixedMax: autoscaled / fixedMax },
    fixedMinPeakBacklog,
  };
}
