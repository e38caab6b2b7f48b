// The public API of Lagless, what `import ... from 'lagless'` gives: define a job, fail a record with a code, embed the runtime.
// This module loads only the job contract and the errors; the runtime loads when createTransformer is called, so that
// job modules and worker threads that import 'lagless' stay light.
import type { JobDefinition } from './job/index.ts';
import type { JobTransformer, RunOptions } from './process/index.ts';

export { defineJob } from './job/index.ts';
export type {
  JobDefinition,
  JobRecord,
  JobContext,
  SetupContext,
  JobOutput,
  JobResult,
  RecordHeaders,
  WorkerRunner,
  WorkerRunOptions,
  WorkerFunction,
  OutputView,
  OutputPreview,
} from './job/index.ts';
export { JobError, UsageError, LaglessError, isLaglessError, errorFactory, WarningCodes, type WarningCode, type JobErrorOptions, type ErrorCodeTable, type LaglessErrorOptions } from './errors/index.ts';
export type { RunOptions, JobTransformer, JobTransformerEvents } from './process/index.ts';
export type { CloseSummary } from './runtime/index.ts';
export type { KafkaConnection } from './kafka/index.ts';
export type { TransformerStats, RecordOutcome, Ordering, Guarantee, ConcurrencyStats, WorkerPoolStats, OutgoingRecord } from './runtime/index.ts';

/**
 * Runs `job` in this process with the options of `lagless run` (validated now: a bad option rejects with a UsageError
 * naming it). Then `await t.start()`; on shutdown `await t.close()`.
 *
 *   const t = await createTransformer(job, { kafka: { brokers: ['127.0.0.1:9092'] }, from: 'orders', to: 'orders.enriched' });
 *   await t.start();
 */
export async function createTransformer(job: JobDefinition, options: RunOptions): Promise<JobTransformer> {
  const { JobRunner } = await import('./process/index.ts');
  return new JobRunner(job, options);
}
