// What the dashboard shows of output and dead-letter records: parsed defensively (any job, any value), strings kept as strings, never as markup.
import type { OutputPreview, OutputView } from '../job/index.ts';

/** Where a record was read, and its broker timestamp (ms). */
export interface RecordMeta {
  topic: string;
  partition: number;
  offset: number;
  timestamp: number;
}

/**
 * One of the latest outputs, as the page shows it: the job's preview of it, or the default one (its key and short
 * values). Every string is text for the page (never markup): colours are validated `#rrggbb`, the image an http(s) URL.
 */
export interface OutputEntry extends RecordMeta {
  key: string | null;
  title: string;
  image: string | null;
  swatches: string[];
  fields: [name: string, value: string][];
  /** Whether the job's preview made it (false: the default, key and short values). */
  previewed: boolean;
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
/** Longest value of a preview's field, and of the default preview's values: a card shows short values. */
export const MAX_FIELD_TEXT = 120;
/** Most fields of a preview, most top-level fields the default one shows, and most swatches. */
const MAX_FIELDS = 12;
const MAX_SWATCHES = 64;

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

const short = (v: string, max = MAX_FIELD_TEXT): string => (v.length > max ? `${v.slice(0, max - 1)}…` : v);

/** What the default preview shows of a value: a JSON object's top-level fields, each cut short, or the value itself cut short. */
function defaultFields(value: string): [string, string][] {
  const o = object(value);
  if (!o) return value === '' ? [] : [['value', short(value)]];
  return Object.entries(o)
    .slice(0, MAX_FIELDS)
    .map(([k, v]) => [short(k, 64), short(typeof v === 'string' ? v : (JSON.stringify(v) ?? String(v)))]);
}

/**
 * One output record as the page shows it: through `preview` (the job's) when given, checked field by field; the default
 * (key and short values) when there is none or it throws or returns nothing usable.
 */
export function outputEntry(record: OutputView, meta: RecordMeta, preview?: (output: OutputView) => OutputPreview | undefined): OutputEntry {
  const key = record.key === undefined ? null : text(record.key);
  let p: OutputPreview | undefined;
  try {
    const v = preview?.(record) as unknown;
    p = v && typeof v === 'object' && !Array.isArray(v) ? (v as OutputPreview) : undefined;
  } catch {
    p = undefined;
  }
  if (!p) return { ...meta, key, title: key ?? '', image: null, swatches: [], fields: defaultFields(record.value), previewed: false };
  // Each part is read once, and whatever it holds (a getter that throws, a Proxy) costs only that part.
  const image = text(read(() => p.image));
  const swatches = read(() => {
    const list = p.swatches as unknown;
    if (!Array.isArray(list)) return [];
    return list.slice(0, MAX_SWATCHES).flatMap((h: unknown) => (typeof h === 'string' && HEX.test(h.toLowerCase()) ? [h.toLowerCase()] : []));
  });
  const fields = read(() => {
    const f = p.fields as unknown;
    if (!f || typeof f !== 'object' || Array.isArray(f)) return [];
    return Object.entries(f as Record<string, unknown>)
      .filter((e): e is [string, string] => typeof e[1] === 'string')
      .slice(0, MAX_FIELDS)
      .map(([k, v]): [string, string] => [short(k, 64), short(v)]);
  });
  return {
    ...meta,
    key,
    title: text(read(() => p.title)) ?? key ?? '',
    image: image && /^https?:\/\//i.test(image) ? image : null,
    swatches: swatches ?? [],
    fields: fields ?? [],
    previewed: true,
  };
}

/** A field of the job's preview, or undefined when reading it throws (a getter of the job's). */
function read<T>(f: () => T): T | undefined {
  try {
    return f();
  } catch {
    return undefined;
  }
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
