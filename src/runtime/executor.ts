// Runs a job's records: its setup and close, the context each run() gets, the per-record deadline, the worker pool, the concurrency limit, and what it returns turned into records to produce.
import { availableParallelism } from 'node:os';
import { formatDuration, Semaphore } from '../common/index.ts';
import { describeThrown, isLaglessError, JobError, LaglessError, safeCause, UsageError } from '../errors/index.ts';
import type { JobContext, JobDefinition, JobRecord, JobResult, SetupContext, WorkerRunner } from '../job/index.ts';
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
  /**
   * How long one attempt of a record may take (its run(), with its worker calls but not the time it waits for a free
   * worker thread): past it, ctx.signal aborts, a worker task still running is stopped (its thread replaced), and the
   * attempt fails with RECORD_TIMEOUT (retryable). Default: the job's `timeoutMs`, else 5 minutes.
   */
  timeoutMs: number;
}

/** The per-record deadline when neither the runtime's option nor the job gives one. */
export const DEFAULT_RECORD_TIMEOUT_MS = 5 * 60_000;

export const defaultExecutorOptions = { maxConcurrency: 64, timeoutMs: DEFAULT_RECORD_TIMEOUT_MS } as const;

/** The JSON of a job's dead-letter fields, at most (characters): a dead letter must stay small whatever the job adds. */
export const DEAD_LETTER_FIELDS_BYTES = 16 * 1024;

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
  /** Attempts that ran past their deadline (RECORD_TIMEOUT). */
  timeouts: number;
  /** Worker threads that died under a task (WORKER_CRASHED) and were replaced. */
  workerCrashes: number;
  concurrency: ConcurrencyStats;
  /** Undefined for a job without a worker module. */
  workers: WorkerPoolStats | undefined;
  /** The job's own gauges. */
  job: Record<string, number>;
}

const NO_WORKER = (name: string): WorkerRunner => ({
  run: () => Promise.reject(new JobError('JOB_FAILED', `job "${name}" called ctx.worker.run() but names no worker module (add worker: new URL('./worker.ts', import.meta.url))`)),
});

/** The deadline sweep ticks at a tenth of the deadline, between 10 ms and 1 s (one timer for all records). */
const sweepEvery = (timeoutMs: number) => Math.max(10, Math.min(1000, Math.floor(timeoutMs / 10)));

/**
 * One attempt of one record: its deadline (pushed back while it waits for a worker thread), the signal its run() sees
 * (created on first use), and how to fail it from outside (its partition revoked, its deadline passed) when its run()
 * does not settle by itself.
 */
class Attempt {
  deadline: number;
  /** Worker calls of this attempt waiting for a free thread now, and since when (the deadline does not run then). */
  #waiting = 0;
  #waitingSince = 0;
  #controller: AbortController | undefined;
  #reason: unknown;
  #fail: ((reason: unknown) => void) | undefined;

  constructor(deadline: number) {
    this.deadline = deadline;
  }

