// What the transformer reports: its statistics, its events, and the summary of its close.
import type { JobRecord } from '../job/index.ts';
import type { TopicLag } from '../kafka/index.ts';
import type { ConcurrencyStats } from './executor.ts';
import type { ExactlyOnceStats } from './exactly-once.ts';
import type { Guarantee } from './options.ts';
import type { OutgoingRecord } from './sink.ts';
import type { WorkerPoolStats } from './worker-pool.ts';

/** Counters since start; gauges are current values. */
export interface TransformerStats {
  /** Records taken from the input (duplicates from redelivery excluded). */
  received: number;
  /** Records whose output was acknowledged. */
  succeeded: number;
  /** Records whose dead letter was acknowledged. */
  deadLettered: number;
  /** Retries scheduled. */
  retries: number;
  /** Attempts that ran past the per-record deadline (RECORD_TIMEOUT). */
  timeouts: number;
  /** Worker threads that died under a task (WORKER_CRASHED) and were replaced. */
  workerCrashes: number;
  /** Redelivered records skipped because they were already in the window. */
  duplicatesSkipped: number;
  /** Records abandoned because their partition was revoked or the runtime stopped (they will be redone). */
  abandoned: number;
  /** Outputs and dead letters given up at shutdown without the broker's acknowledgement (their records are redone). */
  unacknowledged: number;
  /**
   * Records of released partitions left to the next owner before they produced anything (not finished here, not
   * committed, so processed once, by the next owner).
   */
  handedOver: number;
  /** Partitions released (given up after finishing, committing and handing over their records). */
  released: number;
  /** Offsets committed (commit requests that succeeded). */
  commits: number;
  /** Gauge: records started and not finished. */
  inFlight: number;
  /** Gauge: records fetched and not finished (started, retrying, or waiting for their turn). */
  unfinished: number;
  /** Gauge: records in the window (fetched, not committed). */
  windowSize: number;
  /** Gauge: the intake is paused because the window is full. */
  paused: boolean;
  /** Gauge: records the client has fetched that wait in its buffer (while paused, they wait for room in the window). */
  buffered: number;
  /** Gauge: the client's stream died (e.g. the broker went away) and the member is joining the group again. */
  reconnecting: boolean;
  /** Gauge: partitions assigned to this member. */
  assigned: { topic: string; partition: number }[];
  /** Sum of processing time (start to acknowledged output) over finished records, ms. */
  busyMs: number;
  /** The concurrency limit of run() (before their first worker call). */
  concurrency: ConcurrencyStats;
  /** The worker pool, for a job with a worker module. */
  workers: WorkerPoolStats | undefined;
  /** The job's own gauges (its stats()). */
  job: Record<string, number>;
  /** The guarantee in force. */
  guarantee: Guarantee;
  /** exactly-once: transactions and the transactional id. */
  transactions?: ExactlyOnceStats & { transactionalId: string | undefined };
}

/** What close() gave up (all of it is redone by the next owner of the partitions: nothing is lost). */
export interface CloseSummary {
  /** Records still running at the drain deadline. */
  abandoned: number;
  /** Outputs and dead letters the broker had not acknowledged at the drain deadline. */
  unacknowledged: number;
  /** The final commit succeeded (or there was nothing to commit). */
  committed: boolean;
  /** The member left the group (false: its partitions move after the session timeout). */
  leftGroup: boolean;
}

/** The lag of this member's assigned partitions, with the time it was sampled (Date.now()). */
export interface LagSample extends TopicLag {
  at: number;
}

export type RecordOutcome =
  | { kind: 'ok'; input: JobRecord; outputs: readonly OutgoingRecord[]; durationMs: number; attempts: number }
  | { kind: 'dead'; input: JobRecord; durationMs: number; attempts: number; code: string; message: string };

export interface TransformerEvents {
  record: [RecordOutcome];
  retry: [{ input: JobRecord; attempt: number; delayMs: number; code: string; message: string }];
  rebalance: [{ assigned: number[]; revoked: number[]; generation: number }];
  commit: [{ offsets: { partition: number; offset: bigint }[] }];
  /** Something went wrong and is being handled (retried, reconnected); the CLI logs it. */
  warning: [Error];
}
