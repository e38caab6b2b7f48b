// The stream-processing runtime: a consumer-group member that runs a job per record, in parallel, losing nothing.
export { Transformer } from './transformer.ts';
export {
  defaultTransformerOptions,
  defaultCommitIntervalMs,
  Guarantees,
  type Guarantee,
  validateTransformerOptions,
  resolveTransformerOptions,
  GroupProtocols,
  type GroupProtocol,
  GroupTypes,
  type GroupType,
  type TransformerOptions,
  type TransformerInit,
  type Ordering,
  OrderingModes,
} from './options.ts';
export {
  RunOptionTable,
  OptionLayers,
  optionKeys,
  optionRows,
  validateOptions,
  acceptsValue,
  expectation,
  type RunOptionKey,
  type OptionKeyOf,
  type OptionSpec,
  type OptionKind,
  type OptionLayer,
} from './option-table.ts';
export { type TransformerStats, type TransformerEvents, type RecordOutcome, type LagSample, type CloseSummary } from './types.ts';
export { JobExecutor, DEFAULT_RECORD_TIMEOUT_MS, DEAD_LETTER_FIELDS_BYTES, defaultExecutorOptions, defaultWorkerPoolOptions, type ExecutorOptions, type ExecutorStats, type ConcurrencyStats } from './executor.ts';
export { WorkerPool, type WorkerPoolOptions, type WorkerPoolStats } from './worker-pool.ts';
export { toOutgoing } from './outputs.ts';
export { deadLetter, minimalDeadLetter, toRecordError, DEAD_LETTER_LIMITS, type DeadLetter } from './dead-letter.ts';
export { OutputSink, type OutgoingRecord, type SinkOptions } from './sink.ts';
