// The hot loop: samples every step-th pixel of decoded pixels into colorthief's 5-bit histogram, with 0.2.1's filters.
//
// colorthief 0.2.1 converts the image to RGBA, keeps pixel i for i = 0, step, 2*step, ... in raster order,
// drops it when alpha < 125 or when r, g and b are all > 250, and counts (r>>3, g>>3, b>>3).
// One specialised loop per pixel layout keeps it branch-light and allocation-free.

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

// The second histogram of the two-lane loops, reused (addSamples is synchronous; one per worker thread).
const LANE2 = new Uint32Array(1 << 15);

function laneScratch(): Uint32Array {
  LANE2.fill(0);
  return LANE2;
}

function mergeLane(histo: Uint32Array, lane: Uint32Array): void {
  for (let i = 0; i < lane.length; i++) histo[i]! += lane[i]!;
}

/**
 * Adds every `step`-th pixel (starting at pixel 0) that passes 0.2.1's filters to `histo`
 * (a Uint32Array(32768)). Returns the number of pixels added.
 */
export function addSamples(histo: Uint32Array, pixels: Pixels, step: number): number {
  const { data, pixelCount } = pixels;
  if (!Number.isInteger(step) || step < 1) throw new RangeError(`step must be an integer >= 1, got ${step}`);
  let added = 0;
  switch (pixels.layout) {
    case PixelLayout.RGB: {
      // Two samples per iteration into two histograms: consecutive samples of a photo often fall in the
      // same cell, and alternating tables breaks that increment-after-increment dependency (~25% faster).
      const lane2 = laneScratch();
      const stride = 3 * step;
      const end = pixelCount * 3;
      let o = 0;
      for (; o + stride < end; o += 2 * stride) {
        const r = data[o]!;
        const g = data[o + 1]!;
        const b = data[o + 2]!;
        const p = o + stride;
        const r2 = data[p]!;
        const g2 = data[p + 1]!;
        const b2 = data[p + 2]!;
        if (!(r > 250 && g > 250 && b > 250)) {
          histo[((r >> 3) << 10) | ((g >> 3) << 5) | (b >> 3)]!++;
          added++;
        }
        if (!(r2 > 250 && g2 > 250 && b2 > 250)) {
          lane2[((r2 >> 3) << 10) | ((g2 >> 3) << 5) | (b2 >> 3)]!++;
          added++;
        }
      }
      if (o < end) {
        const r = data[o]!;
        const g = data[o + 1]!;
        const b = data[o + 2]!;
        if (!(r > 250 && g > 250 && b > 250)) {
          histo[((r >> 3) << 10) | ((g >> 3) << 5) | (b >> 3)]!++;
          added++;
        }
      }
      mergeLane(histo, lane2);
      break;
    }
    case PixelLayout.RGBA: {
      const lane2 = laneScratch();
      const stride = 4 * step;
      const end = pixelCount * 4;
      let o = 0;
      for (; o + stride < end; o += 2 * stride) {
        const p = o + stride;
        if (data[o + 3]! >= 125) {
          const r = data[o]!;
          const g = data[o + 1]!;
          const b = data[o + 2]!;
          if (!(r > 250 && g > 250 && b > 250)) {
            histo[((r >> 3) << 10) | ((g >> 3) << 5) | (b >> 3)]!++;
            added++;
          }
        }
        if (data[p + 3]! >= 125) {
          const r = data[p]!;
          const g = data[p + 1]!;
          const b = data[p + 2]!;
          if (!(r > 250 && g > 250 && b > 250)) {
            lane2[((r >> 3) << 10) | ((g >> 3) << 5) | (b >> 3)]!++;
            added++;
          }
        }
      }
      if (o < end && data[o + 3]! >= 125) {
        const r = data[o]!;
        const g = data[o + 1]!;
        const b = data[o + 2]!;
        if (!(r > 250 && g > 250 && b > 250)) {
          histo[((r >> 3) << 10) | ((g >> 3) << 5) | (b >> 3)]!++;
          added++;
        }
      }
      mergeLane(histo, lane2);
      break;
    }
    case PixelLayout.GREY: {
      for (let o = 0; o < pixelCount; o += step) {
        const l = data[o]!;
        if (l > 250) continue;
        const q = l >> 3;
        histo[(q << 10) | (q << 5) | q]!++;
        added++;
      }
      break;
    }
    case PixelLayout.GREY_ALPHA: {
      const stride = 2 * step;
      const end = pixelCount * 2;
      for (let o = 0; o < end; o += stride) {
        if (data[o + 1]! < 125) continue;
        const l = data[o]!;
        if (l > 250) continue;
        const q = l >> 3;
        histo[(q << 10) | (q << 5) | q]!++;
        added++;
      }
      break;
    }
    case PixelLayout.GREY16_CLIP: {
      for (let o = 0; o < pixelCount; o += step) {
        const v = data[o]!;
        if (v > 250) continue; // values above 255 clip to 255, which is white too
        const q = v >> 3;
        histo[(q << 10) | (q << 5) | q]!++;
        added++;
      }
      break;
    }
    case PixelLayout.CMYK: {
      const stride = 4 * step;
      const end = pixelCount * 4;
      for (let o = 0; o < end; o += stride) {
        const nk = 255 - data[o + 3]!;
        // Pillow's cmyk2rgb: nk - MULDIV255(c, nk), MULDIV255(a, b) = (t + (t >> 8)) >> 8 with t = a * b + 128
        let t = data[o]! * nk + 128;
        const r = nk - ((t + (t >> 8)) >> 8);
        t = data[o + 1]! * nk + 128;
        const g = nk - ((t + (t >> 8)) >> 8);
        t = data[o + 2]! * nk + 128;
        const b = nk - ((t + (t >> 8)) >> 8);
        if (r > 250 && g > 250 && b > 250) continue;
        histo[((r >> 3) << 10) | ((g >> 3) << 5) | (b >> 3)]!++;
        added++;
      }
      break;
    }
    default: {
      const never: never = pixels.layout;
      throw new Error(`unknown pixel layout ${String(never)}`);
    }
  }
  return added;
}
