// The contract every record source follows: an async iterable of {id, url} records plus events the CLI can count and print.

/** One input record for topic `urls`: key = id, value = JSON `{"id","url"}`. */
export interface UrlRecord {
  id: string;
  url: string;
}

/** Why the X source waits before reconnecting (each kind has its own backoff schedule, per X's documentation). */
export type ReconnectKind = 'network' | 'http' | 'rate-limit';

/**
 * What a source reports besides records. `skipped` is bad input that was left out (never silently), with a stable
 * `code` where the source gives one (the file source: LINE_TOO_LONG or INVALID_MESSAGE); the others are for progress
 * and diagnostics.
 */
export type SourceEvent =
  | { type: 'skipped'; reason: string; code?: string; line?: number; text?: string }
  | { type: 'connected'; url: string }
  | { type: 'disconnected'; reason: string }
  | { type: 'reconnecting'; kind: ReconnectKind; attempt: number; delayMs: number; reason: string; basis: string }
  | { type: 'stream-error'; message: string };

export type SourceEventListener = (event: SourceEvent) => void;

/** Options every source takes. */
export interface SourceBaseOptions {
  /** Stops the source: iteration ends after the record in hand (no error). */
  signal?: AbortSignal;
  /** Receives skipped input and diagnostics; the source never logs. */
  onEvent?: SourceEventListener;
}

/** A source of records. Iterate it once; it ends at end of input, at its count/duration, or on abort. */
export interface RecordSource<Stats = Record<string, number>> extends AsyncIterable<UrlRecord> {
  readonly kind: SourceKind;
  /** Live counters for progress lines (a fresh snapshot on each call). */
  stats(): Stats;
}

export const SourceKinds = {
  x: 'the X API v2 filtered stream, one record per photo',
  file: 'JSON lines {"id","url"} or one URL per line, from a file or stdin',
  synthetic: 'generated records pointing at a local image server, paced by a load profile',
} as const;

export type SourceKind = keyof typeof SourceKinds;
