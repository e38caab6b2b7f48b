// Built-in jobs: palette (image URL to colour palette) and noop (passthrough, for overhead measurements).
export { createNoopJob } from './noop.ts';
export { createPaletteJob, defaultPaletteJobOptions, DEFAULT_MAX_BUFFERED_BYTES, parseUrlRecord, type PaletteJob, type PaletteJobOptions, type PaletteRecord } from './palette.ts';
