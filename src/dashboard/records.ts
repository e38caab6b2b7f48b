// What the dashboard shows of output and dead-letter records: parsed defensively (any job, any value), strings kept as strings, never as markup.

/** Where a record was read, and its broker timestamp (ms). */
export interface RecordMeta {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number;
}

/** A palette in the gallery: the swatches' colours are validated `#rrggbb` strings. */
export interface GalleryEntry extends RecordMeta {
  id: string;
  url: string;
  hex: string[];
  width: number | null;
  height: number | null;
}

export interface DeadLetterEntry extends RecordMeta {
  id: string | null;
  url: string | null;
  code: string;
  message: string;
  attempts: number | null;
}

const HEX = /^#[0-9a-f]{6}$/;
/** Longest string kept from a record (ids, URLs, messages): a page of huge strings is no help to anyone. */
export const MAX_TEXT = 2048;

const text = (v: unknown): string | null => (typeof v === 'string' ? v.slice(0, MAX_TEXT) : null);
const num = (v: unknown): number | null => (typeof v === 'number' && Number.isFinite(v) ? v : null);

function object(value: string | undefined | null): Record<string, unknown> | undefined {
  if (!value) return undefined;
  try {
    const v = JSON.parse(value) as unknown;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** A palette output record (`{"id","url","hex":[...]}`), or undefined when the value is not one. */
export function parseGalleryEntry(value: string | undefined | null, meta: RecordMeta, key?: string | null): GalleryEntry | undefined {
  const o = object(value);
  if (!o || !Array.isArray(o.hex) || o.hex.length === 0) return undefined;
  const hex = o.hex.slice(0, 64).map((h) => (typeof h === 'string' ? h.toLowerCase() : ''));
  if (!hex.every((h) => HEX.test(h))) return undefined;
  return { ...meta, id: text(o.id) ?? text(key) ?? '', url: text(o.url) ?? '', hex, width: num(o.width), height: num(o.height) };
}

/** A dead letter; a value that is not a Lagless dead letter still shows, with code "UNREADABLE" and the value as its message. */
export function parseDeadLetterEntry(value: string | undefined | null, meta: RecordMeta, key?: string | null): DeadLetterEntry {
  const o = object(value);
  const error = o && o.error && typeof o.error === 'object' ? (o.error as Record<string, unknown>) : undefined;
  const code = text(error?.code);
  if (!o || !code) {
    return { ...meta, id: text(key), url: null, code: 'UNREADABLE', message: `not a dead-letter record: ${(value ?? '').slice(0, 200)}`, attempts: null };
  }
  return { ...meta, id: text(o.id) ?? text(key), url: text(o.url), code: code.slice(0, 64), message: text(error?.message) ?? '', attempts: num(o.attempts) };
}