  /** ctx.signal: aborted with the reason the attempt was ended for (RECORD_TIMEOUT, or the partition's). */
  get signal(): AbortSignal {
    if (!this.#controller) {
      this.#controller = new AbortController();
      if (this.#reason !== undefined) this.#controller.abort(this.#reason);
    }
    return this.#controller.signal;
  }

  get ended(): boolean {
    return this.#reason !== undefined;
  }

  get waiting(): boolean {
    return this.#waiting > 0;
  }

  /** Waits for `p` (what run() returned), unless the attempt is ended first. */
  race<T>(p: PromiseLike<T>): Promise<T> {
    if (this.#reason !== undefined) return Promise.reject(this.#reason);
    return new Promise<T>((resolve, reject) => {
      this.#fail = reject;
      // A thenable whose `then` throws rejects here, like any rejection of run().
      Promise.resolve(p).then(resolve, reject);
    });
  }

  /** Ends the attempt: ctx.signal aborts (stopping its worker task) and race() rejects with `reason`. */
  end(reason: unknown): void {
    if (this.#reason !== undefined) return;
    this.#reason = reason;
    this.#controller?.abort(reason);
    this.#fail?.(reason);
  }

  waitBegins(now: number): void {
    if (this.#waiting++ === 0) this.#waitingSince = now;
  }

  waitEnds(now: number): void {
    if (--this.#waiting === 0) this.deadline += now - this.#waitingSince;
  }
}

/**
 * The context of one attempt's run(): `signal` (and the Attempt that ends it) is made on first use, so that a job that
 * never reads it, and returns its result at once, costs no controller and no tracking.
 */
class RunContext implements JobContext {
  readonly attempt: number;
  worker: WorkerRunner;
  /** When the attempt took its concurrency slot; whether it still holds it. */
  readonly since: number;
  holding = true;
  readonly #deadline: number;
  #a: Attempt | undefined;

  constructor(attempt: number, since: number, deadline: number, worker: WorkerRunner) {
    this.attempt = attempt;
    this.since = since;
    this.#deadline = deadline;
    this.worker = worker;
  }

  get signal(): AbortSignal {
    return this.attemptState().signal;
  }

  attemptState(): Attempt {
    return (this.#a ??= new Attempt(this.#deadline));
  }
}

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
  /** The per-attempt deadline, ms. */
  readonly timeoutMs: number;
  /** Attempts whose run() has not settled, by the signal that ends them early (their partition's). */
  readonly #running = new Map<AbortSignal, { attempts: Set<Attempt>; onAbort: () => void }>();
  #sweep: NodeJS.Timeout | undefined;
  #ioBusyMs = 0;
  #runs = 0;
  #timeouts = 0;
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
    const timeoutMs = o.timeoutMs ?? job.timeoutMs ?? DEFAULT_RECORD_TIMEOUT_MS;
    if (!Number.isInteger(timeoutMs) || timeoutMs < 1) throw new UsageError(`option timeoutMs (the per-record deadline) must be an integer >= 1 ms, got ${String(timeoutMs)}`);
    this.timeoutMs = timeoutMs;
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

  /**
   * Runs the job's setup, and checks that its worker module loads on a worker thread. A UsageError from setup() stays
   * one (exit code 2: the job's configuration is wrong); anything else it throws becomes a LaglessError
   * JOB_SETUP_FAILED with a message that says what it was.
   */
  async setup(ctx: SetupContext): Promise<void> {
    await this.#pool?.check();
    try {
      await this.job.setup?.(ctx);
    } catch (err) {
      // A UsageError is the job's way to say its configuration is wrong (a missing variable): a usage error it stays.
      const usage = isLaglessError(err) && (() => { try { return err.code === 'USAGE'; } catch { return false; } })();
      if (usage) throw new UsageError(describeThrown(err), { cause: safeCause(err) });
      throw new LaglessError('JOB_SETUP_FAILED', `the setup() of job "${this.job.name}" failed: ${describeThrown(err)}`, { cause: safeCause(err) });
    }
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
   *
   * `signal` ends the attempt early (its partition revoked, the runtime stopping): run() is not waited for then, and
   * this rejects with the signal's reason. At the deadline (timeoutMs, not counting the time its worker calls wait for
   * a free thread) ctx.signal aborts, a worker task still running is stopped, and this rejects with RECORD_TIMEOUT.
   */
  async run(record: JobRecord, attempt: number, signal: AbortSignal): Promise<readonly OutgoingRecord[]> {
    return this.runNow(record, attempt, signal);
  }

  /**
   * run() without a promise where none is needed: the records themselves when the job's run() returned its result (not
   * a promise) and a concurrency slot was free; else a promise. Throws what a synchronous run() threw.
   */
  runNow(record: JobRecord, attempt: number, signal: AbortSignal): readonly OutgoingRecord[] | Promise<readonly OutgoingRecord[]> {
    if (signal.aborted) return Promise.reject(signal.reason);
    // The common case takes no promise: a free slot is taken at once, and a job whose run() returns its result (not a
    // promise) is done in this call. Only a job that throws synchronously makes this throw; the caller takes both.
    if (this.#io.tryAcquire()) return this.#runHolding(record, attempt, signal);
    return this.#io.acquire(signal).then(() => this.#runHolding(record, attempt, signal));
  }

  /** run() once its concurrency slot is held. */
  #runHolding(record: JobRecord, attempt: number, signal: AbortSignal): readonly OutgoingRecord[] | Promise<readonly OutgoingRecord[]> {
    const since = performance.now();
    const ctx = new RunContext(attempt, since, since + this.timeoutMs, this.#noWorker);
    const pool = this.#pool;
    if (pool) {
      ctx.worker = {
        run: async <TResult,>(task: unknown, options?: Parameters<WorkerRunner['run']>[1]): Promise<TResult> => {
          this.#releaseSlot(ctx);
          const a = ctx.attemptState();
          return (await pool.run(task, options, a.signal, a)) as TResult;
        },
      };
    }
    let returned: unknown;
    try {
      returned = this.job.run(record, ctx);
    } catch (err) {
      this.#settle(ctx);
      throw err;
    }
    // A result that is not a promise is taken as it is (no deadline to watch); anything thenable is raced against the
    // deadline and the partition (reading `then` may throw: a job failure like any other).
    let thenable: boolean;
    try {
      thenable = returned !== null && (typeof returned === 'object' || typeof returned === 'function') && typeof (returned as { then?: unknown }).then === 'function';
    } catch (err) {
      this.#settle(ctx);
      throw err;
    }
    if (thenable) return this.#awaitResult(record, ctx, signal, returned as PromiseLike<JobResult>);
    try {
      return toOutgoing(returned as JobResult, record, this.#to, this.#allowed);
    } finally {
      this.#settle(ctx);
    }
  }

  /** A run() that returned a promise: raced against the deadline and the partition's signal. */
  async #awaitResult(record: JobRecord, ctx: RunContext, signal: AbortSignal, returned: PromiseLike<JobResult>): Promise<readonly OutgoingRecord[]> {
    const a = ctx.attemptState();
    this.#track(signal, a);
    try {
      this.#startSweep();
      const result = await a.race(returned);
      return toOutgoing(result, record, this.#to, this.#allowed);
    } finally {
      this.#untrack(signal, a);
      this.#settle(ctx);
    }
  }

  /** Gives the record's concurrency slot back (once: at its first worker call, or when its run() ends). */
  #releaseSlot(ctx: RunContext): void {
    if (!ctx.holding) return;
    ctx.holding = false;
    this.#ioBusyMs += performance.now() - ctx.since;
    this.#io.release();
  }

  /** The attempt's run() ended (returned, threw, or was ended early). */
  #settle(ctx: RunContext): void {
    this.#runs += 1;
    this.#releaseSlot(ctx);
  }

  #track(signal: AbortSignal, a: Attempt): void {
    if (signal.aborted) {
      a.end(signal.reason);
      return;
    }
    let entry = this.#running.get(signal);
    if (!entry) {
      const attempts = new Set<Attempt>();
      const onAbort = () => {
        this.#running.delete(signal);
        for (const x of attempts) x.end(signal.reason);
      };
      entry = { attempts, onAbort };
      this.#running.set(signal, entry);
      // One listener per partition signal for all its attempts (a listener per attempt makes adding them quadratic).
      signal.addEventListener('abort', onAbort, { once: true });
    }
    entry.attempts.add(a);
  }

  #untrack(signal: AbortSignal, a: Attempt): void {
    const entry = this.#running.get(signal);
    if (!entry?.attempts.delete(a) || entry.attempts.size > 0) return;
    this.#running.delete(signal);
    signal.removeEventListener('abort', entry.onAbort);
  }

  /** The deadline sweep runs while the executor is open: one timer for all attempts, not one per record. */
  #startSweep(): void {
    if (this.#sweep || this.#closed) return;
    this.#sweep = setInterval(() => this.#expire(), sweepEvery(this.timeoutMs));
    this.#sweep.unref();
  }

  #expire(): void {
    const now = performance.now();
    for (const { attempts } of this.#running.values()) {
      for (const a of attempts) {
        if (a.ended || a.waiting || now < a.deadline) continue;
        this.#timeouts += 1;
        a.end(new JobError('RECORD_TIMEOUT', `the attempt ran past the record's deadline of ${formatDuration(this.timeoutMs)} (--record-timeout)`, { retryable: true }));
      }
    }
  }

  /**
   * Extra fields of a record's dead letter, from the job: a plain object whose JSON is at most
   * DEAD_LETTER_FIELDS_BYTES, copied as JSON data. Whatever else deadLetterFields() throws or returns (BigInt, a
   * circular object, a Proxy, a getter that throws, not an object) gives no fields and `error`, which says why.
   */
  deadLetterFields(record: JobRecord): { fields?: Readonly<Record<string, unknown>>; error?: string } {
    if (!this.job.deadLetterFields) return {};
    let json: string | undefined;
    try {
      const fields: unknown = this.job.deadLetterFields(record);
      if (fields === undefined || fields === null) return {};
      if (typeof fields !== 'object' || Array.isArray(fields)) return { error: `deadLetterFields() must return an object of fields, got ${Array.isArray(fields) ? 'an array' : typeof fields}` };
      json = JSON.stringify(fields);
    } catch (err) {
      return { error: `deadLetterFields() failed: ${describeThrown(err)}` };
    }
    if (typeof json !== 'string') return { error: 'deadLetterFields() returned a value JSON cannot hold' };
    if (json.length > DEAD_LETTER_FIELDS_BYTES) return { error: `deadLetterFields() returned ${json.length} characters of JSON, more than ${DEAD_LETTER_FIELDS_BYTES}` };
    return { fields: JSON.parse(json) as Record<string, unknown> };
  }

  stats(): ExecutorStats {
    const job: Record<string, number> = {};
    try {
      // A job's gauges are advisory: only finite numbers are kept, and a stats() that throws gives none.
      for (const [k, v] of Object.entries(this.job.stats?.() ?? {})) if (typeof v === 'number' && Number.isFinite(v)) job[k] = v;
    } catch {
      // none
    }
    return {
      timeouts: this.#timeouts,
      workerCrashes: this.#pool?.crashes ?? 0,
      concurrency: { limit: this.#io.limit, max: this.#maxConcurrency, active: this.#io.active, queued: this.#io.waiting, busyMs: this.#ioBusyMs, runs: this.#runs },
      workers: this.#pool?.stats(),
      job,
    };
  }

  /**
   * Calls the job's close, then stops the worker threads. Twice is safe. Whatever the job's close() throws rejects
   * as a LaglessError JOB_FAILED that says what it was (the threads are stopped anyway).
   */
  close(): Promise<void> {
    this.#closed ??= (async () => {
      if (this.#sweep) clearInterval(this.#sweep);
      try {
        await this.job.close?.();
      } catch (err) {
        throw new LaglessError('JOB_FAILED', `the close() of job "${this.job.name}" failed: ${describeThrown(err)}`, { cause: safeCause(err) });
      } finally {
        await this.#pool?.close();
      }
    })();
    return this.#closed;
  }
}
