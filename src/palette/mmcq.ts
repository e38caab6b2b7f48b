// MMCQ (modified median cut quantization), a faithful port of Python colorthief 0.2.1, quirks included, on a typed histogram.
//
// Faithful means: same 5-bit histogram, same box order (Python's stable sort, pop from the end), same
// cut-plane search, same float arithmetic for the averages, same iteration limits. Where 0.2.1 does
// something odd (a box that cannot be cut yields an empty twin; the second phase counts from 1, so
// 8 or more colours give one fewer; 2 and 3 colours give one more), this port does the same on purpose.
// The only data structure that differs is the histogram: a Uint32Array(32768) instead of a dict,
// which changes no result because absent keys and zero counts behave alike in every place 0.2.1 reads them.

export const SIGBITS = 5;
export const RSHIFT = 8 - SIGBITS;
export const HISTOGRAM_SIZE = 1 << (3 * SIGBITS);
const MAX_ITERATION = 1000;
const FRACT_BY_POPULATIONS = 0.75;
/** The 5-bit cell coordinates run 0..31; the cut search uses slots up to 32 (one past the end). */
const SLOTS = 1 << SIGBITS;

export type Rgb = [number, number, number];

export function colorIndex(r: number, g: number, b: number): number {
  return (r << (2 * SIGBITS)) + (g << SIGBITS) + b;
}

// Reused by every call (quantize is synchronous, and each worker thread has its own module instance):
// allocating and zeroing 540 kB per image cost more than filling them. Every slot is rewritten per call.
const SCRATCH_COUNT = new Float64Array(SLOTS * SLOTS * (SLOTS + 1));
const SCRATCH_WEIGHTED = new Float64Array(SLOTS * SLOTS * (SLOTS + 1));

/**
 * Prefix sums along b for every (r, g) row of the histogram, so that a box's count and average cost
 * O(rows) instead of O(cells). Sums of integers, exact in float64: the results are those of 0.2.1's loops.
 */
class Sums {
  readonly histo: Uint32Array;
  /** count[(r * 32 + g) * 33 + b] = sum of histo[r][g][0..b-1] */
  readonly count = SCRATCH_COUNT;
  /** weighted[...] = sum of histo[r][g][k] * (2k + 1) for k < b */
  readonly weighted = SCRATCH_WEIGHTED;

  /** Bounds of the occupied cells (vbox_from_pixels), found in the same pass; lo > hi when the histogram is empty. */
  readonly lo = [SLOTS, SLOTS, SLOTS];
  readonly hi = [-1, -1, -1];

  constructor(histo: Uint32Array) {
    this.histo = histo;
    const lo = this.lo;
    const hi = this.hi;
    for (let row = 0; row < SLOTS * SLOTS; row++) {
      const base = row * (SLOTS + 1);
      const hbase = row * SLOTS;
      let c = 0;
      let w = 0;
      for (let k = 0; k < SLOTS; k++) {
        const h = histo[hbase + k]!;
        if (h !== 0) {
          c += h;
          w += h * (2 * k + 1);
          if (k < lo[2]!) lo[2] = k;
          if (k > hi[2]!) hi[2] = k;
        }
        this.count[base + k + 1] = c;
        this.weighted[base + k + 1] = w;
      }
      if (c !== 0) {
        const r = row >> SIGBITS;
        const g = row & (SLOTS - 1);
        if (r < lo[0]!) lo[0] = r;
        if (r > hi[0]!) hi[0] = r;
        if (g < lo[1]!) lo[1] = g;
        if (g > hi[1]!) hi[1] = g;
      }
    }
  }

  /** sum of histo[r][g][b1..b2] (0 when b1 > b2) */
  rowCount(r: number, g: number, b1: number, b2: number): number {
    if (b1 > b2) return 0;
    const base = ((r << SIGBITS) + g) * (SLOTS + 1);
    return this.count[base + b2 + 1]! - this.count[base + b1]!;
  }
}

