// The public job contract: what a job module default-exports, what its run() receives and returns.

/** Headers of a record: name → value, decoded as UTF-8 (a repeated name keeps its last value). */
export type RecordHeaders = Readonly<Record<string, string>>;

/** One input record, as the job sees it. */
export interface JobRecord {
  readonly topic: string;
  readonly partition: number;
  readonly offset: bigint;
  /** Milliseconds since the epoch, as the producer (or the broker) stamped it. */
  readonly timestamp: bigint;
  /** The key decoded as UTF-8, or undefined when the record has none. */
  readonly key: string | undefined;
  /** The value's bytes (empty for a record with a null value). */
  readonly value: Buffer;
  readonly headers: RecordHeaders;
  /** The value decoded as UTF-8. */
  text(): string;
  /** The value parsed as JSON. Throws JobError INVALID_MESSAGE (a dead letter, not retried) when it is not JSON. */
  json<T = unknown>(): T;
}

/** One record to produce. Return it, an array of them, or nothing (null, undefined, []) from `run()`. */
export interface JobOutput {
  /** The record's value; null writes a tombstone. */
  value: string | Uint8Array | null;
  /** Default: the input record's key (so outputs stay in the input's partitioning). null: no key. */
  key?: string | Uint8Array | null;
  headers?: Readonly<Record<string, string | Uint8Array>>;
  /** Default: the job's output topic (`--to`). Any other topic must be listed in the job's `outputs`. */
  topic?: string;
}

/** What `run()` may return: one output, several (fan-out), or none (filter). */
export type JobResult = JobOutput | readonly JobOutput[] | null | undefined | void;

export interface WorkerRunOptions {
  /** ArrayBuffers to move to the worker thread instead of copying them (they become unusable here). */
  transfer?: readonly ArrayBuffer[];
}

/**
 * The runtime's worker threads, sized by its autoscaler. `run(task)` calls the default export of the job's `worker`
 * module on a free thread with `task` (structured-cloned) and resolves with its return value (cloned back). A
 * JobError thrown there keeps its code and retryability; the call is aborted with the record (revocation, shutdown).
 * The first call gives back the record's concurrency slot: `--max-concurrency` bounds the I/O before the CPU work
 * (downloads, API calls), the number of workers bounds the CPU work.
 */
export interface WorkerRunner {
  run<TResult = unknown, TTask = unknown>(task: TTask, options?: WorkerRunOptions): Promise<TResult>;
}

/** The default export of a worker module: runs on a worker thread, one task at a time per thread. */
export type WorkerFunction<TTask = unknown, TResult = unknown> = (task: TTask) => TResult | Promise<TResult>;

export interface JobContext {
  /** 1 for the first attempt, 2 for the first retry, ... */
  readonly attempt: number;
  /**
   * Aborted when the record's partition is revoked (another member takes it over) or the process stops before the
   * record is done: stop the work; the record will be redone by its next owner, nothing is lost. Also aborted, with a
   * JobError RECORD_TIMEOUT as its reason, when this attempt passes the record's deadline (`--record-timeout`).
   */
  readonly signal: AbortSignal;
  /** The runtime's worker pool (jobs with a `worker` module; rejects with JobError JOB_FAILED otherwise). */
  readonly worker: WorkerRunner;
}

export interface SetupContext {
  /** The input topic (`--from`). */
  readonly from: string;
  /** The default output topic (`--to`). */
  readonly to: string;
  /** The dead-letter topic (`--dlq`). */
  readonly dlq: string;
  /** The consumer group (`--group`). */
  readonly group: string;
}

/** An output record as the dashboard reads it back from its topic, for {@link JobDefinition.preview}. */
export interface OutputView {
  readonly topic: string;
  /** The key decoded as UTF-8, or undefined when the record has none. */
  readonly key: string | undefined;
  /** The value decoded as UTF-8 (empty for a tombstone). */
  readonly value: string;
}

/**
 * How the dashboard shows one output record, under "Latest outputs". Every field is optional and shown as text (never
 * markup); what is not of the right shape is left out, long strings are cut.
 */
export interface OutputPreview {
  /** A heading, for example the record's id. Default: the record's key. */
  readonly title?: string;
  /** An http(s) URL of a picture to show (loaded by the browser, with no referrer). */
  readonly image?: string;
  /** Colours as `#rrggbb`, shown as swatches (at most 64). */
  readonly swatches?: readonly string[];
  /** Name → value lines (at most 12). */
  readonly fields?: Readonly<Record<string, string>>;
}

/**
 * A job: the runtime consumes `--from`, calls `run()` for each record (many at once, unless `--ordering` says
 * otherwise), produces what it returns, retries retryable failures, dead-letters the others, and commits only
 * records that are done.
 */
export interface JobDefinition {
  /** Shown in logs, `lagless status` and metrics. Letters, digits, '.', '_' and '-'. */
  readonly name: string;
  /**
   * A module whose default export (a WorkerFunction) runs CPU-heavy work on the runtime's worker threads through
   * `ctx.worker.run(task)`: a file URL (`new URL('./worker.ts', import.meta.url)`) or an absolute path. The runtime
   * owns the pool and scales its threads with the load (`--min-workers`/`--max-workers`). Default: none.
   */
  readonly worker?: URL | string;
  /**
   * The job's own default per-record deadline, ms: how long one attempt of a record (its run(), with its worker calls,
   * not counting the time they wait for a free worker thread) may take. Past it, ctx.signal aborts, a worker task
   * still running is stopped (its thread replaced), and the attempt fails with RECORD_TIMEOUT, retried up to
   * `--attempts`, then dead-lettered. `--record-timeout` overrides it. Default: 5 minutes.
   */
  readonly timeoutMs?: number;
  /** Topics besides `--to` that outputs may name in `topic`. Created like `--to` at start. Default: none. */
  readonly outputs?: readonly string[];
  /** Once per process, before the first record: open clients, load models. A rejection stops the process. */
  setup?(ctx: SetupContext): void | Promise<void>;
  /**
   * Once per record (again for each retry). Throw `JobError(code, message, { retryable, retryAfterMs })` to fail it
   * with a code of your own; anything else thrown (any value at all) becomes JOB_FAILED (not retried).
   */
  run(record: JobRecord, ctx: JobContext): JobResult | Promise<JobResult>;
  /**
   * Fields added at the top of this record's dead letters (for example its id), next to error, source and original:
   * an object of JSON values, at most 16 KiB of JSON. When it throws or returns anything else, the dead letter goes
   * without them and its `fieldsError` says why.
   */
  deadLetterFields?(record: JobRecord): Readonly<Record<string, unknown>> | undefined;
  /**
   * How the dashboard shows one of the job's output records (it runs in the process serving the dashboard, for the
   * latest outputs only). Without it, or when it throws or returns undefined, the dashboard shows the record's key and
   * the start of its value (top-level fields of a JSON object, each cut short).
   */
  preview?(output: OutputView): OutputPreview | undefined;
  /** Gauges of the job's own (e.g. bytes buffered), read when the runtime's stats are (`stats().job`). */
  stats?(): Readonly<Record<string, number>>;
  /** Once, when the process stops, after the last record: close what setup opened. */
  close?(): void | Promise<void>;
}
