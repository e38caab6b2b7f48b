// Parses and formats human durations ("250ms", "10s", "1.5m", "2h") used by CLI flags and load profiles.

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses "500ms", "10s", "1.5m", "2h" (a bare number means milliseconds). Returns ms, or throws RangeError. */
export function parseDuration(text: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)?\s*$/.exec(text);
  if (!m) throw new RangeError(`invalid duration "${text}": use a number with a unit, e.g. 500ms, 10s, 2m, 1h`);
  const value = Number(m[1]) * UNITS[m[2] ?? 'ms']!;
  if (!Number.isFinite(value)) throw new RangeError(`invalid duration "${text}"`);
  return Math.round(value);
}

/** Formats ms for people: 950ms, 12.3s, 4m05s, 1h02m. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)}s`;
  if (ms < 3_600_000) {
    const m = Math.floor(ms / 60_000);
    const s = Math.floor((ms % 60_000) / 1000);
    return `${m}m${String(s).padStart(2, '0')}s`;
  }
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  return `${h}h${String(m).padStart(2, '0')}m`;
}
