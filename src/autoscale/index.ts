// Autoscaling: a pure policy that turns measured rates and lag into a number of workers or replicas, and download concurrency.
export { decide, initialScalingState, ScalingActions, ServiceSources } from './policy.ts';
export type { ScalingAction, ScalingDecision, ScalingDetail, ScalingMetrics, ScalingState, ServiceSource } from './policy.ts';
export { defaultScalingOptions, resolveScalingOptions, validateScalingOptions } from './options.ts';
export type { ScalingOptions } from './options.ts';
export { defaultIoConcurrencyOptions, suggestIoConcurrency, validateIoConcurrencyOptions } from './io-concurrency.ts';
export type { IoConcurrencyOptions } from './io-concurrency.ts';
export { Autoscaler, type AutoscalerOptions, type ScalingSample } from './controller.ts';
