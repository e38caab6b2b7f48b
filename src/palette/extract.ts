// extractPalette: bytes in, colorthief palette out, in exact mode (bit-for-bit Python colorthief 0.2.1) or fast mode.
import { paletteError } from './errors.ts';
import { decodeDownscaled, decodeFull, probeImage, type ImageInfo } from './decode.ts';
import { addSamples, type Pixels } from './histogram.ts';
import { HISTOGRAM_SIZE, quantize, type Rgb } from './mmcq.ts';
import { PaletteMode, validatePaletteOptions, type PaletteOptions } from './options.ts';

export interface PaletteResult {
  /**
   * colours as [r, g, b], in colorthief's order (largest count x volume first). Channels are 0..255, except
   * that exact mode keeps colorthief's rare 256 (a box centred past the last 5-bit cell); hex writes it as ff.
   */
  palette: Rgb[];
  /** the same colours as "#rrggbb" */
  hex: string[];
  /** size of the image (first frame), not of a downscaled decode */
  width: number;
  height: number;
  mode: PaletteMode;
}

/** "#rrggbb"; a channel of 256 (a colorthief quirk, see mmcq.ts) is written as ff. */
export function toHex([r, g, b]: Rgb): string {
  return '#' + ((1 << 24) | (clamp(r) << 16) | (clamp(g) << 8) | clamp(b)).toString(16).slice(1);
}

function clamp(v: number): number {
  return v > 255 ? 255 : v;
}

/** The palette of an image. Rejects with a LaglessError: NOT_AN_IMAGE, DECODE_FAILED, TOO_MANY_PIXELS, NO_PIXELS or USAGE. */
export async function extractPalette(bytes: Uint8Array, options: Partial<PaletteOptions> = {}): Promise<PaletteResult> {
  const opts = validatePaletteOptions(options);
  if (!(bytes instanceof Uint8Array)) throw paletteError('NOT_AN_IMAGE', `expected the image as a Buffer or Uint8Array, got ${typeof bytes}`);
  const limits = { maxPixels: opts.maxPixels };
  const info = await probeImage(bytes, limits);

  const histo = new Uint32Array(HISTOGRAM_SIZE);
  // 16-bit greyscale: exact mode copies Pillow, which clips every value above 255 (the picture turns
  // white); fast mode scales to 8 bits, which is what the picture looks like. The one deliberate difference.
  const grey16 = opts.mode === PaletteMode.EXACT ? 'clip' : 'scale';
  const plan = opts.mode === PaletteMode.EXACT ? ({ decode: 'full', step: opts.quality } as const) : planFastDecode(info, opts);
  let samples: number;
  if (plan.decode === 'downscaled') {
    samples = sampleAndRelease(histo, await decodeDownscaled(bytes, info, limits, plan.width, plan.height), 1);
  } else {
    samples = sampleAndRelease(histo, await decodeFull(bytes, info, limits, grey16), plan.step);
  }
  if (samples === 0 && (plan.decode === 'downscaled' || plan.step !== opts.quality)) {
    // Averaging or a coarser stride can miss the few usable pixels of a nearly white or transparent image:
    // sample like exact mode before giving up.
    samples = sampleAndRelease(histo, await decodeFull(bytes, info, limits, grey16), opts.quality);
  }
  if (samples === 0) {
    throw paletteError('NO_PIXELS', 'no usable pixel: every sampled pixel is white (r, g and b above 250) or transparent (alpha below 125)');
  }
  let palette = quantize(histo, opts.colors);
  // colorthief can answer 256 for a channel (an empty box past the last cell). Exact mode keeps it, to
  // stay bit-for-bit; fast mode promises closeness, not identity, and gives consumers bytes.
  if (opts.mode === PaletteMode.FAST) palette = palette.map(([r, g, b]) => [clamp(r), clamp(g), clamp(b)]);
  return { palette, hex: palette.map(toHex), width: info.width, height: info.height, mode: opts.mode };
}

/** How fast mode decodes and samples an image: a downscaled JPEG decode (every pixel) or a full decode read with a stride. */
export type FastDecodePlan =
  | { decode: 'downscaled'; width: number; height: number; step: 1 }
  | { decode: 'full'; step: number };

/**
 * Adds the samples, then frees the raster at once. sharp's rasters live outside the JS heap and V8 collects them
 * lazily (a full GC about every 64 MB of them), so a worker thread decoding image after image held tens of MB of
 * dead rasters; detaching the buffer (transfer to length 0) releases its memory now. Only a view over a whole
 * buffer is detached, so that nothing else can be sharing it.
 */
function sampleAndRelease(histo: Uint32Array, pixels: Pixels, step: number): number {
  const n = addSamples(histo, pixels, step);
  releaseBuffer(pixels.data);
  return n;
}

/** Detaches `view`'s buffer (freeing its memory now) when the view covers all of it; otherwise leaves it alone. */
export function releaseBuffer(view: ArrayBufferView): void {
  const buf = view.buffer;
  if (buf instanceof ArrayBuffer && !buf.detached && view.byteOffset === 0 && view.byteLength === buf.byteLength) buf.transfer(0);
}

/**
 * Fast mode's plan for an image (exported for the benchmark, which times the same decode alone).
 * - exact mode would sample no more than fastPixels pixels: do exactly what exact mode does (step = quality);
 * - JPEG (not CMYK) large enough for DCT scaling: decode at 1/8 or 1/4 and use every decoded pixel;
 * - otherwise (PNG, GIF, WebP, TIFF, AVIF, CMYK, medium JPEG): the full decode is the cost either way, and a
 *   stride giving about fastPixels samples is cheaper than a resize.
 */
export function planFastDecode(info: Pick<ImageInfo, 'format' | 'width' | 'height' | 'space'>, opts: Pick<PaletteOptions, 'quality' | 'fastPixels'>): FastDecodePlan {
  const total = info.width * info.height;
  if (Math.ceil(total / opts.quality) <= opts.fastPixels) return { decode: 'full', step: opts.quality };
  const size = info.format === 'jpeg' && info.space !== 'cmyk' ? jpegShrinkPlan(info.width, info.height, opts.fastPixels) : undefined;
  if (size) return { decode: 'downscaled', ...size, step: 1 };
  return { decode: 'full', step: strideFor(total, info.width, opts.fastPixels) };
}

/**
 * The JPEG decode size for fast mode: libjpeg's DCT scaling (1/8 or 1/4) as far as it keeps at least
 * `budget` pixels. sharp picks scale s only when the requested shrink is at least s + 1 (it lowers the
 * scale at exactly s to dodge libjpeg rounding), so we ask for W/9 (scale 1/8) or W/5 (scale 1/4) and
 * libvips finishes with a nearest-neighbour step that keeps most decoded pixels. 1/2 is not worth it:
 * measured slower than a full decode because of the resize it needs.
 */
export function jpegShrinkPlan(width: number, height: number, budget: number): { width: number; height: number } | undefined {
  for (const ask of [9, 5]) {
    const w = Math.floor(width / ask);
    const h = Math.floor(height / ask);
    if (w >= 1 && h >= 1 && w * h >= budget) return { width: w, height: h };
  }
  return undefined;
}

/** A step giving about `budget` samples, nudged so consecutive rows are not sampled at the same columns. */
export function strideFor(pixelCount: number, width: number, budget: number): number {
  let step = Math.max(1, Math.ceil(pixelCount / budget));
  while (step > 1 && gcd(step, width) > 1) step++;
  return step;
}

function gcd(a: number, b: number): number {
  while (b) [a, b] = [b, a % b];
  return a;
}
