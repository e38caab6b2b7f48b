// The task the palette job hands its worker module on the runtime's worker threads: plain data (it crosses threads).
import type { PaletteOptions } from './options.ts';

/** What the palette job passes to `ctx.worker.run(task, { transfer: [task.bytes.buffer] })`. */
export interface PaletteTask {
  bytes: Uint8Array;
  options?: Partial<PaletteOptions>;
}
