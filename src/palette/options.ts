// Palette options, their defaults and their one validation (messages name the field).
import { UsageError } from '../errors/index.ts';

export const PaletteMode = { FAST: 'fast', EXACT: 'exact' } as const;
export type PaletteMode = (typeof PaletteMode)[keyof typeof PaletteMode];

export interface PaletteOptions {
  /**
   * Palette size asked of MMCQ, 2..256 (default 6, as the seed). colorthief 0.2.1 returns one more for 2
   * and 3, one fewer for 8 and above, and can return fewer for images with very few distinct colours.
   */
  colors: number;
  /**
   * Exact mode: use every `quality`-th pixel in raster order (1 = all pixels; default 10, as colorthief).
   * Fast mode: also used for small images, which fast mode handles exactly like exact mode (see fastPixels).
   */
  quality: number;
  /** 'fast' (default): downscaled decode, close to exact. 'exact': bit-for-bit Python colorthief 0.2.1. */
  mode: PaletteMode;
  /**
   * Pixel ceiling (width x height of the first frame), checked on the header before decoding: larger
   * images fail with TOO_MANY_PIXELS. Default 100,000,000 (100 MP): above every common camera and phone
   * photo (12-50 MP; 108 MP phone sensors bin to 12 MP by default), while an exact-mode decode of the
   * largest allowed image stays near 300-400 MB of pixels (3-4 bytes each). Decompression bombs are a
   * few kB with 10^9+ pixels and stop here.
   */
  maxPixels: number;
  /**
   * Fast mode's sample budget: images whose exact-mode sample count (pixels / quality) exceeds it are
   * decoded downscaled to about this many pixels (default 65,536 = 256 x 256, chosen by measurement:
   * see docs/palette.md). Smaller images are processed exactly as in exact mode.
   */
  fastPixels: number;
}

export const defaultPaletteOptions: Readonly<PaletteOptions> = Object.freeze({
  colors: 6,
  quality: 10,
  mode: PaletteMode.FAST,
  maxPixels: 100_000_000,
  fastPixels: 65_536,
});

function intInRange(name: string, value: unknown, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new UsageError(`palette option "${name}" must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
  }
  return value;
}

/** Merges `options` over the defaults and checks every field; throws UsageError naming the first bad field. */
export function validatePaletteOptions(options: Partial<PaletteOptions> = {}): PaletteOptions {
  if (options === null || typeof options !== 'object') {
    throw new UsageError(`palette options must be an object, got ${options === null ? 'null' : typeof options}`);
  }
  const known = new Set(Object.keys(defaultPaletteOptions));
  for (const key of Object.keys(options)) {
    if (!known.has(key)) throw new UsageError(`unknown palette option "${key}" (known: ${[...known].join(', ')})`);
  }
  // undefined means "use the default", so that callers can pass optional values through
  const merged = { ...defaultPaletteOptions } as PaletteOptions;
  for (const [key, value] of Object.entries(options)) {
    if (value !== undefined) (merged as unknown as Record<string, unknown>)[key] = value;
  }
  intInRange('colors', merged.colors, 2, 256);
  intInRange('quality', merged.quality, 1, Number.MAX_SAFE_INTEGER);
  intInRange('maxPixels', merged.maxPixels, 1, Number.MAX_SAFE_INTEGER);
  intInRange('fastPixels', merged.fastPixels, 1, Number.MAX_SAFE_INTEGER);
  if (merged.mode !== PaletteMode.FAST && merged.mode !== PaletteMode.EXACT) {
    throw new UsageError(`palette option "mode" must be "fast" or "exact", got ${JSON.stringify(merged.mode)}`);
  }
  return merged;
}
