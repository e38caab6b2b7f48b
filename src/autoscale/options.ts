// Autoscaling options: bounds, idle timeout, catch-up target, utilisation band, upscaling speed; defaults and validation.
import { UsageError } from '../errors/index.ts';

/**
 * Knobs of the autoscaling policy. A "unit" is whatever the caller scales: CPU worker threads inside one process
 * (`unitName: 'workers'`) or replica processes of a consumer group (`unitName: 'replicas'`). All rates are records/s.
 */
export interface ScalingOptions {
  /** Fewest units, kept even when idle (Ray's `min_workers`, KEDA's `minReplicaCount`). 0 allows scale to zero. Default 1. */
  minUnits: number;
  /** Most units (Ray's `max_workers`). For workers the runtime passes the core count; for replicas, at most the partition count is useful. Default 10. */
  maxUnits: number;
  /**
   * Scale down only after a surplus of units has lasted this long without interruption (Ray's `idle_timeout_minutes`;
   * the seed used 1 min). Any tick without a surplus restarts the clock. Default 60 000 ms.
   */
  idleTimeoutMs: number;
  /**
   * A backlog waiting in Kafka should be drained within this time: it adds `backlog / catchUp` to the demanded rate.
   * Shorter drains faster but adds more units for a short while. For replicas keep it at least 6× the rebalance
   * pause (about 30 s), or the lag a rebalance leaves behind asks for the next scale event. Default 10 000 ms.
   */
  catchUpMs: number;
  /** Size for this busy fraction of each unit when scaling up: 0.85 keeps 15% headroom for bursts. In (0, 1]. Default 0.85. */
  targetUtilization: number;
  /**
   * Hysteresis: scale down only to a count that would run at or below this utilisation, so a scale-down never lands
   * where the next tick would scale up again. Below `targetUtilization`; the count holds while utilisation stays
   * between the two. Default 0.75.
   */
  scaleDownUtilization: number;
  /**
   * Like Ray's `upscaling_speed`: one decision asks for at most `max(minUpscalingStep, ceil(upscalingSpeed × current))`
   * units beyond the `current` active now (units still starting count against it, like Ray's pending launches).
   * 1.0 lets the count double every tick; 0.5 grows it by half. > 0. Default 1.0.
   */
  upscalingSpeed: number;
  /**
   * The fewest units a scale-up may add at once, whatever `upscalingSpeed × current` says: Ray allows at least 5
   * pending launches, Kubernetes' HPA at least 4 pods per period. 1 suits worker threads (they start in
   * milliseconds and the count doubles every tick); replicas use more, since a process takes seconds to start and
   * join, and adding them one at a time leaves the next decision waiting for the previous start. Integer >= 1. Default 1.
   */
  minUpscalingStep: number;
  /**
   * Records/s one busy unit completes, assumed until the caller measures it (then the measurement wins and is
   * remembered). Undefined: until a measurement exists the policy scales on utilisation and backlog alone. Default undefined.
   */
  servicePerUnitPrior: number | undefined;
  /** Word used for units in decision reasons, e.g. 'workers' or 'replicas'. Default 'units'. */
  unitName: string;
}

export const defaultScalingOptions: Readonly<ScalingOptions> = Object.freeze({
  minUnits: 1,
  maxUnits: 10,
  idleTimeoutMs: 60_000,
  catchUpMs: 10_000,
  targetUtilization: 0.85,
  scaleDownUtilization: 0.75,
  upscalingSpeed: 1,
  minUpscalingStep: 1,
  servicePerUnitPrior: undefined,
  unitName: 'units',
});

const fail = (field: string, rule: string, value: unknown): never => {
  throw new UsageError(`autoscaling option ${field} must be ${rule}, got ${JSON.stringify(value)}`);
};

const isNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isCount = (v: unknown): v is number => isNumber(v) && Number.isInteger(v) && v >= 0;

/** Throws UsageError naming the first bad field; returns the options unchanged when they are valid. */
export function validateScalingOptions(options: ScalingOptions): ScalingOptions {
  const o = options;
  if (!isCount(o.minUnits)) fail('minUnits', 'an integer >= 0', o.minUnits);
  if (!isCount(o.maxUnits) || o.maxUnits < 1) fail('maxUnits', 'an integer >= 1', o.maxUnits);
  if (o.minUnits > o.maxUnits) fail('minUnits', `at most maxUnits (${o.maxUnits})`, o.minUnits);
  if (!isNumber(o.idleTimeoutMs) || o.idleTimeoutMs < 0) fail('idleTimeoutMs', 'a number of milliseconds >= 0', o.idleTimeoutMs);
  if (!isNumber(o.catchUpMs) || o.catchUpMs <= 0) fail('catchUpMs', 'a number of milliseconds > 0', o.catchUpMs);
  if (!isNumber(o.targetUtilization) || o.targetUtilization <= 0 || o.targetUtilization > 1) {
    fail('targetUtilization', 'a number in (0, 1]', o.targetUtilization);
  }
  if (!isNumber(o.scaleDownUtilization) || o.scaleDownUtilization <= 0 || o.scaleDownUtilization >= o.targetUtilization) {
    fail('scaleDownUtilization', `a number > 0 and below targetUtilization (${o.targetUtilization})`, o.scaleDownUtilization);
  }
  if (!isNumber(o.upscalingSpeed) || o.upscalingSpeed <= 0) fail('upscalingSpeed', 'a number > 0', o.upscalingSpeed);
  if (!isCount(o.minUpscalingStep) || o.minUpscalingStep < 1) fail('minUpscalingStep', 'an integer >= 1', o.minUpscalingStep);
  if (o.servicePerUnitPrior !== undefined && (!isNumber(o.servicePerUnitPrior) || o.servicePerUnitPrior <= 0)) {
    fail('servicePerUnitPrior', 'undefined or a number of records/s > 0', o.servicePerUnitPrior);
  }
  if (typeof o.unitName !== 'string' || o.unitName.trim() === '') fail('unitName', 'a non-empty string', o.unitName);
  return o;
}

/** Merges `options` over the defaults (undefined fields keep the default) and validates once. */
export function resolveScalingOptions(options: Partial<ScalingOptions> = {}): ScalingOptions {
  const given = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
  return validateScalingOptions({ ...defaultScalingOptions, ...given });
}
