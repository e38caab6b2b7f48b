// The autoscaling loop: samples cumulative counters every tick, turns them into windowed rates, asks the pure policy, applies its decision.
import { decide, initialScalingState, type ScalingDecision, type ScalingMetrics, type ScalingState } from './policy.ts';
import type { ScalingOptions } from './options.ts';

/** Cumulative counters and gauges read at one moment; rates are derived from two samples. */
export interface ScalingSample {
  /** ms, monotonic within the process. */
  at: number;
  /** Sum of the log-end offsets of the partitions measured (its growth is the arrival rate). */
  logEnd: number;
  /** Which partitions `logEnd` covers: when it changes (a rebalance), older samples are not comparable. */
  scope: string;
  /** Records behind (log-end minus committed). */
  lag: number;
  /** Records finished so far (outputs and dead letters). */
  completed: number;
  /** Busy time of the units so far, in unit-milliseconds. */
  busyMs: number;
  /** Tasks the units finished so far (for the service rate per unit). */
  tasks: number;
  /**
   * Records inside the lag that need no more work: finished, waiting for their commit. The policy's backlog is
   * lag minus this (records still in Kafka plus fetched records not yet processed).
   */
  inFlight: number;
  /** Units active now. */
  units: number;
}

export interface AutoscalerOptions {
  policy: ScalingOptions;
  /** Rates are measured over this window (a 1 s window at 150/s is ±8% noise). Default 5 s. */
  windowMs?: number;
  /**
   * The arrival rate is also measured over this shorter window; scaling up uses the larger of the two, so a step is
   * answered at the next tick instead of after the long window has filled. Default 2 s.
   */
  recentWindowMs?: number;
  sample: () => Promise<ScalingSample>;
  /** Applies a decision (resize the worker semaphore, start or stop replicas). */
  apply: (decision: ScalingDecision) => void | Promise<void>;
  /** Called after every decision; `decision.changed` says whether it is a scale event to log. */
  onDecision?: (decision: ScalingDecision, metrics: ScalingMetrics) => void;
  onError?: (err: Error) => void;
  now?: () => number;
}

export class Autoscaler {
  readonly #o: AutoscalerOptions;
  readonly #windowMs: number;
  readonly #recentWindowMs: number;
  #samples: ScalingSample[] = [];
  #state: ScalingState;
  #last: { decision: ScalingDecision; metrics: ScalingMetrics } | undefined;
  #timer: NodeJS.Timeout | undefined;
  #ticking = false;

  constructor(o: AutoscalerOptions, initialUnits: number) {
    this.#o = o;
    this.#windowMs = o.windowMs ?? 5000;
    this.#recentWindowMs = Math.min(this.#windowMs, o.recentWindowMs ?? 2000);
    this.#state = initialScalingState(o.policy, (o.now ? o.now() : performance.now()), initialUnits);
  }

  get last(): { decision: ScalingDecision; metrics: ScalingMetrics } | undefined {
    return this.#last;
  }

  /**
   * Metrics from the newest sample and the oldest one inside the window with the same scope; the arrival rate also
   * over `recentWindowMs` when given (`arrivalRateRecent`).
   */
  static metricsFrom(samples: readonly ScalingSample[], windowMs: number, recentWindowMs?: number): ScalingMetrics | undefined {
    const cur = samples.at(-1);
    if (!cur) return undefined;
    const oldestWithin = (ms: number): ScalingSample | undefined => samples.find((s) => s !== cur && s.scope === cur.scope && cur.at - s.at <= ms);
    const base = oldestWithin(windowMs);
    const recent = recentWindowMs === undefined ? undefined : oldestWithin(recentWindowMs);
    const dt = base ? (cur.at - base.at) / 1000 : 0;
    const d = (f: (s: ScalingSample) => number) => (base && dt > 0 ? (f(cur) - f(base)) / dt : 0);
    const busySeconds = base ? (cur.busyMs - base.busyMs) / 1000 : 0;
    const tasks = base ? cur.tasks - base.tasks : 0;
    const units = Math.max(cur.units, 1);
    return {
      now: cur.at,
      arrivalRate: Math.max(0, d((s) => s.logEnd)),
      arrivalRateRecent: recent && cur.at > recent.at ? Math.max(0, ((cur.logEnd - recent.logEnd) * 1000) / (cur.at - recent.at)) : undefined,
      rateWindowMs: windowMs,
      completionRate: Math.max(0, d((s) => s.completed)),
      // Only trust a service rate measured over a meaningful amount of busy time.
      servicePerUnit: busySeconds >= 0.2 && tasks > 0 ? tasks / busySeconds : undefined,
      lag: cur.lag,
      inFlight: cur.inFlight,
      utilization: dt > 0 ? Math.min(1, Math.max(0, busySeconds / (dt * units))) : 0,
      current: cur.units,
    };
  }

  /** One sampling and decision. Exposed for tests and for callers with their own clock. */
  async tick(): Promise<ScalingDecision | undefined> {
    if (this.#ticking) return undefined;
    this.#ticking = true;
    try {
      const s = await this.#o.sample();
      this.#samples.push(s);
      const horizon = s.at - this.#windowMs - 1000;
      while (this.#samples.length > 2 && this.#samples[0]!.at < horizon) this.#samples.shift();
      const metrics = Autoscaler.metricsFrom(this.#samples, this.#windowMs, this.#recentWindowMs);
      if (!metrics) return undefined;
      const decision = decide(metrics, this.#state, this.#o.policy);
      this.#state = decision.state;
      this.#last = { decision, metrics };
      if (decision.changed || decision.desired !== s.units) await this.#o.apply(decision);
      this.#o.onDecision?.(decision, metrics);
      return decision;
    } catch (err) {
      this.#o.onError?.(err as Error);
      return undefined;
    } finally {
      this.#ticking = false;
    }
  }

  start(intervalMs = 1000): void {
    this.#timer = setInterval(() => void this.tick(), intervalMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
