// Load profiles for the synthetic source: the target rate (records/s) as a pure, piecewise-constant function of time.
import { parseDuration } from '../common/index.ts';

/** A stretch of time with one constant rate. `endMs` is Infinity for a rate that never changes again. */
export interface RateSegment {
  rate: number;
  startMs: number;
  endMs: number;
}

export const ProfileKinds = { constant: 'constant', steps: 'steps', bursts: 'bursts' } as const;
export type ProfileKind = keyof typeof ProfileKinds;

/**
 * A load profile. Time is in ms since the start of the run. Every profile is piecewise constant, which
 * keeps the pacing exact: the number of records due between two instants is a sum of rate × length.
 */
export interface LoadProfile {
  readonly kind: ProfileKind;
  /** Length of one pass of the profile (steps: the sum of the steps); Infinity when it has no natural end. */
  readonly lengthMs: number;
  /** The highest rate the profile ever asks for (0: it never produces anything). */
  readonly peakRate: number;
  /** The constant-rate segment that contains `tMs` (tMs ≥ 0). */
  segmentAt(tMs: number): RateSegment;
  /** The profile in the syntax that parses back to it. */
  describe(): string;
}

export interface Step {
  rate: number;
  durationMs: number;
}

export interface BurstsOptions {
  /** Rate between bursts (records/s). */
  base: number;
  /** Rate during a burst (records/s). */
  peak: number;
  /** A burst starts every `everyMs`. */
  everyMs: number;
  /** Each burst lasts `forMs` (< everyMs). */
  forMs: number;
  /** Start of the first burst; default `everyMs` (so a run starts at the base rate). */
  atMs?: number;
}

const MAX_RATE = 10_000_000;

function checkRate(rate: number, what: string): void {
  if (!Number.isFinite(rate) || rate < 0 || rate > MAX_RATE) {
    throw new RangeError(`${what}: expected a rate from 0 to ${MAX_RATE} records/s, got ${rate}`);
  }
}

export function constantProfile(rate: number): LoadProfile {
  checkRate(rate, 'constant rate');
  return {
    kind: 'constant',
    lengthMs: Infinity,
    peakRate: rate,
    segmentAt: () => ({ rate, startMs: 0, endMs: Infinity }),
    describe: () => `constant:${rate}`,
  };
}

/** Steps played in order; after the last one the profile starts over (a run's length defaults to one pass). */
export function stepsProfile(steps: readonly Step[]): LoadProfile {
  if (steps.length === 0) throw new RangeError('steps: expected at least one step such as 10@30s');
  steps.forEach((s, i) => {
    checkRate(s.rate, `step ${i + 1}`);
    if (!Number.isFinite(s.durationMs) || s.durationMs <= 0) {
      throw new RangeError(`step ${i + 1}: expected a duration above 0, got ${s.durationMs}ms`);
    }
  });
  const copy = steps.map((s) => ({ ...s }));
  const starts: number[] = [];
  let total = 0;
  for (const s of copy) {
    starts.push(total);
    total += s.durationMs;
  }
  return {
    kind: 'steps',
    lengthMs: total,
    peakRate: Math.max(...copy.map((s) => s.rate)),
    segmentAt(tMs) {
      const cycle = Math.floor(tMs / total);
      const offset = tMs - cycle * total;
      // Few steps in practice: a linear scan is clearer than a binary search.
      let i = copy.length - 1;
      while (i > 0 && starts[i]! > offset) i -= 1;
      const base = cycle * total;
      return { rate: copy[i]!.rate, startMs: base + starts[i]!, endMs: base + starts[i]! + copy[i]!.durationMs };
    },
    describe: () => 'steps:' + copy.map((s) => `${s.rate}@${formatSpec(s.durationMs)}`).join(','),
  };
}

/** A base rate with a burst at `peak` for `forMs` every `everyMs`, the first at `atMs`. */
export function burstsProfile(options: BurstsOptions): LoadProfile {
  const { base, peak, everyMs, forMs } = options;
  const atMs = options.atMs ?? everyMs;
  checkRate(base, 'bursts base');
  checkRate(peak, 'bursts peak');
  if (!(everyMs > 0) || !Number.isFinite(everyMs)) throw new RangeError(`bursts every: expected a duration above 0, got ${everyMs}ms`);
  if (!(forMs > 0) || forMs >= everyMs) {
    throw new RangeError(`bursts for: expected a duration above 0 and below every (${formatSpec(everyMs)}), got ${formatSpec(forMs)}`);
  }
  if (!(atMs >= 0) || !Number.isFinite(atMs)) throw new RangeError(`bursts at: expected a duration of 0 or more, got ${atMs}ms`);
  return {
    kind: 'bursts',
    lengthMs: Infinity,
    peakRate: Math.max(base, peak),
    segmentAt(tMs) {
      if (tMs < atMs) return { rate: base, startMs: 0, endMs: atMs };
      const period = Math.floor((tMs - atMs) / everyMs);
      const periodStart = atMs + period * everyMs;
      if (tMs - periodStart < forMs) return { rate: peak, startMs: periodStart, endMs: periodStart + forMs };
      return { rate: base, startMs: periodStart + forMs, endMs: periodStart + everyMs };
    },
    describe: () =>
      `bursts:base=${base},peak=${peak},every=${formatSpec(everyMs)},for=${formatSpec(forMs)}` +
      (options.atMs === undefined ? '' : `,at=${formatSpec(atMs)}`),
  };
}

/** The target rate at `tMs`. */
export function rateAt(profile: LoadProfile, tMs: number): number {
  return profile.segmentAt(tMs).rate;
}

