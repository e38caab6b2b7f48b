// The file source: JSON lines {"id","url"} or bare URLs, from a file or stdin; bad lines are reported with their number and skipped.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { LaglessError } from '../errors/index.ts';
import type { RecordSource, SourceBaseOptions, UrlRecord } from './types.ts';

/** Lines longer than this are skipped (a URL of 64 KiB is already absurd; it protects memory and the topic). */
export const MAX_LINE_LENGTH = 65_536;

export type ParsedLine = { record: UrlRecord } | { skip: string } | null;

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
  if (text.length > MAX_LINE_LENGTH) return { skip: `line longer than ${MAX_LINE_LENGTH} characters` };
  if (text.startsWith('{')) {
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      return { skip: `invalid JSON (${(err as Error).message})` };
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return { skip: 'not a JSON object' };
    const { id, url } = value as Record<string, unknown>;
    if (id === undefined) return { skip: 'missing "id"' };
    if (typeof id !== 'string' || id === '') return { skip: '"id" is not a non-empty string' };
    if (url === undefined) return { skip: 'missing "url"' };
    if (typeof url !== 'string') return { skip: '"url" is not a string' };
    const problem = urlProblem(url);
    if (problem) return { skip: `"url" is ${problem.startsWith('not') ? '' : 'a '}${problem}` };
    return { record: { id, url } };
  }
  const problem = urlProblem(text);
  if (problem) return { skip: `neither a JSON object nor an http(s) URL (${problem})` };
  return { record: { id: idForUrl(text), url: text } };
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
      const rl = createInterface({ input, crlfDelay: Infinity });
      const onAbort = () => rl.close();
      signal?.addEventListener('abort', onAbort, { once: true });
      try {
        if (signal?.aborted) return;
        for await (const raw of rl) {
          stats.lines += 1;
          // A UTF-8 byte order mark is not part of the first line.
          const line = stats.lines === 1 && raw.startsWith('\uFEFF') ? raw.slice(1) : raw;
          const parsed = parseLine(line);
          if (parsed === null) continue;
          if ('skip' in parsed) {
            stats.skipped += 1;
            onEvent?.({ type: 'skipped', reason: parsed.skip, line: stats.lines, text: clip(line) });
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
        signal?.removeEventListener('abort', onAbort);
        rl.close();
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