/** A box in 5-bit colour space. count, volume and avg are computed on first use, like 0.2.1's cached_property. */
class VBox {
  r1: number;
  r2: number;
  g1: number;
  g2: number;
  b1: number;
  b2: number;
  readonly sums: Sums;
  private cachedCount = -1;
  private cachedVolume = -1;
  private cachedAvg: Rgb | undefined;

  constructor(r1: number, r2: number, g1: number, g2: number, b1: number, b2: number, sums: Sums) {
    this.r1 = r1;
    this.r2 = r2;
    this.g1 = g1;
    this.g2 = g2;
    this.b1 = b1;
    this.b2 = b2;
    this.sums = sums;
  }

  copy(): VBox {
    return new VBox(this.r1, this.r2, this.g1, this.g2, this.b1, this.b2, this.sums);
  }

  get volume(): number {
    if (this.cachedVolume < 0) {
      // Can be 0 (an empty twin has r1 = r2 + 1); 0.2.1 computes the same product.
      this.cachedVolume = (this.r2 - this.r1 + 1) * (this.g2 - this.g1 + 1) * (this.b2 - this.b1 + 1);
    }
    return this.cachedVolume;
  }

  get count(): number {
    if (this.cachedCount < 0) {
      let npix = 0;
      if (this.b1 <= this.b2) {
        const c = this.sums.count;
        for (let i = this.r1; i <= this.r2; i++) {
          for (let j = this.g1; j <= this.g2; j++) {
            const base = ((i << SIGBITS) + j) * (SLOTS + 1);
            npix += c[base + this.b2 + 1]! - c[base + this.b1]!;
          }
        }
      }
      this.cachedCount = npix;
    }
    return this.cachedCount;
  }

  get avg(): Rgb {
    if (this.cachedAvg === undefined) {
      const mult = 1 << (8 - SIGBITS);
      let ntot = 0;
      // 0.2.1 adds hval * (i + 0.5) * mult in floats. Every term is a multiple of 4 and every partial
      // sum stays far below 2^53, so these integer sums (hval * (2i + 1) * mult / 2) are the same numbers.
      let rSum = 0;
      let gSum = 0;
      let bSum = 0;
      if (this.b1 <= this.b2) {
        const c = this.sums.count;
        const w = this.sums.weighted;
        for (let i = this.r1; i <= this.r2; i++) {
          for (let j = this.g1; j <= this.g2; j++) {
            const base = ((i << SIGBITS) + j) * (SLOTS + 1);
            const rowCount = c[base + this.b2 + 1]! - c[base + this.b1]!;
            if (rowCount === 0) continue;
            ntot += rowCount;
            rSum += rowCount * (2 * i + 1) * (mult / 2);
            gSum += rowCount * (2 * j + 1) * (mult / 2);
            bSum += (w[base + this.b2 + 1]! - w[base + this.b1]!) * (mult / 2);
          }
        }
      }
      if (ntot) {
        // int() of a positive float truncates, like Math.trunc; the division is the same IEEE division.
        this.cachedAvg = [Math.trunc(rSum / ntot), Math.trunc(gSum / ntot), Math.trunc(bSum / ntot)];
      } else {
        this.cachedAvg = [
          Math.trunc((mult * (this.r1 + this.r2 + 1)) / 2),
          Math.trunc((mult * (this.g1 + this.g2 + 1)) / 2),
          Math.trunc((mult * (this.b1 + this.b2 + 1)) / 2),
        ];
      }
    }
    return this.cachedAvg;
  }
}

/** 0.2.1's PQueue: append on push, stable sort by key on the first pop/peek after a push, pop from the end. */
class PQueue<T> {
  private readonly key: (x: T) => number;
  private readonly contents: T[] = [];
  private sorted = false;

  constructor(key: (x: T) => number) {
    this.key = key;
  }

  push(o: T): void {
    this.contents.push(o);
    this.sorted = false;
  }

