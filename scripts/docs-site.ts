// The docs site: builds docs/ with VitePress and checks the output, so that a dead link, a dead anchor or a file loaded
// from another origin fails (`npm run docs:build`, and test/docs/site.test.ts in `npm test`). VitePress itself fails
// the build on a link to a page that does not exist (ignoreDeadLinks: false); this adds what it does not check: the
// #anchors of links, links to files, and that every script, style, font and picture is served by the site itself.
// Usage: node scripts/docs-site.ts [--out DIR]   (default docs/.vitepress/dist)
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

const ROOT = resolve(new URL('..', import.meta.url).pathname);
export const DOCS = join(ROOT, 'docs');
export const DEFAULT_OUT = join(DOCS, '.vitepress/dist');

/** Builds the site into `outDir` (VitePress: dead page links fail here). */
export async function buildSite(outDir = DEFAULT_OUT, options: { quiet?: boolean } = {}): Promise<void> {
  const { build } = await import('vitepress');
  const log = console.log;
  const info = console.info;
  if (options.quiet) console.log = console.info = () => {};
  try {
    await build(DOCS, { outDir });
  } finally {
    console.log = log;
    console.info = info;
  }
}

function files(dir: string, ext: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) out.push(...files(path, ext));
    else if (name.endsWith(ext)) out.push(path);
  }
  return out.sort();
}

const decode = (s: string) => s.replace(/&amp;/g, '&').replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>');

/** The ids of the elements of an HTML page: the anchors a link may point at. */
function ids(html: string): Set<string> {
  return new Set([...html.matchAll(/\sid="([^"]*)"/g)].map((m) => decode(m[1]!)));
}

/** The file of the site that a path of the site serves (VitePress: /x.html, /x/ -> /x/index.html), or undefined. */
function served(outDir: string, path: string): string | undefined {
  const candidates = path.endsWith('/') ? [`${path}index.html`] : [path, `${path}.html`, `${path}/index.html`];
  return candidates.map((c) => join(outDir, c)).find((f) => existsSync(f) && statSync(f).isFile());
}

export interface SiteProblem {
  page: string;
  problem: string;
}

/** Every problem of a built site: dead links and anchors, resources from another origin. */
export function checkSite(outDir = DEFAULT_OUT): { pages: number; links: number; problems: SiteProblem[] } {
  const problems: SiteProblem[] = [];
  const pages = files(outDir, '.html');
  const idCache = new Map<string, Set<string>>();
  const idsOf = (file: string) => {
    let s = idCache.get(file);
    if (!s) idCache.set(file, (s = ids(readFileSync(file, 'utf8'))));
    return s;
  };
  let links = 0;
  for (const file of pages) {
    const page = '/' + relative(outDir, file);
    const html = readFileSync(file, 'utf8');
    // Resources the browser loads by itself: all from the site, never from a CDN.
    for (const m of html.matchAll(/<(script|link|img|source|iframe|video|audio)\b[^>]*?\s(src|href|srcset)="([^"]*)"/g)) {
      if (m[1] === 'link' && !/\brel="(?:stylesheet|preload|modulepreload|icon|prefetch|preconnect|dns-prefetch|manifest)"/.test(m[0])) continue;
      if (/^(?:[a-z]+:)?\/\//i.test(m[3]!.trim())) problems.push({ page, problem: `<${m[1]}> loads ${m[3]} from another origin` });
    }
    for (const m of html.matchAll(/<a\b[^>]*?\shref="([^"]*)"/g)) {
      const href = decode(m[1]!);
      if (/^(?:[a-z][a-z0-9+.-]*:|\/\/)/i.test(href)) continue; // http(s), mailto: links leave the site, as they may
      links++;
      const [pathPart, fragment] = href.split('#', 2) as [string, string | undefined];
      let target = file;
      if (pathPart !== '') {
        const path = pathPart.startsWith('/') ? pathPart : '/' + relative(outDir, join(dirname(file), pathPart));
        const found = served(outDir, decodeURI(path.split('?')[0]!));
        if (!found) {
          problems.push({ page, problem: `dead link: ${href}` });
          continue;
        }
        target = found;
      }
      if (fragment !== undefined && fragment !== '' && target.endsWith('.html') && !idsOf(target).has(decodeURIComponent(fragment))) {
        problems.push({ page, problem: `dead anchor: ${href} (no id "${decodeURIComponent(fragment)}" in /${relative(outDir, target)})` });
      }
    }
  }
  // Styles and scripts: no url() or import from another origin (fonts included). One exception, never reached here:
  // the default theme's social-link component masks an icon with an iconify.design URL, for social links only, and
  // the site has none (no page renders that component, checked below).
  const socialIcons = 'https://api.iconify.design/simple-icons/';
  for (const file of [...files(outDir, '.css'), ...files(outDir, '.js')]) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/(?:url\(\s*["'`]?|@import\s+["']|\bimport\(\s*["'])((?:https?:)?\/\/[^"'`)\s]+)/g)) {
      if (m[1]!.startsWith(socialIcons)) continue;
      problems.push({ page: '/' + relative(outDir, file), problem: `loads ${m[1]} from another origin` });
    }
  }
  for (const file of pages) {
    if (readFileSync(file, 'utf8').includes('VPSocialLink')) problems.push({ page: '/' + relative(outDir, file), problem: 'renders a social link, whose icon would come from api.iconify.design' });
  }
  return { pages: pages.length, links, problems };
}

if (import.meta.main) {
  const i = process.argv.indexOf('--out');
  const outDir = i > 0 ? resolve(process.argv[i + 1]!) : DEFAULT_OUT;
  await buildSite(outDir);
  const { pages, links, problems } = checkSite(outDir);
  for (const p of problems) process.stderr.write(`${p.page}: ${p.problem}\n`);
  process.stdout.write(`docs site: ${pages} pages, ${links} links within the site checked, ${problems.length} problem(s); in ${relative(ROOT, outDir)}\n`);
  process.exit(problems.length ? 1 : 0);
}
