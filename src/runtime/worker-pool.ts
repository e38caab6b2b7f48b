// The runtime's CPU worker threads for a job's worker module: a piscina pool of fixed ceiling, and a resizable limit in front of it that the autoscaler sets.
import { isAbsolute } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Piscina } from 'piscina';
import { moduleUrl, Semaphore } from '../common/index.ts';
import { describeThrown, JobError, LaglessError, UsageError } from '../errors/index.ts';
import type { WorkerRunOptions } from '../job/index.ts';
import { decodeWorkerAnswer, type WorkerAnswer, type WorkerData } from './worker-protocol.ts';

export interface WorkerPoolOptions {
  /** CPU worker threads that may run at once now (the autoscaler changes it with setWorkers). Default: maxWorkers. */
  workers: number;
  /** Threads the pool may ever have. Default: the machine's cores. */
  maxWorkers: number;
  /** Threads kept alive when idle. Default 1. */
  minWorkers: number;
  /** A thread idle this long exits (given back). Default 60 s. */
  idleTimeoutMs: number;
  /**
   * The JS heap of each thread, MB, at most (V8's old generation): a task that needs more ends its thread with
   * WORKER_CRASHED instead of growing the process. Default: V8's own limit.
   */
  heapMb?: number | undefined;
}

/** Told when a task starts and stops waiting for a free thread (the record's deadline does not run meanwhile). */
export interface WaitObserver {
  waitBegins(now: number): void;
  waitEnds(now: number): void;
}

/** Gauges and counters of the pool, for status, metrics and the autoscaler. */
export interface WorkerPoolStats {
  /** The current limit of tasks running at once (autoscaled). */
  workers: number;
  maxWorkers: number;
  /** Tasks running now. */
  active: number;
  /** Tasks waiting for a worker. */
  queued: number;
  /** Sum of task durations, ms (for the service rate per worker). */
  busyMs: number;
  /** Tasks finished. */
  tasks: number;
  /** Threads that died under a task (and were replaced). */
  crashes: number;
  /** Threads alive. */
  threads: number;
  utilization: number;
}

/** The file URL of a job's `worker` (a URL, a file URL string, or an absolute path). */
export function workerModuleUrl(worker: URL | string): string {
  if (worker instanceof URL) return worker.href;
  if (/^file:/.test(worker)) return worker;
  if (isAbsolute(worker)) return pathToFileURL(worker).href;
  throw new UsageError(`the job's "worker" must be a URL or an absolute path (e.g. new URL('./worker.ts', import.meta.url)), got ${JSON.stringify(worker)}`);
}

export class WorkerPool {
  readonly maxWorkers: number;
  readonly #pool: Piscina<unknown, WorkerAnswer>;
  readonly #cpu: Semaphore;
  readonly #module: string;
  #busyMs = 0;
  #tasks = 0;
  #crashes = 0;

