// Palette benchmark, one core: Lagless fast/exact vs sharp's decode floors, npm colorthief v3 and Python colorthief 0.2.1.
//
//   npm run bench -- palette [--images DIR] [--runs 7] [--python-runs 3] [--colors 6] [--quality 10]
//                            [--fast-pixels 65536] [--no-python] [--no-npm] [--no-pin] [--out FILE]
//
// Every Node measurement runs sequentially in this one thread, with libvips limited to one thread and its
// operation cache off (else repeated decodes of the same bytes would be cache hits). The process pins itself
// to CPU 0 with taskset when it can, and so does the Python process, which runs after the Node timings.
// Per image, each method runs back to back (steady state); medians are reported.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { provenance } from './lib/provenance.ts';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import sharp from 'sharp';
import { getPalette as colorthiefV3 } from 'colorthief';
import { defaultPaletteOptions, extractPalette, paletteDistance, type Rgb } from '../src/palette/index.ts';
import { planFastDecode } from '../src/palette/extract.ts';

const ROOT = resolve(new URL('..', import.meta.url).pathname);
const DEFAULT_IMAGES = join(ROOT, '.lagless/cache/bench-images');
const VENV_PYTHON = join(ROOT, '.lagless/venv/bin/python');
const TARGETS = { fastVsPython: 15, fastVsFloor: 1.25, exactVsPython: 5, exactVsFullDecode: 1.25 } as const;

const { values: args } = parseArgs({
  options: {
    images: { type: 'string' },
    runs: { type: 'string', default: '7' },
    'python-runs': { type: 'string', default: '3' },
    colors: { type: 'string', default: String(defaultPaletteOptions.colors) },
    quality: { type: 'string', default: String(defaultPaletteOptions.quality) },
    'fast-pixels': { type: 'string', default: String(defaultPaletteOptions.fastPixels) },
    'no-python': { type: 'boolean', default: false },
    'no-npm': { type: 'boolean', default: false },
    'no-pin': { type: 'boolean', default: false },
    out: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});
if (args.help) {
  process.stdout.write(readFileSync(new URL(import.meta.url), 'utf8').split('\n').slice(0, 9).join('\n') + '\n');
  process.exit(0);
}
const intOf = (name: string, v: string | undefined, min: number) => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) {
    process.stderr.write(`error: --${name} must be an integer >= ${min}, got "${v}"\n`);
    process.exit(2);
  }
  return n;
};
const runs = intOf('runs', args.runs, 1);
const pythonRuns = intOf('python-runs', args['python-runs'], 1);
const colors = intOf('colors', args.colors, 2);
const quality = intOf('quality', args.quality, 1);
const fastPixels = intOf('fast-pixels', args['fast-pixels'], 1);

const hasTaskset = spawnSync('taskset', ['-c', '0', 'true']).status === 0;
if (!args['no-pin'] && hasTaskset && !process.env.LAGLESS_BENCH_PINNED) {
  // Re-run this very script pinned to CPU 0 (threads inherit the affinity).
  const child = spawnSync('taskset', ['-c', '0', process.execPath, ...process.execArgv, new URL(import.meta.url).pathname, ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: { ...process.env, LAGLESS_BENCH_PINNED: '1' },
  });
  process.exit(child.status ?? 1);
}
const pinned = process.env.LAGLESS_BENCH_PINNED === '1';

sharp.concurrency(1);
sharp.cache(false);


