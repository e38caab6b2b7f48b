// The flagship job, written on the public job API: {"id","url"} in, a colour palette out. Downloads run in run(), decode + quantize on the runtime's worker threads.
import { createDownloader, DownloadErrorCodes, type DownloadOptions, type Downloader } from '../download/index.ts';
import { defineJob, JobError, UsageError, type JobDefinition, type JobRecord, type OutputPreview, type OutputView } from '../index.ts';
import {
  PaletteErrorCodes,
  paletteWorkerUrl,
  validatePaletteOptions,
  type PaletteOptions,
  type PaletteResult,
  type PaletteTask,
} from '../palette/index.ts';

export interface PaletteJobOptions {
  palette: Partial<PaletteOptions>;
  download: Partial<DownloadOptions>;
  /**
   * Downloaded bytes waiting for a CPU worker, at most (no new download starts above it). Default 16 MiB: seconds of
   * CPU work for typical photos, enough to hide download latency; more only costs memory.
   */
  maxBufferedBytes: number;
}

/** Default of `maxBufferedBytes` (and of `lagless run palette --max-buffered-bytes`). */
export const DEFAULT_MAX_BUFFERED_BYTES = 16 * 1024 * 1024;

export function defaultPaletteJobOptions(): PaletteJobOptions {
  return { palette: {}, download: {}, maxBufferedBytes: DEFAULT_MAX_BUFFERED_BYTES };
}

/** The dead-letter codes of the palette job besides the runtime's (INVALID_MESSAGE, INVALID_OUTPUT, JOB_FAILED). */
export const PaletteJobErrorCodes = { ...DownloadErrorCodes, ...PaletteErrorCodes } as const;

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
    throw new JobError('INVALID_MESSAGE', `the value is not JSON: ${JSON.stringify(value.slice(0, 80))}`);
  }
  if (!v || typeof v !== 'object' || Array.isArray(v)) throw new JobError('INVALID_MESSAGE', 'the value is not a JSON object with "id" and "url"');
  const o = v as Record<string, unknown>;
  if (typeof o.id !== 'string' || o.id === '') throw new JobError('INVALID_MESSAGE', 'the value has no string "id"');
  if (o.url === undefined || o.url === null || o.url === '') throw new JobError('INVALID_URL', 'the value has no "url"');
  if (typeof o.url !== 'string') throw new JobError('INVALID_URL', `"url" must be a string, got ${typeof o.url}`);
  return { id: o.id, url: o.url };
}

/**
 * How the dashboard shows a palette record: its id, the photo, the swatches, and the size. Undefined for a value that
 * is not a palette record (the dashboard then shows its key and short values).
 */
export function previewPaletteOutput(output: OutputView): OutputPreview | undefined {
  let v: unknown;
  try {
    v = JSON.parse(output.value);
  } catch {
    return undefined;
  }
  if (!v || typeof v !== 'object' || !Array.isArray((v as PaletteRecord).hex)) return undefined;
  const o = v as Partial<PaletteRecord>;
  const fields: Record<string, string> = {};
  if (typeof o.url === 'string') fields.url = o.url;
  if (typeof o.width === 'number' && typeof o.height === 'number') fields.size = `${o.width}×${o.height}`;
  if (typeof o.mode === 'string') fields.mode = o.mode;
  return {
    ...(typeof o.id === 'string' ? { title: o.id } : {}),
    ...(typeof o.url === 'string' ? { image: o.url } : {}),
    swatches: o.hex!.filter((h): h is string => typeof h === 'string'),
    fields,
  };
}

/** Best effort, for dead letters: the input's id and url when its value is a JSON object that has them as strings. */
function idAndUrl(record: JobRecord): { id?: string; url?: string } {
  try {
    const v = JSON.parse(record.text()) as unknown;
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      const o = v as Record<string, unknown>;
      return { ...(typeof o.id === 'string' ? { id: o.id } : {}), ...(typeof o.url === 'string' ? { url: o.url } : {}) };
    }
  } catch {
    // Not JSON: the dead letter carries the original string only.
  }
  return {};
}

export function createPaletteJob(init: Partial<PaletteJobOptions> = {}): JobDefinition {
  const o = { ...defaultPaletteJobOptions(), ...init };
  const palette = validatePaletteOptions(o.palette);
  if (!Number.isInteger(o.maxBufferedBytes) || o.maxBufferedBytes < 1) throw new UsageError(`palette job option maxBufferedBytes must be an integer >= 1, got ${String(o.maxBufferedBytes)}`);
  let downloader: Downloader | undefined;
  let bufferedBytes = 0;
  const bytesFreed: (() => void)[] = [];
  let downloadMs = 0;
  let downloadsDone = 0;

  async function waitForBytes(signal: AbortSignal): Promise<void> {
    while (bufferedBytes >= o.maxBufferedBytes) {
      // An abort that happened before we got here fires no event: without this check the record would wait forever,
      // holding its concurrency slot.
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

  return defineJob({
    name: 'palette',
    worker: paletteWorkerUrl,

    setup() {
      downloader = createDownloader(o.download);
    },

    async run(record, { signal, worker }) {
      const started = performance.now();
      const { id, url } = parseUrlRecord(record.text());
      // Checked while this record holds a concurrency slot (the runtime's limit on downloads in flight): records that
      // queued for a slot while there was room must not all download at once later.
      await waitForBytes(signal);
      const t = performance.now();
      let body;
      try {
        body = await downloader!.download(url, { signal });
      } finally {
        downloadMs += performance.now() - t;
        downloadsDone += 1;
      }
      // Transfer the bytes to the worker without a copy when the Buffer owns its whole ArrayBuffer (never a pooled slice).
      const b = body.bytes;
      const bytes = b.byteOffset === 0 && b.byteLength === b.buffer.byteLength ? new Uint8Array(b.buffer) : new Uint8Array(b);
      // Counted by value, before the slot goes to the next download (whose check must see these bytes): the transfer
      // below detaches the buffer, after which bytes.byteLength is 0.
      const size = bytes.byteLength;
      bufferedBytes += size;
      // A failure on the worker comes back as the JobError it threw, with its code (see src/palette/worker.ts).
      let result: PaletteResult;
      try {
        const task: PaletteTask = { bytes, options: palette };
        result = await worker.run<PaletteResult, PaletteTask>(task, { transfer: [bytes.buffer as ArrayBuffer] });
      } finally {
        bufferedBytes -= size;
        for (const f of bytesFreed.splice(0)) f();
      }
      const out: PaletteRecord = {
        id,
        url,
        palette: result.palette as [number, number, number][],
        hex: result.hex,
        width: result.width,
        height: result.height,
        mode: result.mode,
        durationMs: Math.round((performance.now() - started) * 10) / 10,
      };
      return { key: id, value: JSON.stringify(out) };
    },

    deadLetterFields: idAndUrl,

    preview: previewPaletteOutput,

    stats: () => ({ bufferedBytes, downloadMs, downloadsDone }),

    async close() {
      await downloader?.close();
    },
  });
}
