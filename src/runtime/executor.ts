// Runs a job's records: its setup and close, the context each run() gets, the worker pool, the concurrency limit, and what it returns turned into records to produce.
import { availableParallelism } from 'node:os';
import { Semaphore } from '../common/index.ts';
import { JobError, UsageError } from '../errors/index.ts';
import type { JobContext, JobDefinition, JobRecord, SetupContext, WorkerRunner } from '../job/index.ts';
import { toOutgoing } from './outputs.ts';
import type { OutgoingRecord } from './sink.ts';
import { WorkerPool, type WorkerPoolOptions, type WorkerPoolStats } from './worker-pool.ts';

export interface ExecutorOptions {
  /** Default output topic (`--to`). */
  to: string;
  /**
   * Records that may be in run() at once before their first worker call (downloads, API calls...), at most. The
   * autoscaler moves the limit between 4 and this by Little's law. Default 64.
   */
  maxConcurrency: number;
  /** The limit to start with. Default: maxConcurrency. */
  concurrency: number;
  /** The worker pool of a job with a `worker` module. Defaults: all cores, 1 kept when idle, 60 s idle timeout. */
  workers: Partial<WorkerPoolOptions>;
}

export const defaultExecutorOptions = { maxConcurrency: 64 } as const;

/** The concurrency limit's gauges and counters. */
export interface ConcurrencyStats {
  /** The current limit. */
  limit: number;
  max: number;
  /** Records in run() now, before their first worker call. */
  active: number;
  /** Records waiting for the limit. */
  queued: number;
  /** Time records spent in run() before their first worker call (or its end), summed, ms. */
  busyMs: number;
  /** Records whose run() returned or threw. */
  runs: number;
}

export interface ExecutorStats {
  concurrency: ConcurrencyStats;
  /** Undefined for a job without a worker module. */
  workers: WorkerPoolStats | undefined;
  /** The job's own gauges. */
  job: Record<string, number>;
}

const NO_WORKER = (name: string): WorkerRunner => ({
  run: () => Promise.reject(new JobError('JOB_FAILED', `job "${name}" called ctx.worker.run() but names no worker module (add worker: new URL('./worker.ts', import.meta.url))`)),
});

export function defaultWorkerPoolOptions(): WorkerPoolOptions {
  const cores = availableParallelism();
  return { workers: cores, maxWorkers: cores, minWorkers: 1, idleTimeoutMs: 60_000 };
}

/**
 * One job's execution engine, independent of Kafka: `run(record)` gives the records to produce or throws the job's
 * error. Its worker pool and concurrency limit are resized by the caller's autoscaler through setWorkers and
 * setConcurrency.
 */
export class JobExecutor {
  readonly job: JobDefinition;
  readonly #to: string;
  readonly #allowed: ReadonlySet<string>;
  readonly #pool: WorkerPool | undefined;
  readonly #io: Semaphore;
  readonly #maxConcurrency: number;
  readonly #noWorker: WorkerRunner;
  #ioBusyMs = 0;
  #runs = 0;
  #closed: Promise<void> | undefined;

  constructor(job: JobDefinition, o: Pick<ExecutorOptions, 'to'> & Partial<ExecutorOptions>) {
    this.job = job;
    this.#to = o.to;
    this.#allowed = new Set(job.outputs ?? []);
    const max = o.maxConcurrency ?? defaultExecutorOptions.maxConcurrency;
    if (!Number.isInteger(max) || max < 1) throw new UsageError(`option maxConcurrency must be an integer >= 1, got ${String(max)}`);
    const initial = o.concurrency ?? max;
    if (!Number.isInteger(initial) || initial < 1 || initial > max) throw new UsageError(`option concurrency must be an integer from 1 to maxConcurrency (${max}), got ${String(initial)}`);
    this.#maxConcurrency = max;
    this.#io = new Semaphore(initial);
    this.#noWorker = NO_WORKER(job.name);
    if (job.worker !== undefined) {
      const w = { ...defaultWorkerPoolOptions(), ...Object.fromEntries(Object.entries(o.workers ?? {}).filter(([, v]) => v !== undefined)) };
      if (o.workers?.workers === undefined && w.workers > w.maxWorkers) w.workers = w.maxWorkers;
      this.#pool = new WorkerPool(job.worker, w);
    }
  }

  /** Whether the job has a worker pool (whose size the autoscaler scales). */
  get hasWorkers(): boolean {
    return this.#pool !== undefined;
  }

  get maxConcurrency(): number {
    return this.#maxConcurrency;
  }

  /** Runs the job's setup, and checks that its worker module loads on a worker thread. */
  async setup(ctx: SetupContext): Promise<void> {
    await this.#pool?.check();
    await this.job.setup?.(ctx);
  }

  /** Tasks that may run on the worker pool at once (1..maxWorkers). No effect without a worker module. */
  setWorkers(n: number): void {
    this.#pool?.setWorkers(n);
  }

  /** Records that may be in run() at once before their first worker call (1..maxConcurrency). */
  setConcurrency(n: number): void {
    this.#io.setLimit(Math.max(1, Math.min(this.#maxConcurrency, Math.round(n))));
  }

  /**
   * Runs the job for one record: waits for the concurrency limit, calls run(), and turns its result into records.
   * A record holds its concurrency slot from the start of run() until its first worker call (or the end of run()):
   * the limit bounds the I/O that feeds the workers (downloads, API calls), not the CPU work, whose limit is the
   * number of workers. (Taking a slot again after the worker answered could deadlock a job whose records wait, slot
   * in hand, for something that a record returning from its worker frees.)
   */
  async run(record: JobRecord, attempt: number, signal: AbortSignal): Promise<readonly OutgoingRecord[]> {
    const io = this.#io;
    await io.acquire(signal);
    let holding = true;
    const since = performance.now();
    const release = () => {
      if (!holding) return;
      holding = false;
      this.#ioBusyMs += performance.now() - since;
      io.release();
    };
    const pool = this.#pool;
    const worker: WorkerRunner = pool
      ? {
          run: async <TResult,>(task: unknown, options?: Parameters<WorkerRunner['run']>[1]): Promise<TResult> => {
            release();
            return (await pool.run(task, options, signal)) as TResult;
          },
        }
      : this.#noWorker;
    const ctx: JobContext = { attempt, signal, worker };
    try {
      const result = await this.job.run(record, ctx);
      return toOutgoing(result, record, this.#to, this.#allowed);
    } finally {
      this.#runs += 1;
      release();
    }
  }

  /** Extra fields of a record's dead letter, from the job (a failure there only loses the fields). */
  deadLetterFields(record: JobRecord): Readonly<Record<string, unknown>> | undefined {
    try {
      return this.job.deadLetterFields?.(record);
    } catch {
      return undefined;
    }
  }

  stats(): ExecutorStats {
    let job: Record<string, number> = {};
    try {
      job = { ...this.job.stats?.() };
    } catch {
      // A job's gauges are advisory.
    }
    return {
      concurrency: { limit: this.#io.limit, max: this.#maxConcurrency, active: this.#io.active, queued: this.#io.waiting, busyMs: this.#ioBusyMs, runs: this.#runs },
      workers: this.#pool?.stats(),
      job,
    };
  }

  /** Calls the job's close, then stops the worker threads. Twice is safe. */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      try {
        await this.job.close?.();
      } finally {
        await this.#pool?.close();
      }
    })();
    return this.#closed;
  }
}
