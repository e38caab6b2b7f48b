// The palette job's worker module: runs extractPalette on one of the runtime's worker threads.
import sharp from 'sharp';
import { extractPalette, releaseBuffer, type PaletteResult } from './extract.ts';
import type { PaletteTask } from './task.ts';

// One libvips thread per worker and no operation cache: the pool already runs one worker per core, and images are
// seen once. (Process-wide settings: this module only loads inside pool threads.)
sharp.concurrency(1);
sharp.cache(false);

/**
 * The palette of the task's bytes. A failure is thrown as it is: the runtime's worker protocol carries its code
 * (NOT_AN_IMAGE, DECODE_FAILED, ...) and retryability back to the job, and its dead letters turn the tool's own codes
 * (USAGE, from options that are wrong) and errors without a code into JOB_FAILED.
 */
export default async function paletteWorker(task: PaletteTask): Promise<PaletteResult> {
  try {
    return await extractPalette(task.bytes, task.options ?? {});
  } finally {
    // The bytes were transferred or copied to this thread for this task alone: free them now rather than at the next full GC.
    releaseBuffer(task.bytes);
  }
}
