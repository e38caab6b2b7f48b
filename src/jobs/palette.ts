// The flagship job: {"id","url"} in, a colour palette out. Downloads are async and many; decode + quantize run on a worker-thread pool.
import { availableParallelism } from 'node:os';
import { Piscina } from 'piscina';
import { Semaphore } from '../common/index.ts';
import { createDownloader, type DownloadOptions, type Downloader } from '../download/index.ts';
import { LaglessError, UsageError } from '../errors/index.ts';
import {
  decodeWorkerResult,
  paletteWorkerUrl,
  validatePaletteOptions,
  type PaletteOptions,
  type PaletteTask,
  type PaletteWorkerResult,
} from '../palette/index.ts';
import type { Job, JobInput, JobOutput } from '../runtime/index.ts';

export interface PaletteJobOptions {
  palette: Partial<PaletteOptions>;
  download: Partial<DownloadOptions>;
  /** CPU worker threads that may run at once now (the autoscaler changes it). Default: maxWorkers. */
  workers: number;
  /** Threads the pool may ever have. Default: the machine's cores. */
  maxWorkers: number;
  /** Worker threads kept alive when idle. Default 1. */
  minWorkers: number;
  /** A worker thread idle this long exits (given back). Default 60 s. */
  idleTimeoutMs: number;
  /** Downloads in flight at most. Default 64. */
  maxDownloads: number;
  /**
   * Downloaded bytes waiting for a CPU worker, at most (no new download starts above it). Default 16 MiB: seconds of
   * CPU work for typical photos, enough to hide download latency; more only costs memory.
   */
  maxBufferedBytes: number;
}

/** Default of `maxBufferedBytes` (and of `lagless run palette --max-buffered-bytes`). */
export const DEFAULT_MAX_BUFFERED_BYTES = 16 * 1024 * 1024;

export function defaultPaletteJobOptions(): PaletteJobOptions {
  const cores = availableParallelism();
  return { palette: {}, download: {}, workers: cores, maxWorkers: cores, minWorkers: 1, idleTimeoutMs: 60_000, maxDownloads: 64, maxBufferedBytes: DEFAULT_MAX_BUFFERED_BYTES };
}

/** The output record of topic `palettes` (README.md, "Record formats"). */
export interface PaletteRecord {
  id: string;
  url: string;
  palette: [number, number, number][];
  hex: string[];
  width: number;
  height: number;
  mode: 'fast' | 'exact';
  durationMs: number;
}

