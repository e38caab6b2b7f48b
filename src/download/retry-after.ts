// Parses the HTTP Retry-After header (delay-seconds or HTTP-date, RFC 9110 §10.2.3) into a delay in ms.

/**
 * Returns the delay the server asks for, in ms from `nowMs` (never negative), or undefined when the header is
 * absent or unreadable. A date in the past means "retry now" (0).
 */
export function parseRetryAfter(value: string | undefined, nowMs: number = Date.now()): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) {
    const seconds = Number(text);
    return Number.isSafeInteger(seconds * 1000) ? seconds * 1000 : undefined;
  }
  // IMF-fixdate or RFC 850 date: a weekday and a "GMT" zone. Requiring both keeps Date.parse from reading other
  // text (or asctime dates, which have no zone) as local time.
  if (!/^[A-Za-z]{3,9}, .+ GMT$/.test(text)) return undefined;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, at - nowMs);
}