  constructor(worker: URL | string, o: WorkerPoolOptions) {
    for (const [k, min] of [['maxWorkers', 1], ['minWorkers', 0], ['workers', 1], ['idleTimeoutMs', 0]] as const) {
      const v = o[k];
      if (!Number.isInteger(v) || v < min) throw new UsageError(`worker pool option ${k} must be an integer >= ${min}, got ${String(v)}`);
    }
    if (o.heapMb !== undefined && (!Number.isInteger(o.heapMb) || o.heapMb < 16)) throw new UsageError(`worker pool option heapMb must be an integer >= 16, got ${String(o.heapMb)}`);
    if (o.workers > o.maxWorkers) throw new UsageError(`worker pool option workers (${o.workers}) must not exceed maxWorkers (${o.maxWorkers})`);
    this.maxWorkers = o.maxWorkers;
    this.#module = workerModuleUrl(worker);
    const workerData: WorkerData = { module: this.#module };
    this.#pool = new Piscina<unknown, WorkerAnswer>({
      filename: moduleUrl('./worker-entry', import.meta.url).href,
      workerData,
      minThreads: Math.min(o.minWorkers, o.maxWorkers),
      maxThreads: o.maxWorkers,
      idleTimeout: o.idleTimeoutMs,
      // One task per thread: queueing happens in front of the pool, where the autoscaler can see and size it.
      concurrentTasksPerWorker: 1,
      // A worker's JS heap holds one task at a time (big data lives in Buffers and native memory): a small young
      // generation keeps each thread's resident memory low instead of V8's default tens of MB per thread.
      resourceLimits: { maxYoungGenerationSizeMb: 8, ...(o.heapMb !== undefined ? { maxOldGenerationSizeMb: o.heapMb } : {}) },
    });
    // A thread that fails to start (a worker module that does not load) is reported here as well as to the task
    // that waited for it; without a listener the pool's 'error' event would crash the process.
    this.#pool.on('error', () => {});
    this.#cpu = new Semaphore(o.workers);
  }

  /** Resolves once a thread has loaded the worker module; rejects with its load error. */
  async check(): Promise<void> {
    try {
      await this.#pool.run(undefined, { name: 'ping' });
    } catch (err) {
      throw new LaglessError('IO', `the job's worker module ${this.#module} cannot run on a worker thread: ${(err as Error)?.message ?? String(err)}`, { cause: err });
    }
  }

  /** Changes how many tasks may run at once (1..maxWorkers). */
  setWorkers(n: number): void {
    this.#cpu.setLimit(Math.max(1, Math.min(this.maxWorkers, Math.round(n))));
  }

  get workers(): number {
    return this.#cpu.limit;
  }

  /** Threads that died under a task since the start. */
  get crashes(): number {
    return this.#crashes;
  }

  /**
   * Runs one task when a worker is free; `signal` aborts it while it waits or runs (a running task's thread is
   * terminated and replaced) and this rejects with the signal's reason. A thread that dies under the task (an uncaught
   * exception in it, process.exit(), out of memory) rejects with JobError WORKER_CRASHED (retryable); a task or result
   * that cannot be copied between threads, with JOB_FAILED.
   */
  async run(task: unknown, options: WorkerRunOptions = {}, signal?: AbortSignal, wait?: WaitObserver): Promise<unknown> {
    wait?.waitBegins(performance.now());
    let waiting = true;
    const waited = () => {
      if (!waiting) return;
      waiting = false;
      wait?.waitEnds(performance.now());
    };
    try {
      await this.#cpu.acquire(signal);
    } finally {
      waited();
    }
    const t = performance.now();
    try {
      let answer: WorkerAnswer;
      try {
        answer = await this.#pool.run(task, {
          ...(options.transfer?.length ? { transferList: [...options.transfer] } : {}),
          ...(signal ? { signal } : {}),
        });
      } catch (err) {
        // Stopped on purpose (the record's deadline, its partition revoked): the reason it was stopped for.
        if (signal?.aborted) throw signal.reason;
        if ((err as { name?: unknown } | null)?.name === 'DataCloneError') {
          throw new JobError('JOB_FAILED', `the worker task or its result cannot be copied between threads (structured clone): ${describeThrown(err)}`);
        }
        this.#crashes += 1;
        throw new JobError('WORKER_CRASHED', `the worker thread died while running the task: ${describeThrown(err)}`, { retryable: true });
      }
      return decodeWorkerAnswer(answer);
    } finally {
      this.#busyMs += performance.now() - t;
      this.#tasks += 1;
      this.#cpu.release();
    }
  }

  stats(): WorkerPoolStats {
    return {
      workers: this.#cpu.limit,
      maxWorkers: this.maxWorkers,
      active: this.#cpu.active,
      queued: this.#cpu.waiting,
      busyMs: this.#busyMs,
      tasks: this.#tasks,
      crashes: this.#crashes,
      threads: this.#pool.threads.length,
      utilization: this.#pool.utilization,
    };
  }

  async close(): Promise<void> {
    await this.#pool.destroy();
  }
}