  pop(): T {
    if (!this.sorted) {
      const key = this.key;
      // Array.prototype.sort is stable (ES2019), as Python's list.sort is: ties keep their current order.
      this.contents.sort((a, b) => key(a) - key(b));
      this.sorted = true;
    }
    const last = this.contents.pop();
    if (last === undefined) throw new Error('MMCQ: pop from an empty queue'); // 0.2.1 raises IndexError here
    return last;
  }

  size(): number {
    return this.contents.length;
  }
}

const Axis = { R: 0, G: 1, B: 2 } as const;
type Axis = (typeof Axis)[keyof typeof Axis];

function lo(v: VBox, axis: Axis): number {
  return axis === Axis.R ? v.r1 : axis === Axis.G ? v.g1 : v.b1;
}
function hi(v: VBox, axis: Axis): number {
  return axis === Axis.R ? v.r2 : axis === Axis.G ? v.g2 : v.b2;
}
function setLo(v: VBox, axis: Axis, value: number): void {
  if (axis === Axis.R) v.r1 = value;
  else if (axis === Axis.G) v.g1 = value;
  else v.b1 = value;
}
function setHi(v: VBox, axis: Axis, value: number): void {
  if (axis === Axis.R) v.r2 = value;
  else if (axis === Axis.G) v.g2 = value;
  else v.b2 = value;
}

// Scratch arrays for the cut search; `partialsum`/`lookaheadsum` are dicts in 0.2.1 with keys only in
// [dim1, dim2]. A lookup outside that range must behave like a missing key (falsy / None).
const partial = new Float64Array(SLOTS + 1);
const lookahead = new Float64Array(SLOTS + 1);

/** median_cut_apply: returns [vbox1, vbox2] (vbox2 may be null), or null where 0.2.1 returns (None, None). */
function medianCutApply(histo: Uint32Array, vbox: VBox): [VBox, VBox | null] | null {
  if (!vbox.count) return null;
  const rw = vbox.r2 - vbox.r1 + 1;
  const gw = vbox.g2 - vbox.g1 + 1;
  const bw = vbox.b2 - vbox.b1 + 1;
  const maxw = Math.max(rw, gw, bw);
  // only one pixel, no split
  if (vbox.count === 1) return [vbox.copy(), null];

  const axis: Axis = maxw === rw ? Axis.R : maxw === gw ? Axis.G : Axis.B;
  const dim1 = lo(vbox, axis);
  const dim2 = hi(vbox, axis);
  const sums = vbox.sums;
  let total = 0;
  for (let i = dim1; i <= dim2; i++) {
    let sum = 0;
    if (axis === Axis.R) {
      for (let j = vbox.g1; j <= vbox.g2; j++) sum += sums.rowCount(i, j, vbox.b1, vbox.b2);
    } else if (axis === Axis.G) {
      for (let j = vbox.r1; j <= vbox.r2; j++) sum += sums.rowCount(j, i, vbox.b1, vbox.b2);
    } else {
      for (let j = vbox.r1; j <= vbox.r2; j++)
        for (let k = vbox.g1; k <= vbox.g2; k++) sum += histo[colorIndex(j, k, i)]!;
    }
    total += sum;
    partial[i] = total;
  }
  for (let i = dim1; i <= dim2; i++) lookahead[i] = total - partial[i]!;
  const has = (i: number) => i >= dim1 && i <= dim2;
  // partialsum.get(i, False) in a boolean context
  const partialTruthy = (i: number) => has(i) && partial[i]! !== 0;

  for (let i = dim1; i <= dim2; i++) {
    if (partial[i]! > total / 2) {
      const vbox1 = vbox.copy();
      const vbox2 = vbox.copy();
      const left = i - dim1;
      const right = dim2 - i;
      let d2: number;
      // int() truncates toward zero; i - 1 - left / 2 can be -0.5 when dim1 is 0.
      if (left <= right) d2 = Math.min(dim2 - 1, Math.trunc(i + right / 2));
      else d2 = Math.max(dim1, Math.trunc(i - 1 - left / 2));
      // avoid 0-count boxes (terminates: partialsum[dim2] is the non-zero total)
      while (!partialTruthy(d2)) d2 += 1;
      let count2 = has(d2) ? lookahead[d2]! : 0;
      while (!count2 && partialTruthy(d2 - 1)) {
        d2 -= 1;
        count2 = has(d2) ? lookahead[d2]! : 0;
      }
      setHi(vbox1, axis, d2);
      setLo(vbox2, axis, hi(vbox1, axis) + 1);
      return [vbox1, vbox2];
    }
  }
  return null;
}

