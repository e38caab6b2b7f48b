// The page's files: our own from assets/dashboard, uPlot from its npm package (resolved at runtime, never a CDN).
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { LaglessError } from '../errors/index.ts';

export interface DashboardAsset {
  type: string;
  body: Buffer;
}

/** Where the page's own files are: assets/dashboard at the package root (from src/dashboard or dist/dashboard alike). */
export const DASHBOARD_ASSETS_DIR = fileURLToPath(new URL('../../assets/dashboard/', import.meta.url));

/** URL path -> file. uPlot's files come from wherever Node resolves the `uplot` package for this module. */
function files(): [string, string, string][] {
  const require = createRequire(import.meta.url);
  return [
    ['/', `${DASHBOARD_ASSETS_DIR}index.html`, 'text/html; charset=utf-8'],
    ['/assets/app.js', `${DASHBOARD_ASSETS_DIR}app.js`, 'text/javascript; charset=utf-8'],
    ['/assets/app.css', `${DASHBOARD_ASSETS_DIR}app.css`, 'text/css; charset=utf-8'],
    ['/assets/uplot.js', require.resolve('uplot/dist/uPlot.iife.min.js'), 'text/javascript; charset=utf-8'],
    ['/assets/uplot.css', require.resolve('uplot/dist/uPlot.min.css'), 'text/css; charset=utf-8'],
  ];
}

/** Reads the page's files once. Throws LaglessError IO naming the missing file (a broken installation). */
export function loadDashboardAssets(): Map<string, DashboardAsset> {
  const out = new Map<string, DashboardAsset>();
  let list: [string, string, string][];
  try {
    list = files();
  } catch (err) {
    throw new LaglessError('IO', `the dashboard needs the "uplot" package, which cannot be found (${(err as Error).message}); reinstall Lagless`, { cause: err });
  }
  for (const [path, file, type] of list) {
    try {
      out.set(path, { type, body: readFileSync(file) });
    } catch (err) {
      throw new LaglessError('IO', `the dashboard's file ${file} cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); reinstall Lagless`, { cause: err });
    }
  }
  return out;
}

/** Bytes the browser downloads for one page view (before any data): the page, its script and style, and uPlot. */
export function pageWeight(): { files: { path: string; bytes: number }[]; total: number } {
  const assets = loadDashboardAssets();
  const list = [...assets].map(([path, a]) => ({ path, bytes: a.body.length }));
  return { files: list, total: list.reduce((a, f) => a + f.bytes, 0) };
}
