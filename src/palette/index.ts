// The palette engine: colorthief 0.2.1 palettes from image bytes, exact (bit-for-bit) or fast, on this thread or a worker.
export { extractPalette, toHex, type PaletteResult } from './extract.ts';
export { PaletteMode, defaultPaletteOptions, validatePaletteOptions, type PaletteOptions } from './options.ts';
export { expectedColorCount, type Rgb } from './mmcq.ts';
export { SUPPORTED_FORMATS } from './decode.ts';
export { PaletteErrorCodes, paletteError, type PaletteErrorCode } from './errors.ts';
export { paletteDistance, ciede2000, srgbToLab, type PaletteDistance } from './distance.ts';
export type { PaletteTask } from './task.ts';

/**
 * The palette job's worker module (a job's `worker`): the runtime's worker threads run its default export with a
 * {@link PaletteTask} and answer with a PaletteResult, or the error it threw with its code, through the runtime's worker
 * protocol. Transfer only a buffer the caller owns whole (not a slice of a pooled Buffer).
 */
// worker.ts next to the sources, worker.js in the package's build.
export const paletteWorkerUrl: URL = new URL(import.meta.url.endsWith('.ts') ? './worker.ts' : './worker.js', import.meta.url);