function iterate(histo: Uint32Array, lh: PQueue<VBox>, target: number): void {
  let nColor = 1;
  let nIter = 0;
  while (nIter < MAX_ITERATION) {
    const vbox = lh.pop();
    if (!vbox.count) {
      // just put it back
      lh.push(vbox);
      nIter += 1;
      continue;
    }
    const cut = medianCutApply(histo, vbox);
    if (!cut) throw new Error("MMCQ: vbox1 not defined; shouldn't happen!");
    lh.push(cut[0]);
    if (cut[1]) {
      lh.push(cut[1]);
      nColor += 1;
    }
    if (nColor >= target) return;
    if (nIter > MAX_ITERATION) return;
    nIter += 1;
  }
}

/** True when the histogram holds at least one pixel. */
export function histogramTotal(histo: Uint32Array): number {
  let n = 0;
  for (let i = 0; i < histo.length; i++) n += histo[i]!;
  return n;
}

/**
 * MMCQ.quantize(pixels, max_color).palette of colorthief 0.2.1, from the 5-bit histogram of those pixels.
 * Returns [] for an empty histogram (0.2.1 raises "Empty pixels"); throws RangeError for maxColor outside 2..256.
 */
export function quantize(histo: Uint32Array, maxColor: number): Rgb[] {
  if (histo.length !== HISTOGRAM_SIZE) throw new RangeError(`histogram must have ${HISTOGRAM_SIZE} cells, got ${histo.length}`);
  if (!Number.isInteger(maxColor) || maxColor < 2 || maxColor > 256) {
    throw new RangeError(`maxColor must be an integer from 2 to 256, got ${maxColor}`);
  }
  // vbox_from_pixels: the bounds of the occupied cells (the same set as the pixels' 5-bit values).
  const sums = new Sums(histo);
  if (sums.hi[0]! < 0) return [];
  const vbox = new VBox(sums.lo[0]!, sums.hi[0]!, sums.lo[1]!, sums.hi[1]!, sums.lo[2]!, sums.hi[2]!, sums);
  const pq = new PQueue<VBox>((x) => x.count);
  pq.push(vbox);

  // first set of colors, sorted by population
  iterate(histo, pq, FRACT_BY_POPULATIONS * maxColor);

  // Re-sort by the product of pixel occupancy times the size in color space.
  const pq2 = new PQueue<VBox>((x) => x.count * x.volume);
  while (pq.size()) pq2.push(pq.pop());

  // next set - generate the median cuts using the (npix * vol) sorting.
  iterate(histo, pq2, maxColor - pq2.size());

  // CMap pushes in pop order and `palette` maps over its contents unsorted: that order is the answer.
  const palette: Rgb[] = [];
  while (pq2.size()) {
    const [r, g, b] = pq2.pop().avg;
    palette.push([r, g, b]);
  }
  return palette;
}

/**
 * How many colours 0.2.1 returns for `colors` when every split succeeds (for instance when every
 * occupied 5-bit cell holds at least two sampled pixels): 2 -> 3, 3 -> 4, 4..7 -> same, 8 or more -> one fewer.
 * With sparse pixels it can return fewer (a single-pixel box is never split).
 */
export function expectedColorCount(colors: number): number {
  const first = Math.ceil(FRACT_BY_POPULATIONS * colors);
  return first + Math.max(1, colors - first - 1);
}
