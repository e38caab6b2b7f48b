// A real browser for tests: Debian's Chromium (installed by `npm test` as a prerequisite) driven by playwright-core.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

/** The Chromium binary ($LAGLESS_CHROMIUM, /usr/bin/chromium, or chromium on PATH), or why there is none. */
export function findChromium(): { path: string } | { missing: string } {
  const candidates = [process.env.LAGLESS_CHROMIUM, '/usr/bin/chromium'].filter((p): p is string => !!p);
  for (const p of candidates) if (existsSync(p)) return { path: p };
  const r = spawnSync('sh', ['-c', 'command -v chromium'], { encoding: 'utf8' });
  if (r.status === 0 && r.stdout.trim()) return { path: r.stdout.trim() };
  return {
    missing:
      'SKIPPED LOUDLY: no Chromium here (looked at $LAGLESS_CHROMIUM, /usr/bin/chromium and PATH). `npm test` installs Debian\'s chromium ' +
      'package when run as root (scripts/prereqs.ts); otherwise install it with: apt-get install chromium',
  };
}

/** Flags that work in a container, as root, inside a loopback-only network namespace. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
  // Colours on screen are the CSS colours exactly (the gallery test reads swatch pixels from screenshots).
  '--force-color-profile=srgb',
];

export interface TestBrowser {
  context: BrowserContext;
  page: Page;
  /** Messages of dialogs the page opened (alert, confirm...): a hostile record that ran script would show here. */
  dialogs: string[];
  /** Uncaught errors of the page's scripts. */
  pageErrors: string[];
}

/** Headless Chromium with a fresh profile, closed (and its profile removed) after the test. */
export async function launchBrowser(t: TestContext, executablePath: string, viewport = { width: 1400, height: 900 }): Promise<TestBrowser> {
  const userDataDir = mkdtempSync(join(tmpdir(), 'lagless-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, { executablePath, headless: true, args: CHROMIUM_ARGS, viewport, timeout: 120_000 });
  t.after(async () => {
    await context.close().catch(() => {});
    rmSync(userDataDir, { recursive: true, force: true });
  });
  const page = context.pages()[0] ?? (await context.newPage());
  const dialogs: string[] = [];
  const pageErrors: string[] = [];
  page.on('dialog', (d) => {
    dialogs.push(`${d.type()}: ${d.message()}`);
    void d.dismiss().catch(() => {});
  });
  page.on('pageerror', (e) => pageErrors.push(e.message));
  return { context, page, dialogs, pageErrors };
}