/** Parses an input value: a JSON object with string "id" and "url" (INVALID_MESSAGE / INVALID_URL otherwise). */
export function parseUrlRecord(value: string): { id: string; url: string } {
  let v: unknown;
  try {
    v = JSON.parse(value);
  } catch {
    throw new LaglessError('INVALID_MESSAGE', `the value is not JSON: ${JSON.stringify(value.slice(0, 80))}`);
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new LaglessError('INVALID_MESSAGE', 'the value is not a JSON object with "id" and "url"');
  const o = v as Record<string, unknown>;
  if (typeof o.id !== 'string' || o.id === '') throw new LaglessError('INVALID_MESSAGE', 'the value has no string "id"');
  if (o.url === undefined || o.url === null || o.url === '') throw new LaglessError('INVALID_URL', 'the value has no "url"');
  if (typeof o.url !== 'string') throw new LaglessError('INVALID_URL', `"url" must be a string, got ${typeof o.url}`);
  return { id: o.id, url: o.url };
}

export interface PaletteJob extends Job {
  /** Changes how many CPU workers may run at once (1..maxWorkers). */
  setWorkers(n: number): void;
  /** Changes how many downloads may be in flight. */
  setMaxDownloads(n: number): void;
  readonly maxWorkers: number;
}

export function createPaletteJob(init: Partial<PaletteJobOptions> = {}): PaletteJob {
  const o = { ...defaultPaletteJobOptions(), ...init };
  // The default of workers is maxWorkers (the machine's cores only when maxWorkers is not given either).
  if (init.workers === undefined) o.workers = o.maxWorkers;
  const palette = validatePaletteOptions(o.palette);
  for (const [k, min] of [['maxWorkers', 1], ['minWorkers', 0], ['workers', 1], ['maxDownloads', 1], ['maxBufferedBytes', 1], ['idleTimeoutMs', 0]] as const) {
    const v = o[k];
    if (!Number.isInteger(v) || v < min) throw new UsageError(`palette job option ${k} must be an integer >= ${min}, got ${String(v)}`);
  }
  if (o.workers > o.maxWorkers) throw new UsageError(`palette job option workers (${o.workers}) must not exceed maxWorkers (${o.maxWorkers})`);
  const downloader: Downloader = createDownloader(o.download);
  const pool = new Piscina<PaletteTask, PaletteWorkerResult>({
    filename: paletteWorkerUrl.href,
    minThreads: Math.min(o.minWorkers, o.maxWorkers),
    maxThreads: o.maxWorkers,
    idleTimeout: o.idleTimeoutMs,
    // One task per thread: queueing happens in front of the pool, where the autoscaler can see and size it.
    concurrentTasksPerWorker: 1,
    // A worker's JS heap holds one task at a time (pixels live outside it, in libvips and Buffers): a small young
    // generation keeps each thread's resident memory low instead of V8's default tens of MB per thread.
    resourceLimits: { maxYoungGenerationSizeMb: 8 },
  });
  const cpu = new Semaphore(o.workers);
  const downloads = new Semaphore(o.maxDownloads);
  let bufferedBytes = 0;
  const bytesFreed: (() => void)[] = [];
  let cpuBusyMs = 0;
  let cpuTasks = 0;
  let downloadMs = 0;
  let downloadsDone = 0;

  async function waitForBytes(signal: AbortSignal): Promise<void> {
    while (bufferedBytes >= o.maxBufferedBytes) {
      // An abort that happened before we got here fires no event: without this check the record would wait forever,
      // holding its download slot.
      signal.throwIfAborted();
      await new Promise<void>((resolve, reject) => {
        const onAbort = () => reject(signal.reason);
        signal.addEventListener('abort', onAbort, { once: true });
        bytesFreed.push(() => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        });
      });
    }
  }

  return {
    name: 'palette',
    maxWorkers: o.maxWorkers,
    setWorkers: (n) => cpu.setLimit(Math.max(1, Math.min(o.maxWorkers, Math.round(n)))),
    setMaxDownloads: (n) => downloads.setLimit(Math.max(1, Math.round(n))),

    async run(input: JobInput, { signal }): Promise<JobOutput> {
      const started = performance.now();
      const { id, url } = parseUrlRecord(input.value);
      const bytes = await downloads.use(async () => {
        // Checked with a download slot in hand: records that queued for a slot while there was room must not all
        // download at once later. (A slot held here means the CPU workers are behind: no download is needed now.)
        await waitForBytes(signal);
        const t = performance.now();
        let body;
        try {
          body = await downloader.download(url, { signal });
        } finally {
          downloadMs += performance.now() - t;
          downloadsDone += 1;
        }
        // Transfer the bytes to the worker without a copy when the Buffer owns its whole ArrayBuffer (never a pooled slice).
        const b = body.bytes;
        const owned = b.byteOffset === 0 && b.byteLength === b.buffer.byteLength ? new Uint8Array(b.buffer) : new Uint8Array(b);
        // Counted before the slot goes to the next download, whose check must see these bytes.
        bufferedBytes += owned.byteLength;
        return owned;
      }, signal);
      // Counted by value: the transfer below detaches the buffer, after which bytes.byteLength is 0.
      const size = bytes.byteLength;
      let result;
      try {
        result = await cpu.use(async () => {
          const t = performance.now();
          try {
            return decodeWorkerResult(await pool.run({ bytes, options: palette }, { transferList: [bytes.buffer as ArrayBuffer], signal }));
          } finally {
            cpuBusyMs += performance.now() - t;
            cpuTasks += 1;
          }
        }, signal);
      } finally {
        bufferedBytes -= size;
        for (const f of bytesFreed.splice(0)) f();
      }
      const record: PaletteRecord = {
        id,
        url,
        palette: result.palette as [number, number, number][],
        hex: result.hex,
        width: result.width,
        height: result.height,
        mode: result.mode,
        durationMs: Math.round((performance.now() - started) * 10) / 10,
      };
      return { key: id, value: JSON.stringify(record) };
    },

    stats: () => ({
      workers: cpu.limit,
      maxWorkers: o.maxWorkers,
      cpuActive: cpu.active,
      cpuQueued: cpu.waiting,
      cpuBusyMs,
      cpuTasks,
      downloadsActive: downloads.active,
      downloadsQueued: downloads.waiting,
      maxDownloads: downloads.limit,
      downloadMs,
      downloadsDone,
      bufferedBytes,
      threads: pool.threads.length,
      poolUtilization: pool.utilization,
    }),

    async close() {
      await pool.destroy();
      await downloader.close();
    },
  };
}