function imageDir(): string {
  const dir = args.images ? resolve(args.images) : DEFAULT_IMAGES;
  const list = () => (existsSync(dir) ? readdirSync(dir).filter((f) => /\.(jpe?g|png|webp|gif|avif|tiff?)$/i.test(f)) : []);
  if (list().length === 0 && !args.images) {
    process.stderr.write(`no bench images in ${dir}: fetching them with scripts/fetch-bench-images.sh (Debian packages)\n`);
    const r = spawnSync(join(ROOT, 'scripts/fetch-bench-images.sh'), [dir], { stdio: 'inherit' });
    if (r.status !== 0) {
      process.stderr.write(`could not fetch them; put 10-20 real photos in ${dir} or pass --images DIR\n`);
      process.exit(1);
    }
  }
  if (list().length === 0) {
    process.stderr.write(`error: no images (jpg, png, webp, gif, avif, tif) in ${dir}\n`);
    process.exit(1);
  }
  return dir;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

type Method = 'fast' | 'exact' | 'floorFast' | 'floorFull' | 'colorthiefV3';
const METHODS: Method[] = ['fast', 'exact', 'floorFast', 'floorFull', 'colorthiefV3'];

interface ImageRow {
  file: string;
  format: string;
  width: number;
  height: number;
  bytes: number;
  fastPlan: string;
  ms: Record<Method | 'python', number | null>;
  fastVsExact: { mean: number; max: number };
  exactEqualsPython: boolean | null;
  pythonError?: string | null;
}

async function benchImage(path: string): Promise<Omit<ImageRow, 'ms'> & { ms: Record<Method, number | null>; exactPalette: Rgb[] }> {
  const bytes = readFileSync(path);
  const meta = await sharp(bytes).metadata();
  const width = meta.width!;
  const height = meta.pageHeight ?? meta.height!;
  const plan = planFastDecode({ format: meta.format!, width, height, space: meta.space! }, { quality, fastPixels });
  // The same decode options as the engine (ICC ignored, first page, failOn error): the floor is the decode alone.
  const o = { failOn: 'error', ignoreIcc: true, pages: 1, sequentialRead: true } as const;
  const fns: Record<Method, () => Promise<unknown>> = {
    fast: () => extractPalette(bytes, { colors, quality, fastPixels }),
    exact: () => extractPalette(bytes, { mode: 'exact', colors, quality }),
    floorFast:
      plan.decode === 'downscaled'
        ? () => sharp(bytes, o).resize(plan.width, plan.height, { fit: 'fill', kernel: 'nearest', fastShrinkOnLoad: true }).raw().toBuffer()
        : () => sharp(bytes, o).raw().toBuffer(),
    floorFull: () => sharp(bytes, o).raw().toBuffer(),
    colorthiefV3: () => colorthiefV3(bytes, { colorCount: colors, quality }),
  };
  const samples: Record<Method, number[]> = { fast: [], exact: [], floorFast: [], floorFull: [], colorthiefV3: [] };
  // Each method runs its rounds back to back (after one warm-up call), so that it pays for its own garbage
  // (12 MB pixel buffers) in steady state, as in a pipeline; interleaving made one method's garbage land
  // on the next method's clock, and forcing a GC before each call left caches cold for the JS parts only.
  for (const m of METHODS) {
    if (m === 'colorthiefV3' && args['no-npm']) continue;
    await fns[m]();
    for (let round = 0; round < runs; round++) {
      const t0 = performance.now();
      await fns[m]();
      samples[m].push(performance.now() - t0);
    }
  }
  const fast = await extractPalette(bytes, { colors, quality, fastPixels });
  const exact = await extractPalette(bytes, { mode: 'exact', colors, quality });
  const d = paletteDistance(fast.palette, exact.palette);
  const ms = Object.fromEntries(METHODS.map((m) => [m, samples[m].length ? median(samples[m]) : null])) as Record<Method, number | null>;
  return {
    file: path,
    format: meta.format!,
    width,
    height,
    bytes: bytes.length,
    fastPlan: plan.decode === 'downscaled' ? `jpeg-shrink ${plan.width}x${plan.height}` : `full, step ${plan.step}`,
    ms,
    fastVsExact: { mean: d.mean, max: d.max },
    exactEqualsPython: null,
    exactPalette: exact.palette,
  };
}

function runPython(files: string[]): Record<string, { ms: number[]; palette: Rgb[] | null; error: string | null }> | null {
  if (args['no-python']) return null;
  if (!existsSync(VENV_PYTHON) || spawnSync(VENV_PYTHON, ['-c', 'import colorthief']).status !== 0) {
    process.stderr.write('Python colorthief 0.2.1 not found: run scripts/golden-palettes.sh once to create .lagless/venv (or pass --no-python)\n');
    return null;
  }
  const argv = [join(ROOT, 'bench/palette_python.py'), String(pythonRuns), String(colors), String(quality), ...files];
  const [cmd, cmdArgs] = hasTaskset && !args['no-pin'] ? ['taskset', ['-c', '0', VENV_PYTHON, ...argv]] : [VENV_PYTHON, argv];
  const stdout = execFileSync(cmd as string, cmdArgs as string[], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 << 20 });
  return JSON.parse(stdout);
}

