// The hot loop: samples every step-th pixel of decoded pixels into colorthief's 5-bit histogram, with 0.2.1's filters.
//
// colorthief 0.2.1 converts the image to RGBA, keeps pixel i for i = 0, step, 2*step, ... in raster order,
// drops it when alpha < 125 or when r, g and b are all > 250, and counts (r>>3, g>>3, b>>3).
// One specialised function per pixel layout keeps it monomorphic and allocation-free.

export const PixelLayout = {
  /** 1 channel: r = g = b = L, alpha 255 */
  GREY: 'grey',
  /** 2 channels: L, alpha */
  GREY_ALPHA: 'grey-alpha',
  RGB: 'rgb',
  RGBA: 'rgba',
  /** 4 channels C, M, Y, K (0 = no ink), converted like Pillow's CMYK -> RGB (no colour management) */
  CMYK: 'cmyk',
  /** 1 channel, 16 bits: Pillow's I;16 -> RGBA conversion clips every value above 255 to 255 */
  GREY16_CLIP: 'grey16-clip',
} as const;
export type PixelLayout = (typeof PixelLayout)[keyof typeof PixelLayout];

export const layoutChannels: Record<PixelLayout, number> = {
  grey: 1,
  'grey-alpha': 2,
  rgb: 3,
  rgba: 4,
  cmyk: 4,
  'grey16-clip': 1,
};

export interface Pixels {
  /** Uint16Array only for GREY16_CLIP */
  data: Uint8Array | Uint16Array;
  layout: PixelLayout;
  /** number of pixels in data */
  pixelCount: number;
}

/**
 * Adds every `step`-th pixel (starting at pixel 0) that passes 0.2.1's filters to `histo`
 * (a Uint32Array(32768)). Returns the number of pixels added.
 */
export function addSamples(histo: Uint32Array, pixels: Pixels, step: number): number {
  if (!Number.isInteger(step) || step < 1) throw new RangeError(`step must be an integer >= 1, got ${step}`);
  const { data, pixelCount } = pixels;
  switch (pixels.layout) {
    case PixelLayout.RGB:
      return addRgb(histo, data as Uint8Array, pixelCount, step);
    case PixelLayout.RGBA:
      return addRgba(histo, data as Uint8Array, pixelCount, step);
    case PixelLayout.GREY:
      return addGrey(histo, data as Uint8Array, pixelCount, step);
    case PixelLayout.GREY_ALPHA:
      return addGreyAlpha(histo, data as Uint8Array, pixelCount, step);
    case PixelLayout.GREY16_CLIP:
      return addGrey16Clip(histo, data as Uint16Array, pixelCount, step);
    case PixelLayout.CMYK:
      return addCmyk(histo, data as Uint8Array, pixelCount, step);
    default: {
      const never: never = pixels.layout;
      throw new Error(`unknown pixel layout ${String(never)}`);
    }
  }
}

// One function per layout keeps each loop monomorphic (one typed-array kind, no dead branches). The pass
// is memory-bound: after a full decode of a 4 MP photo it reads ~12 MB that the decode has just pushed out
// of the caches, ~4 ms on the benchmark machine, and that is most of exact mode's cost beyond the decode.
// (Two interleaved histograms, which help on warm data, measured no gain there, so the loops stay simple.)

function addRgb(histo: Uint32Array, data: Uint8Array, pixelCount: number, step: number): number {
  const stride = 3 * step;
  const end = pixelCount * 3;
  let added = 0;
  for (let o = 0; o < end; o += stride) {
    const r = data[o]!;
    const g = data[o + 1]!;
    const b = data[o + 2]!;
    if (!(r > 250 && g > 250 && b > 250)) {
      histo[((r >> 3) << 10) | ((g >> 3) << 5) | (b >> 3)]!++;
      added++;
    }
  }
  return added;
}

function addRgba(histo: Uint32Array, data: Uint8Array, pixelCount: number, step: number): number {
  const stride = 4 * step;
  const end = pixelCount * 4;
  let added = 0;
  for (let o = 0; o < end; o += stride) {
    const r = data[o]!;
    const g = data[o + 1]!;
    const b = data[o + 2]!;
    if (data[o + 3]! >= 125 && !(r > 250 && g > 250 && b > 250)) {
      histo[((r >> 3) << 10) | ((g >> 3) << 5) | (b >> 3)]!++;
      added++;
    }
  }
  return added;
}

function addGrey(histo: Uint32Array, data: Uint8Array, pixelCount: number, step: number): number {
  let added = 0;
  for (let o = 0; o < pixelCount; o += step) {
    const l = data[o]!;
    if (l <= 250) {
      const q = l >> 3;
      histo[(q << 10) | (q << 5) | q]!++;
      added++;
    }
  }
  return added;
}

function addGreyAlpha(histo: Uint32Array, data: Uint8Array, pixelCount: number, step: number): number {
  const stride = 2 * step;
  const end = pixelCount * 2;
  let added = 0;
  for (let o = 0; o < end; o += stride) {
    const l = data[o]!;
    if (data[o + 1]! >= 125 && l <= 250) {
      const q = l >> 3;
      histo[(q << 10) | (q << 5) | q]!++;
      added++;
    }
  }
  return added;
}

function addGrey16Clip(histo: Uint32Array, data: Uint16Array, pixelCount: number, step: number): number {
  let added = 0;
  for (let o = 0; o < pixelCount; o += step) {
    const v = data[o]!;
    // values above 255 clip to 255, which is white too
    if (v <= 250) {
      const q = v >> 3;
      histo[(q << 10) | (q << 5) | q]!++;
      added++;
    }
  }
  return added;
}

function addCmyk(histo: Uint32Array, data: Uint8Array, pixelCount: number, step: number): number {
  const stride = 4 * step;
  const end = pixelCount * 4;
  let added = 0;
  for (let o = 0; o < end; o += stride) {
    const nk = 255 - data[o + 3]!;
    // Pillow's cmyk2rgb: nk - MULDIV255(c, nk), MULDIV255(a, b) = (t + (t >> 8)) >> 8 with t = a * b + 128
    let t = data[o]! * nk + 128;
    const r = nk - ((t + (t >> 8)) >> 8);
    t = data[o + 1]! * nk + 128;
    const g = nk - ((t + (t >> 8)) >> 8);
    t = data[o + 2]! * nk + 128;
    const b = nk - ((t + (t >> 8)) >> 8);
    if (!(r > 250 && g > 250 && b > 250)) {
      histo[((r >> 3) << 10) | ((g >> 3) << 5) | (b >> 3)]!++;
      added++;
    }
  }
  return added;
}