/** Records due between `fromMs` and `toMs` (the integral of the rate), not rounded. */
export function countBetween(profile: LoadProfile, fromMs: number, toMs: number): number {
  let total = 0;
  let t = fromMs;
  while (t < toMs) {
    const seg = profile.segmentAt(t);
    // Guard against a segment that ends where it starts (float rounding at a boundary): step past it.
    const end = Math.min(toMs, seg.endMs > t ? seg.endMs : nextAfter(t));
    total += (seg.rate * (end - t)) / 1000;
    t = end;
  }
  return total;
}

/**
 * The earliest time ≥ fromMs by which `count` more records are due, or Infinity if the profile never
 * delivers that many (for example a single step at rate 0 that repeats).
 */
export function timeForCount(profile: LoadProfile, fromMs: number, count: number): number {
  if (count <= 0) return fromMs;
  // Every profile repeats or is constant, so one with a positive peak always delivers eventually.
  if (profile.peakRate <= 0) return Infinity;
  let needed = count;
  let t = fromMs;
  for (;;) {
    const seg = profile.segmentAt(t);
    const end = seg.endMs > t ? seg.endMs : nextAfter(t);
    const available = (seg.rate * (end - t)) / 1000;
    if (seg.rate > 0 && available >= needed) return t + (needed * 1000) / seg.rate;
    if (end === Infinity) return Infinity;
    needed -= available;
    t = end;
  }
}

function nextAfter(t: number): number {
  return t + Math.max(1e-6, Math.abs(t) * Number.EPSILON * 4);
}

/** Formats ms in the syntax the parser reads back (integral seconds as "30s", otherwise ms). */
function formatSpec(ms: number): string {
  if (ms === 0) return '0s';
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

export interface ParseProfileDefaults {
  /** The --rate value: the constant rate, and the default base of bursts. */
  rate?: number;
}

/**
 * Parses a profile spec:
 *  - `constant` (rate from defaults.rate) or `constant:50`
 *  - `steps:10@30s,150@60s,10@30s` (or just `10@30s,150@60s,10@30s`): rate@duration, played in order
 *  - `bursts:base=10,peak=200,every=30s,for=5s[,at=30s]` (base defaults to defaults.rate)
 * Throws RangeError with a message that names the bad part.
 */
export function parseProfile(spec: string, defaults: ParseProfileDefaults = {}): LoadProfile {
  const text = spec.trim();
  const colon = text.indexOf(':');
  let kind = (colon === -1 ? text : text.slice(0, colon)).trim().toLowerCase();
  let body = colon === -1 ? '' : text.slice(colon + 1).trim();
  if (colon === -1 && text.includes('@')) {
    kind = 'steps';
    body = text;
  }
  switch (kind) {
    case 'constant': {
      const rate = body === '' ? defaults.rate : parseRate(body, 'constant');
      if (rate === undefined) throw new RangeError('constant profile: give the rate with --rate N or as constant:N');
      return constantProfile(rate);
    }
    case 'steps': {
      if (body === '') throw new RangeError('steps profile: expected steps such as steps:10@30s,150@60s,10@30s');
      const steps = body.split(',').map((part, i) => {
        const m = /^\s*([^@\s]+)\s*@\s*(\S+)\s*$/.exec(part);
        if (!m) throw new RangeError(`steps profile: step ${i + 1} "${part}" is not rate@duration (e.g. 150@60s)`);
        return { rate: parseRate(m[1]!, `step ${i + 1}`), durationMs: parseSpecDuration(m[2]!, `step ${i + 1}`) };
      });
      return stepsProfile(steps);
    }
    case 'bursts': {
      const fields = new Map<string, string>();
      if (body !== '') {
        for (const part of body.split(',')) {
          const m = /^\s*([a-z]+)\s*=\s*(\S+)\s*$/i.exec(part);
          if (!m) throw new RangeError(`bursts profile: "${part}" is not key=value (keys: base, peak, every, for, at)`);
          const key = m[1]!.toLowerCase();
          if (!['base', 'peak', 'every', 'for', 'at'].includes(key)) {
            throw new RangeError(`bursts profile: unknown key "${key}" (keys: base, peak, every, for, at)`);
          }
          if (fields.has(key)) throw new RangeError(`bursts profile: "${key}" is given twice`);
          fields.set(key, m[2]!);
        }
      }
      const need = (key: string): string => {
        const v = fields.get(key);
        if (v === undefined) throw new RangeError(`bursts profile: missing ${key}=... (e.g. bursts:base=10,peak=200,every=30s,for=5s)`);
        return v;
      };
      const baseText = fields.get('base');
      const base = baseText === undefined ? defaults.rate : parseRate(baseText, 'bursts base');
      if (base === undefined) throw new RangeError('bursts profile: missing base=N (or give --rate N)');
      const atText = fields.get('at');
      return burstsProfile({
        base,
        peak: parseRate(need('peak'), 'bursts peak'),
        everyMs: parseSpecDuration(need('every'), 'bursts every'),
        forMs: parseSpecDuration(need('for'), 'bursts for'),
        ...(atText === undefined ? {} : { atMs: parseSpecDuration(atText, 'bursts at') }),
      });
    }
    default:
      throw new RangeError(`unknown profile "${spec}": use constant, steps:RATE@DURATION,... or bursts:base=N,peak=N,every=D,for=D`);
  }
}

function parseRate(text: string, what: string): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n)) throw new RangeError(`${what}: "${text}" is not a rate (records/s)`);
  checkRate(n, what);
  return n;
}

function parseSpecDuration(text: string, what: string): number {
  try {
    return parseDuration(text);
  } catch (err) {
    throw new RangeError(`${what}: ${(err as Error).message}`);
  }
}

