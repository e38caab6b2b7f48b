// `lagless palette FILE|URL`: prints the colour palette of one image as one JSON object.
import { readFile } from 'node:fs/promises';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { download } from '../../download/index.ts';
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
      // A URL typed by the user on their own machine: private and loopback hosts are allowed here (unlike `run palette`).
      const bytes = isUrl(source) ? (await download(source, { allowPrivate: true, signal: ctx.signal })).bytes : await readImageFile(source);
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
