// Token bucket over a load profile: decides how many records may go out at a given instant (pure; the caller passes the clock).
import { countBetween, rateAt, timeForCount, type LoadProfile } from './profile.ts';

export interface PacerOptions {
  /**
   * How far the pacer may catch up after falling behind (a slow consumer, a late timer), as time at the
   * current rate. Tokens beyond that are dropped and counted in `dropped`. Default 1000 ms: a one-second
   * stall is made up for at once, a longer one lowers the delivered count instead of causing a flood.
   */
  burstMs?: number;
}

export const defaultPacerOptions: Required<PacerOptions> = { burstMs: 1000 };

/**
 * Tokens accrue at the profile's rate, integrated exactly between the instants the caller observes, so the
 * schedule never drifts however late the timers fire: the count due by time T is ∫₀ᵀ rate, whatever
 * happened in between (within the burst allowance).
 */
export class Pacer {
  readonly profile: LoadProfile;
  readonly #burstMs: number;
  #startMs = 0;
  #lastMs = 0;
  #tokens = 0;
  #initial = 0;
  #emitted = 0;
  #dropped = 0;

  constructor(profile: LoadProfile, options: PacerOptions = {}) {
    const burstMs = options.burstMs ?? defaultPacerOptions.burstMs;
    if (!(burstMs > 0) || !Number.isFinite(burstMs)) throw new RangeError(`burstMs: expected a duration above 0, got ${burstMs}`);
    this.profile = profile;
    this.#burstMs = burstMs;
  }

  /**
   * Starts the schedule at `nowMs` (monotonic clock). The first record is due at once (if the rate at 0
   * is above 0), then one each time another 1/rate has passed: `--rate 50 --duration 10s` gives exactly 500.
   */
  start(nowMs: number): void {
    this.#startMs = nowMs;
    this.#lastMs = nowMs;
    this.#initial = rateAt(this.profile, 0) > 0 ? 1 : 0;
    this.#tokens = this.#initial;
    this.#emitted = 0;
    this.#dropped = 0;
  }

  /** Records that may be emitted at `nowMs`, at most `max`; they are counted as emitted. */
  take(nowMs: number, max = Infinity): number {
    this.#refill(nowMs);
    const n = Math.max(0, Math.min(max, Math.floor(this.#tokens + 1e-9)));
    this.#tokens -= n;
    this.#emitted += n;
    return n;
  }

  /** Ms from `nowMs` until the next record is due (0 if one is due now, Infinity if none ever will be). */
  waitMs(nowMs: number): number {
    this.#refill(nowMs);
    if (this.#tokens + 1e-9 >= 1) return 0;
    const at = timeForCount(this.profile, nowMs - this.#startMs, 1 - this.#tokens);
    return at === Infinity ? Infinity : Math.max(0, at - (nowMs - this.#startMs));
  }

  /** The target rate at `nowMs`. */
  rate(nowMs: number): number {
    return rateAt(this.profile, Math.max(0, nowMs - this.#startMs));
  }

  /** Records the profile asked for from start to `nowMs` (not rounded), counting the one due at the start. */
  expected(nowMs: number): number {
    return this.#initial + countBetween(this.profile, 0, Math.max(0, nowMs - this.#startMs));
  }

  get emitted(): number {
    return this.#emitted;
  }

  /** Records given up because the consumer fell behind by more than the burst allowance. */
  get dropped(): number {
    return this.#dropped;
  }

  #refill(nowMs: number): void {
    if (nowMs <= this.#lastMs) return;
    const from = this.#lastMs - this.#startMs;
    const to = nowMs - this.#startMs;
    this.#tokens += countBetween(this.profile, from, to);
    this.#lastMs = nowMs;
    // The higher of the two rates, so that crossing a step down is not mistaken for falling behind.
    const rate = Math.max(rateAt(this.profile, from), rateAt(this.profile, to));
    // One record in hand plus the catch-up allowance (so that at 1/s a late timer drops nothing).
    const cap = 1 + (rate * this.#burstMs) / 1000;
    if (this.#tokens > cap) {
      this.#dropped += this.#tokens - cap;
      this.#tokens = cap;
    }
  }
}
