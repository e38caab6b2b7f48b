// What a job is: an async function from one input record to one output record, which signals failure with LaglessErrors.
export interface JobInput {
  topic: string;
  partition: number;
  offset: bigint;
  key: string | undefined;
  /** The record's value, UTF-8. */
  value: string;
  timestamp: bigint;
}

export interface JobOutput {
  key: string | undefined;
  value: string;
}

export interface JobContext {
  /** 1 for the first attempt. */
  attempt: number;
  /** Aborted when the record's partition is revoked or the runtime is destroyed: stop work, the record will be redone. */
  signal: AbortSignal;
}

/**
 * A job runs once per record (again on retryable failures). It throws a LaglessError: retryable codes are retried with
 * backoff, the others (and UnrecoverableError) send the record to the dead-letter topic with that code.
 */
export interface Job {
  readonly name: string;
  run(input: JobInput, ctx: JobContext): Promise<JobOutput>;
  /** Point-in-time gauges for status and autoscaling (e.g. downloads in flight, CPU workers busy). */
  stats?(): Record<string, number>;
  close(): Promise<void>;
}
