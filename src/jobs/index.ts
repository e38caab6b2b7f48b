// Built-in jobs, written on the public job API like any user's: palette (image URL to colour palette) and noop (passthrough, for overhead measurements).
export { createNoopJob } from './noop.ts';
export {
  createPaletteJob,
  defaultPaletteJobOptions,
  DEFAULT_MAX_BUFFERED_BYTES,
  PaletteJobErrorCodes,
  parseUrlRecord,
  previewPaletteOutput,
  type PaletteJobOptions,
  type PaletteRecord,
} from './palette.ts';

import { previewPaletteOutput } from './palette.ts';

/** The built-in jobs' previews of their outputs by job name, for a dashboard that does not run the job (`lagless dashboard`). */
export const BUILT_IN_PREVIEWS = { palette: previewPaletteOutput } as const;
