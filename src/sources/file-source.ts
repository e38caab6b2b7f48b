// The file source: JSON lines {"id","url"} or bare URLs, from a file or stdin; bad lines are reported with their number and skipped.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { LaglessError } from '../errors/index.ts';
import type { RecordSource, SourceBaseOptions, UrlRecord } from './types.ts';

/** Lines longer than this are skipped (a URL of 64 KiB is already absurd; it protects memory and the topic). */
export const MAX_LINE_LENGTH = 65_536;

/**
 * The most bytes of one line the reader holds: what MAX_LINE_LENGTH characters can take in UTF-8. A longer line cannot
 * pass parseLine (unless most of it is blanks around the text), so it is skipped as it streams by, never held whole.
 */
export const MAX_LINE_BYTES = 4 * MAX_LINE_LENGTH;

/** Why a line was skipped: LINE_TOO_LONG, or INVALID_MESSAGE for anything else that is not a record. */
export type SkipCode = 'LINE_TOO_LONG' | 'INVALID_MESSAGE';

export type ParsedLine = { record: UrlRecord } | { skip: string; code: SkipCode } | null;

const TOO_LONG = { skip: `line longer than ${MAX_LINE_LENGTH} characters`, code: 'LINE_TOO_LONG' } as const;

/**
 * The id given to a bare URL line: "u" + the first 24 hex digits (96 bits) of the SHA-256 of the URL as
 * written on the line (after trimming). The same line always gets the same id, so producing a file twice
 * yields the same keys; different spellings of one address are different ids.
 */
export function idForUrl(url: string): string {
  return 'u' + createHash('sha256').update(url, 'utf8').digest('hex').slice(0, 24);
}

/** Why `text` is not an http(s) URL, or undefined when it is one. */
export function urlProblem(text: string): string | undefined {
  if (!URL.canParse(text)) return 'not a URL';
  const u = new URL(text);
  if (u.protocol !== 'http:' && u.protocol !== 'https:') return `not an http(s) URL (scheme ${u.protocol.slice(0, -1)})`;
  if (u.hostname === '') return 'URL without a host';
  return undefined;
}

/**
 * Parses one input line. Returns null for a blank line, `{record}` for a good one, `{skip: reason}` for a
 * bad one. A line starting with "{" is JSON and must be an object with non-empty string "id" and "url"
 * (other fields are dropped); any other line must be an http(s) URL.
 */
export function parseLine(line: string): ParsedLine {
  const text = line.trim();
  if (text === '') return null;
  if (text.length > MAX_LINE_LENGTH) return TOO_LONG;
  const invalid = (skip: string) => ({ skip, code: 'INVALID_MESSAGE' }) as const;
  if (text.startsWith('{')) {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      return invalid(`invalid JSON (${(err as Error).message})`);
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return invalid('not a JSON object');
    const { id, url } = value as Record<string, unknown>;
    if (id === undefined) return invalid('missing "id"');
    if (typeof id !== 'string' || id === '') return invalid('"id" is not a non-empty string');
    if (url === undefined) return invalid('missing "url"');
    if (typeof url !== 'string') return invalid('"url" is not a string');
    const problem = urlProblem(url);
    if (problem) return invalid(`"url" is ${problem.startsWith('not') ? '' : 'a '}${problem}`);
    return { record: { id, url } };
  }
  const problem = urlProblem(text);
  if (problem) return invalid(`neither a JSON object nor an http(s) URL (${problem})`);
  return { record: { id: idForUrl(text), url: text } };
}

/** A line of input: its text, or, past `maxBytes`, only its first bytes (the rest was read and dropped). */
export type InputLine = { text: string } | { tooLong: true; start: string };

const LF = 0x0a;
const CR = 0x0d;
const CLIP_BYTES = 480;

/**
 * Splits a byte stream into lines as readline does (LF, CRLF or a lone CR end a line; a last line without an end
 * counts), but holds at most `maxBytes` of a line: the rest of a longer one is dropped as it arrives, so one endless
 * line costs no more memory than a chunk and `maxBytes`. Ends early, leaving the stream alone, when `signal` aborts.
 */