const fmt = (v: number | null, digits = 1) => (v === null ? '-' : v.toFixed(digits));
const pad = (s: string, n: number) => (s.length >= n ? s : s + ' '.repeat(n - s.length));
const lpad = (s: string, n: number) => (s.length >= n ? s : ' '.repeat(n - s.length) + s);

async function main() {
  const dir = imageDir();
  const files = readdirSync(dir)
    .filter((f) => /\.(jpe?g|png|webp|gif|avif|tiff?)$/i.test(f))
    .sort()
    .map((f) => join(dir, f));
  const versions = { node: process.version, sharp: sharp.versions.sharp, vips: sharp.versions.vips };
  process.stderr.write(`palette bench: ${files.length} images from ${dir}, colors=${colors} quality=${quality}, ${runs} runs (python ${pythonRuns}), ${pinned ? 'pinned to CPU 0' : 'NOT pinned'}\n`);

  const rows: ImageRow[] = [];
  const exactPalettes = new Map<string, Rgb[]>();
  for (const f of files) {
    process.stderr.write(`  node ${f}\n`);
    const { exactPalette, ...row } = await benchImage(f);
    exactPalettes.set(f, exactPalette);
    rows.push({ ...row, ms: { ...row.ms, python: null } });
  }
  const py = runPython(files);
  for (const row of rows) {
    const p = py?.[row.file];
    if (!p) continue;
    row.ms.python = p.ms.length ? median(p.ms) : null;
    row.pythonError = p.error;
    row.exactEqualsPython = p.palette ? JSON.stringify(p.palette) === JSON.stringify(exactPalettes.get(row.file)) : null;
  }

  const cols: (Method | 'python')[] = ['fast', 'exact', 'floorFast', 'floorFull', 'colorthiefV3', 'python'];
  const total = (m: Method | 'python') => (rows.every((r) => r.ms[m] !== null) ? rows.reduce((a, r) => a + r.ms[m]!, 0) : null);
  const totals = Object.fromEntries(cols.map((c) => [c, total(c)])) as Record<Method | 'python', number | null>;
  const ratio = (a: number | null, b: number | null) => (a === null || b === null ? null : a / b);
  const ratios = {
    fastVsPython: ratio(totals.python, totals.fast),
    fastVsFloor: ratio(totals.fast, totals.floorFast),
    exactVsPython: ratio(totals.python, totals.exact),
    exactVsFullDecode: ratio(totals.exact, totals.floorFull),
    fastVsExact: ratio(totals.exact, totals.fast),
    colorthiefV3VsFast: ratio(totals.colorthiefV3, totals.fast),
  };

  // ---- the table ----
  const header = ['image', 'MP', 'fast', 'exact', 'floor-dn', 'floor-full', 'ct-npm', 'python', 'py/fast', 'py/exact', 'fast/fl', 'exact/fl', 'dE mean', 'dE max', 'ex=py'];
  const widths = [30, 5, 7, 7, 8, 10, 7, 8, 8, 8, 7, 8, 7, 6, 5];
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? pad(c, widths[i]!) : lpad(c, widths[i]!))).join(' ');
  const out: string[] = [];
  out.push(`medians in ms, ${runs} runs (python ${pythonRuns}); colors=${colors} quality=${quality} fastPixels=${fastPixels}; ${pinned ? 'pinned to CPU 0' : 'not pinned'}; node ${versions.node}, sharp ${versions.sharp} (libvips ${versions.vips})`);
  out.push('floor-dn: the sharp decode fast mode uses, alone (downscaled JPEG, else full); floor-full: full decode alone; dE: CIEDE2000 fast vs exact after optimal matching');
  out.push(line(header));
  for (const r of rows) {
    const name = r.file.split('/').pop()!;
    out.push(
      line([
        name.length > 30 ? name.slice(0, 29) + '~' : name,
        fmt((r.width * r.height) / 1e6),
        fmt(r.ms.fast),
        fmt(r.ms.exact),
        fmt(r.ms.floorFast),
        fmt(r.ms.floorFull),
        fmt(r.ms.colorthiefV3),
        fmt(r.ms.python, 0),
        fmt(ratio(r.ms.python, r.ms.fast)),
        fmt(ratio(r.ms.python, r.ms.exact)),
        fmt(ratio(r.ms.fast, r.ms.floorFast), 2),
        fmt(ratio(r.ms.exact, r.ms.floorFull), 2),
        fmt(r.fastVsExact.mean, 2),
        fmt(r.fastVsExact.max, 1),
        r.exactEqualsPython === null ? '-' : r.exactEqualsPython ? 'yes' : 'NO',
      ]),
    );
  }
  const meanDe = rows.reduce((a, r) => a + r.fastVsExact.mean, 0) / rows.length;
  out.push(
    line([
      'TOTAL',
      fmt(rows.reduce((a, r) => a + (r.width * r.height) / 1e6, 0)),
      fmt(totals.fast),
      fmt(totals.exact),
      fmt(totals.floorFast),
      fmt(totals.floorFull),
      fmt(totals.colorthiefV3),
      fmt(totals.python, 0),
      fmt(ratios.fastVsPython),
      fmt(ratios.exactVsPython),
      fmt(ratios.fastVsFloor, 2),
      fmt(ratios.exactVsFullDecode, 2),
      fmt(meanDe, 2),
      fmt(Math.max(...rows.map((r) => r.fastVsExact.max)), 1),
      `${rows.filter((r) => r.exactEqualsPython).length}/${rows.filter((r) => r.exactEqualsPython !== null).length}`,
    ]),
  );
  const verdict = (name: string, value: number | null, target: number, higherIsBetter: boolean) => {
    if (value === null) return `${name}: not measured`;
    const ok = higherIsBetter ? value >= target : value <= target;
    const miss = higherIsBetter ? `missed by ${((1 - value / target) * 100).toFixed(0)}%` : `missed by ${((value / target - 1) * 100).toFixed(0)}%`;
    return `${name}: ${value.toFixed(2)}x (target ${higherIsBetter ? '>=' : '<='} ${target}x) ${ok ? 'OK' : miss}`;
  };
  out.push('');
  out.push(verdict('fast vs Python colorthief (speed-up)', ratios.fastVsPython, TARGETS.fastVsPython, true));
  out.push(verdict('fast / downscaled-decode floor', ratios.fastVsFloor, TARGETS.fastVsFloor, false));
  out.push(verdict('exact vs Python colorthief (speed-up)', ratios.exactVsPython, TARGETS.exactVsPython, true));
  out.push(verdict('exact / full-decode floor', ratios.exactVsFullDecode, TARGETS.exactVsFullDecode, false));
  out.push(`fast vs exact speed-up: ${fmt(ratios.fastVsExact, 2)}x; npm colorthief v3 / fast: ${fmt(ratios.colorthiefV3VsFast, 2)}x; mean fast-vs-exact CIEDE2000 ${meanDe.toFixed(2)}`);
  process.stdout.write(out.join('\n') + '\n');

  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const outFile = args.out ? resolve(args.out) : join(ROOT, `bench/results/palette-${stamp}.json`);
  mkdirSync(join(outFile, '..'), { recursive: true });
  writeFileSync(
    outFile,
    JSON.stringify(
      {
        bench: 'palette',
        date: new Date().toISOString(),
        ...provenance('palette'),
        machine: { cpu: cpus()[0]?.model, cores: cpus().length, pinned, ...versions },
        options: { colors, quality, runs, pythonRuns, fastPixels, images: dir },
        targets: TARGETS,
        totals,
        ratios,
        meanFastVsExactCiede2000: meanDe,
        images: rows.map((r) => ({ ...r, file: r.file.split('/').pop() })),
        table: out,
      },
      null,
      1,
    ) + '\n',
  );
  process.stderr.write(`wrote ${outFile}\n`);
}

await main();
