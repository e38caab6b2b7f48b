// Built-in jobs, written on the public job API like any user's: palette (image URL to colour palette) and noop (passthrough, for overhead measurements).
export { createNoopJob } from './noop.ts';
export {
  createPaletteJob,
  defaultPaletteJobOptions,
  DEFAULT_MAX_BUFFERED_BYTES,
  PaletteJobErrorCodes,
  parseUrlRecord,
  type PaletteJobOptions,
  type PaletteRecord,
} from './palette.ts';
