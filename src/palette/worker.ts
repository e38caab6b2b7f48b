// Piscina worker entry: runs extractPalette on a worker thread and answers with a structured-clone-safe result.
import sharp from 'sharp';
import { extractPalette, releaseBuffer } from './extract.ts';

// One libvips thread per worker and no operation cache: the pool already runs one worker per core, and images are
// seen once. (Process-wide settings: this module only loads inside pool threads.)
sharp.concurrency(1);
sharp.cache(false);
import { serializePaletteError, type PaletteTask, type PaletteWorkerResult } from './worker-result.ts';

/** Never throws: errors come back as { ok: false, error: { code, message, retryable } } (see decodeWorkerResult). */
export default async function paletteWorker(task: PaletteTask): Promise<PaletteWorkerResult> {
  try {
    const result = await extractPalette(task.bytes, task.options ?? {});
    return { ok: true, result };
  } catch (err) {
    return { ok: false, error: serializePaletteError(err) };
  } finally {
    // The bytes were transferred or copied to this thread for this task alone: free them now rather than at the next full GC.
    releaseBuffer(task.bytes);
  }
}
