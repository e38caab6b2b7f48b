// `lagless palette FILE|URL`: prints the colour palette of one image as one JSON object.
import { readFile } from 'node:fs/promises';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { LaglessError } from '../../errors/index.ts';
import { defaultPaletteOptions, extractPalette } from '../../palette/index.ts';
import { intArg } from '../options.ts';
import type { RegisterCommand } from '../context.ts';

interface PaletteFlags {
  colors: number;
  quality: number;
  exact?: boolean;
  json?: boolean;
  maxPixels: number;
}

export const register: RegisterCommand = (program: Command, ctx) => {
  program
    .command('palette')
    .description('Print the colour palette of an image file or http(s) URL as one JSON object (colorthief 0.2.1 semantics)')
    .argument('<source>', 'an image file path, or an http:// or https:// URL')
    .addOption(new Option('--colors <n>', 'palette size asked of the quantizer, 2..256 (colorthief returns 3 for 2, 4 for 3, n-1 from 8)').argParser(intArg(2, 256)).default(defaultPaletteOptions.colors))
    .addOption(new Option('--quality <n>', 'sample every n-th pixel in exact mode (1 = every pixel)').argParser(intAtLeast(1)).default(defaultPaletteOptions.quality))
    .option('--exact', 'bit-for-bit Python colorthief 0.2.1 on the full-size image (default: fast, downscaled decode)')
    .option('--json', 'print compact JSON on one line (default: indented on a terminal, compact otherwise)')
    .addOption(new Option('--max-pixels <n>', 'refuse images with more pixels than this (decompression bomb guard)').argParser(intAtLeast(1)).default(defaultPaletteOptions.maxPixels))
    .addHelpText(
      'after',
      '\nOutput: {"palette":[[r,g,b],...],"hex":["#rrggbb",...],"width":W,"height":H,"mode":"fast"|"exact","durationMs":N}\n' +
        'Errors exit with 1 and name a stable code: NOT_AN_IMAGE, DECODE_FAILED, TOO_MANY_PIXELS, NO_PIXELS, IO, HTTP_STATUS, ...\n',
    )
    .action(async (source: string, flags: PaletteFlags) => {
      const started = performance.now();
      const bytes = isUrl(source) ? await fetchImageBytes(source, { signal: ctx.signal }) : await readImageFile(source);
      const result = await extractPalette(bytes, {
        colors: flags.colors,
        quality: flags.quality,
        mode: flags.exact ? 'exact' : 'fast',
        maxPixels: flags.maxPixels,
      });
      const out = { ...result, durationMs: Math.round((performance.now() - started) * 10) / 10 };
      const pretty = !flags.json && ctx.stdout.isTTY === true;
      ctx.stdout.write((pretty ? JSON.stringify(out, null, 2) : JSON.stringify(out)) + '\n');
    });
};

/** intArg without an upper bound, with a message that does not print Number.MAX_SAFE_INTEGER. */
function intAtLeast(min: number): (value: string) => number {
  const parse = intArg(min);
  return (value: string) => {
    try {
      return parse(value);
    } catch {
      throw new InvalidArgumentError(`expected an integer of at least ${min}, got "${value}".`);
    }
  };
}

function isUrl(source: string): boolean {
  return /^https?:\/\//i.test(source);
}

async function readImageFile(path: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : (err as Error).message;
    throw new LaglessError('IO', `cannot read ${path}: ${why}`, { cause: err });
  }
}

export interface FetchImageOptions {
  /** refuse bodies larger than this (default 50 MiB) */
  maxBytes?: number;
  /** for the whole request: connect, headers and body (default 30 s) */
  timeoutMs?: number;
  signal?: AbortSignal;
}

// TODO(download): switch to src/download (SSRF guard, retries, the shared limits). This minimal fetcher is for
// the CLI only: a user asking for the palette of a URL on their own machine, so loopback/private hosts are allowed.
/** Downloads an image with a size cap and a timeout; failures are LaglessErrors with the record codes of the pipeline. */
export async function fetchImageBytes(url: string, options: FetchImageOptions = {}): Promise<Uint8Array> {
  const maxBytes = options.maxBytes ?? 50 * 1024 * 1024;
  const timeoutMs = options.timeoutMs ?? 30_000;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (err) {
    throw new LaglessError('INVALID_URL', `invalid URL "${url}"`, { cause: err });
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new LaglessError('INVALID_URL', `not an http(s) URL: "${url}"`);
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  const failed = (err: unknown): LaglessError => {
    if (timeout.aborted) return new LaglessError('TIMEOUT', `no complete answer from ${parsed.host} within ${timeoutMs} ms`, { cause: err });
    if (signal.aborted) return new LaglessError('CONNECT_FAILED', `download of ${url} was cancelled`, { cause: err, retryable: false });
    const code = ((err as Error)?.cause as NodeJS.ErrnoException | undefined)?.code ?? (err as NodeJS.ErrnoException)?.code;
    if (code === 'ENOTFOUND' || code === 'EAI_AGAIN') return new LaglessError('DNS_FAILED', `cannot resolve ${parsed.hostname}`, { cause: err });
    return new LaglessError('CONNECT_FAILED', `cannot download ${url}: ${code ?? (err as Error)?.message ?? String(err)}`, { cause: err });
  };
  let response: Response;
  try {
    response = await fetch(parsed, { signal, redirect: 'follow', headers: { accept: 'image/*' } });
  } catch (err) {
    throw failed(err);
  }
  if (!response.ok) {
    await response.body?.cancel().catch(() => {});
    const retryable = response.status >= 500 || response.status === 429;
    throw new LaglessError('HTTP_STATUS', `${url} answered HTTP ${response.status}`, { retryable, status: response.status });
  }
  const declared = Number(response.headers.get('content-length'));
  if (Number.isFinite(declared) && declared > maxBytes) {
    await response.body?.cancel().catch(() => {});
    throw new LaglessError('TOO_LARGE', `${url} is ${declared} bytes, more than the limit of ${maxBytes}`);
  }
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for await (const chunk of response.body ?? []) {
      total += chunk.byteLength;
      if (total > maxBytes) {
        await response.body?.cancel().catch(() => {});
        throw new LaglessError('TOO_LARGE', `${url} sent more than the limit of ${maxBytes} bytes`);
      }
      chunks.push(chunk);
    }
  } catch (err) {
    if (err instanceof LaglessError) throw err;
    throw failed(err);
  }
  return Buffer.concat(chunks, total);
}