export async function* readLines(input: NodeJS.ReadableStream, maxBytes: number, signal?: AbortSignal): AsyncGenerator<InputLine> {
  // destroyOnReturn: false, so that stopping early leaves the caller's stdin usable.
  const stream = input as Readable;
  const chunks: AsyncIterator<Buffer | string> = typeof stream.iterator === 'function' ? stream.iterator({ destroyOnReturn: false }) : input[Symbol.asyncIterator]();
  // One promise per read, its abort listener removed after: racing every read against one long-lived promise would
  // keep every chunk ever read reachable from that promise's reactions.
  const next = (): Promise<IteratorResult<Buffer | string> | 'aborted'> => {
    if (!signal) return chunks.next();
    return new Promise((resolve, reject) => {
      const onAbort = () => resolve('aborted');
      signal.addEventListener('abort', onAbort, { once: true });
      chunks.next().then(
        (r) => {
          signal.removeEventListener('abort', onAbort);
          resolve(r);
        },
        (err: unknown) => {
          signal.removeEventListener('abort', onAbort);
          reject(err);
        },
      );
    });
  };
  let parts: Buffer[] = [];
  let held = 0;
  // Set once the line is over maxBytes: its first bytes, for the report; the rest is dropped as it comes.
  let start: Buffer | undefined;
  const add = (piece: Buffer, copy: boolean) => {
    if (start || piece.length === 0) return;
    if (held + piece.length > maxBytes) {
      start = Buffer.concat([...parts, piece.subarray(0, CLIP_BYTES)]).subarray(0, CLIP_BYTES);
      parts = [];
      held = 0;
      return;
    }
    // A piece kept past its chunk is copied: a view would pin the whole chunk.
    parts.push(copy ? Buffer.from(piece) : piece);
    held += piece.length;
  };
  const end = (): InputLine => {
    const line: InputLine = start ? { tooLong: true, start: start.toString('utf8') } : { text: Buffer.concat(parts, held).toString('utf8') };
    parts = [];
    held = 0;
    start = undefined;
    return line;
  };
  // A CR ended the last line: a LF right after it (maybe at the start of the next chunk) ends no line of its own.
  let afterCr = false;
  try {
    for (;;) {
      if (signal?.aborted) return;
      const read = await next();
      if (read === 'aborted' || read.done) break;
      const chunk = typeof read.value === 'string' ? Buffer.from(read.value, 'utf8') : read.value;
      let from = afterCr && chunk[0] === LF ? 1 : 0;
      afterCr = false;
      let lf = -2;
      let cr = -2;
      while (from < chunk.length) {
        if (lf !== -1 && lf < from) lf = chunk.indexOf(LF, from);
        if (cr !== -1 && cr < from) cr = chunk.indexOf(CR, from);
        const eol = lf === -1 ? cr : cr === -1 ? lf : Math.min(lf, cr);
        if (eol === -1) {
          add(chunk.subarray(from), true);
          break;
        }
        add(chunk.subarray(from, eol), false);
        const line = end();
        from = eol + 1;
        if (eol === cr) {
          if (from === chunk.length) afterCr = true;
          else if (chunk[from] === LF) from += 1;
        }
        yield line;
        if (signal?.aborted) return;
      }
    }
    if (signal?.aborted) return;
    if (held > 0 || start) yield end();
  } finally {
    void chunks.return?.()?.catch(() => {});
  }
}

export interface FileSourceOptions extends SourceBaseOptions {
  /** A file path, or "-" for `stdin`. */
  path: string;
  /** The stream read for "-" (the CLI passes its stdin). */
  stdin?: NodeJS.ReadableStream;
}

export interface FileSourceStats {
  lines: number;
  records: number;
  skipped: number;
}

/**
 * Opens the file at once (a missing or unreadable file fails here, before anything is produced) and
 * returns a source that reads it line by line. Rejects with LaglessError IO naming the file.
 */
export async function openFileSource(options: FileSourceOptions): Promise<RecordSource<FileSourceStats>> {
  const { path, signal, onEvent } = options;
  let handle: FileHandle | undefined;
  let input: NodeJS.ReadableStream;
  if (path === '-') {
    if (!options.stdin) throw new LaglessError('IO', 'reading from stdin ("-") needs a stdin stream');
    input = options.stdin;
  } else {
    try {
      handle = await open(path, 'r');
      const info = await handle.stat();
      if (info.isDirectory()) throw Object.assign(new Error('is a directory'), { code: 'EISDIR' });
    } catch (err) {
      await handle?.close().catch(() => {});
      throw new LaglessError('IO', `cannot read --file ${path}: ${describeFsError(err)}`, { cause: err, path });
    }
    input = createReadStream('', { fd: handle, autoClose: true });
  }

  const stats: FileSourceStats = { lines: 0, records: 0, skipped: 0 };
  let iterated = false;
  return {
    kind: 'file',
    stats: () => ({ ...stats }),
    async *[Symbol.asyncIterator]() {
      if (iterated) throw new Error('a file source can be iterated once');
      iterated = true;
      try {
        if (signal?.aborted) return;
        for await (const read of readLines(input, MAX_LINE_BYTES, signal)) {
          stats.lines += 1;
          const raw = 'text' in read ? read.text : read.start;
          // A UTF-8 byte order mark is not part of the first line.
          const line = stats.lines === 1 && raw.startsWith('\uFEFF') ? raw.slice(1) : raw;
          const parsed = 'text' in read ? parseLine(line) : TOO_LONG;
          if (parsed === null) continue;
          if ('skip' in parsed) {
            stats.skipped += 1;
            onEvent?.({ type: 'skipped', reason: parsed.skip, code: parsed.code, line: stats.lines, text: clip(line) });
            continue;
          }
          stats.records += 1;
          yield parsed.record;
          if (signal?.aborted) return;
        }
      } catch (err) {
        if (signal?.aborted) return;
        throw new LaglessError('IO', `reading --file ${path} failed after line ${stats.lines}: ${describeFsError(err)}`, { cause: err, path });
      } finally {
        // Leave the caller's stdin alone; close our own file.
        if (handle) (input as NodeJS.ReadableStream & { destroy(): void }).destroy();
      }
    },
  };
}

function clip(text: string, max = 120): string {
  return text.length > max ? text.slice(0, max) + '…' : text;
}

function describeFsError(err: unknown): string {
  const code = (err as NodeJS.ErrnoException)?.code;
  switch (code) {
    case 'ENOENT':
      return 'no such file';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied';
    case 'EISDIR':
      return 'it is a directory, not a file';
    default:
      return (err as Error)?.message ?? String(err);
  }
}
