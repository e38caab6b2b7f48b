// The job's I/O concurrency (records in run() before their first worker call: downloads, API calls) from Little's law,
// so that I/O latency is hidden by I/O in flight, not by more CPU workers.
import { UsageError } from '../errors/index.ts';

export interface IoConcurrencyOptions {
  /** Multiplies rate × latency, to absorb latency spread and bursts. >= 1. Default 2. */
  safetyFactor: number;
  /** Fewest records allowed in I/O at once. Default 4. */
  min: number;
  /** Most records allowed in I/O at once (sockets and memory are the limit). Default 512. */
  max: number;
}

export const defaultIoConcurrencyOptions: Readonly<IoConcurrencyOptions> = Object.freeze({
  safetyFactor: 2,
  min: 4,
  max: 512,
});

/** Throws UsageError naming the first bad field; returns the options unchanged when they are valid. */
export function validateIoConcurrencyOptions(options: IoConcurrencyOptions): IoConcurrencyOptions {
  const { safetyFactor, min, max } = options;
  const bad = (field: string, rule: string, value: unknown): never => {
    throw new UsageError(`I/O concurrency option ${field} must be ${rule}, got ${JSON.stringify(value)}`);
  };
  if (typeof safetyFactor !== 'number' || !Number.isFinite(safetyFactor) || safetyFactor < 1) bad('safetyFactor', 'a number >= 1', safetyFactor);
  if (!Number.isInteger(min) || min < 1) bad('min', 'an integer >= 1', min);
  if (!Number.isInteger(max) || max < min) bad('max', `an integer >= min (${min})`, max);
  return options;
}

/**
 * How many records to allow in I/O at once: Little's law L = λ × W, so ceil(rate × latency × safetyFactor), within
 * min..max. `rate` is the records/s to sustain (a decision's `detail.targetRate`); `latencyMs` is
 * the measured mean time of one record's I/O (a download, an API call). Bad inputs (NaN, negative) give min.
 */
export function suggestIoConcurrency(
  rate: number,
  latencyMs: number,
  options: IoConcurrencyOptions = defaultIoConcurrencyOptions,
): number {
  const { safetyFactor, min, max } = options;
  const inFlight = rate * (latencyMs / 1000) * safetyFactor;
  if (!Number.isFinite(inFlight) || inFlight <= 0 || rate < 0 || latencyMs < 0) return min;
  return Math.min(max, Math.max(min, Math.ceil(inFlight - 1e-9)));
}
