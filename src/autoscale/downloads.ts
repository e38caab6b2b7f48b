// Download concurrency from Little's law, so that download latency is hidden by I/O in flight, not by more CPU workers.
import { UsageError } from '../errors/index.ts';

export interface DownloadConcurrencyOptions {
  /** Multiplies rate × latency, to absorb latency spread and bursts. >= 1. Default 2. */
  safetyFactor: number;
  /** Fewest downloads allowed in flight. Default 4. */
  minDownloads: number;
  /** Most downloads allowed in flight (sockets and memory are the limit). Default 512. */
  maxDownloads: number;
}

export const defaultDownloadConcurrencyOptions: Readonly<DownloadConcurrencyOptions> = Object.freeze({
  safetyFactor: 2,
  minDownloads: 4,
  maxDownloads: 512,
});

/** Throws UsageError naming the first bad field; returns the options unchanged when they are valid. */
export function validateDownloadConcurrencyOptions(options: DownloadConcurrencyOptions): DownloadConcurrencyOptions {
  const { safetyFactor, minDownloads, maxDownloads } = options;
  const bad = (field: string, rule: string, value: unknown): never => {
    throw new UsageError(`download concurrency option ${field} must be ${rule}, got ${JSON.stringify(value)}`);
  };
  if (typeof safetyFactor !== 'number' || !Number.isFinite(safetyFactor) || safetyFactor < 1) bad('safetyFactor', 'a number >= 1', safetyFactor);
  if (!Number.isInteger(minDownloads) || minDownloads < 1) bad('minDownloads', 'an integer >= 1', minDownloads);
  if (!Number.isInteger(maxDownloads) || maxDownloads < minDownloads) bad('maxDownloads', `an integer >= minDownloads (${minDownloads})`, maxDownloads);
  return options;
}

/**
 * How many downloads to allow in flight: Little's law L = λ × W, so ceil(rate × latency × safetyFactor), within
 * minDownloads..maxDownloads. `rate` is the records/s to sustain (a decision's `detail.targetRate`); `latencyMs` is
 * the measured mean time of one download. Bad inputs (NaN, negative) give minDownloads.
 */
export function suggestDownloads(
  rate: number,
  latencyMs: number,
  options: DownloadConcurrencyOptions = defaultDownloadConcurrencyOptions,
): number {
  const { safetyFactor, minDownloads, maxDownloads } = options;
  const inFlight = rate * (latencyMs / 1000) * safetyFactor;
  if (!Number.isFinite(inFlight) || inFlight <= 0 || rate < 0 || latencyMs < 0) return minDownloads;
  return Math.min(maxDownloads, Math.max(minDownloads, Math.ceil(inFlight - 1e-9)));
}
