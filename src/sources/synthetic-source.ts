// The synthetic source: unique records pointing at image URLs, paced by a load profile with a token bucket on the monotonic clock.
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import { Pacer, type PacerOptions } from './pacer.ts';
import type { LoadProfile } from './profile.ts';
import type { RecordSource, SourceBaseOptions, UrlRecord } from './types.ts';

/** `profile: 'unlimited'` sends as fast as the consumer takes records (to measure the maximum rate). */
export type SyntheticProfile = LoadProfile | 'unlimited';

export interface SyntheticSourceOptions extends SourceBaseOptions {
  /** Base URL of an image server, e.g. http://127.0.0.1:41234 (see startImageServer). */
  baseUrl: string;
  /** Image names served at {baseUrl}/images/<name>; records cycle through them. */
  images: readonly string[];
  profile: SyntheticProfile;
  /** Stop after this many records. Default: no limit. */
  count?: number;
  /** Stop after this long (ms). Default: one pass of a steps profile, otherwise no limit. */
  durationMs?: number;
  /** Prefix of the ids, unique per run by default ("s" + time + random), so that runs never share keys. */
  runId?: string;
  pacer?: PacerOptions;
  /** Monotonic clock in ms (injectable for tests). Default performance.now. */
  now?: () => number;
}

export interface SyntheticSourceStats {
  /** Records handed to the consumer. */
  emitted: number;
  /** Target rate now (records/s); Infinity when unlimited. */
  targetRate: number;
  /** Records the profile asked for so far. */
  expected: number;
  /** Records given up because the consumer could not keep up with the profile (beyond the 1 s catch-up). */
  behind: number;
  elapsedMs: number;
}

/** After this many records without waiting, let the event loop run (the producer's I/O needs it). */
const YIELD_EVERY = 256;

export function newRunId(): string {
  return 's' + Date.now().toString(36) + randomBytes(3).toString('hex');
}

/** Id of the seq-th record (from 1) of a run: `<runId>-<seq>`. */
export function syntheticId(runId: string, seq: number): string {
  return `${runId}-${seq}`;
}

function check(options: SyntheticSourceOptions): void {
  if (!/^https?:\/\//.test(options.baseUrl)) throw new RangeError(`baseUrl: expected an http(s) URL, got "${options.baseUrl}"`);
  if (options.images.length === 0) throw new RangeError('images: expected at least one image name');
  const { count, durationMs } = options;
  if (count !== undefined && (!Number.isSafeInteger(count) || count < 0)) throw new RangeError(`count: expected an integer ≥ 0, got ${count}`);
  if (durationMs !== undefined && !(durationMs >= 0)) throw new RangeError(`durationMs: expected a duration ≥ 0, got ${durationMs}`);
}

export function syntheticSource(options: SyntheticSourceOptions): RecordSource<SyntheticSourceStats> {
  check(options);
  const { signal, profile } = options;
  const now = options.now ?? (() => performance.now());
  const base = options.baseUrl.replace(/\/+$/, '');
  const urls = options.images.map((name) => `${base}/images/${encodeURIComponent(name)}`);
  const runId = options.runId ?? newRunId();
  const count = options.count ?? Infinity;
  const durationMs = options.durationMs ?? (profile !== 'unlimited' && Number.isFinite(profile.lengthMs) ? profile.lengthMs : Infinity);
  const pacer = profile === 'unlimited' ? undefined : new Pacer(profile, options.pacer);
  let startMs: number | undefined;
  let emitted = 0;
  let iterated = false;

  const record = (): UrlRecord => {
    emitted += 1;
    const id = syntheticId(runId, emitted);
    return { id, url: `${urls[(emitted - 1) % urls.length]}?id=${id}` };
  };

  return {
    kind: 'synthetic',
    stats() {
      const t = now();
      return {
        emitted,
        targetRate: pacer ? pacer.rate(startMs === undefined ? 0 : Math.min(t, startMs + durationMs)) : Infinity,
        // The run stops before a record due exactly at its end, hence the instant just before it.
        expected: pacer && startMs !== undefined ? Math.min(count, Math.floor(pacer.expected(Math.min(t, startMs + durationMs - 1e-3)))) : emitted,
        behind: pacer ? Math.floor(pacer.dropped) : 0,
        elapsedMs: startMs === undefined ? 0 : t - startMs,
      };
    },
    async *[Symbol.asyncIterator]() {
      if (iterated) throw new Error('a synthetic source can be iterated once');
      iterated = true;
      const start = now();
      startMs = start;
      pacer?.start(start);
      const endMs = start + durationMs;
      let sinceYield = 0;
      while (emitted < count && !signal?.aborted) {
        const t = now();
        const last = t >= endMs;
        // At the end, the records that fell due just before it still go out: the count is the profile's, exactly.
        const n = pacer ? pacer.take(last ? endMs - 1e-6 : t, count - emitted) : last ? 0 : count - emitted;
        if (last && n === 0) return;
        if (n === 0) {
          const wait = Math.min(pacer!.waitMs(t), endMs - t);
          sinceYield = 0;
          if (wait === Infinity) {
            // Nothing will ever be due (a profile of rate 0 with no end): wait for the abort.
            if (!signal || signal.aborted) return;
            await new Promise<void>((ok) => signal.addEventListener('abort', () => ok(), { once: true }));
            return;
          }
          try {
            await sleep(wait, undefined, signal ? { signal } : undefined);
          } catch {
            return; // aborted
          }
          continue;
        }
        // Unlimited: hand out a slice, then let the event loop run.
        const slice = pacer ? n : Math.min(n, YIELD_EVERY);
        for (let i = 0; i < slice; i++) {
          yield record();
          if (signal?.aborted) return;
          sinceYield += 1;
          if (sinceYield >= YIELD_EVERY) {
            sinceYield = 0;
            await nextTurn();
          }
        }
      }
    },
  };
}
