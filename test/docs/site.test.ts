// The docs site builds with VitePress, and its output has no dead link, no dead anchor and nothing loaded from another
// origin (scripts/docs-site.ts, as `npm run docs:build`); the architecture diagram is the rendering of its source.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { buildSite, checkSite } from '../../scripts/docs-site.ts';
import { diagrams, parseDiagram, renderDiagram } from '../../scripts/diagram.ts';

const ROOT = new URL('../../', import.meta.url).pathname;

function tmp(t: import('node:test').TestContext, prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

test('the docs site builds, and every link, anchor and resource of every page resolves within it', async (t) => {
  const out = tmp(t, 'lagless-site-');
  await buildSite(out, { quiet: true });
  const { pages, links, problems } = checkSite(out);
  assert.deepEqual(problems, [], 'dead links, dead anchors or resources from another origin');
  // The pages the docs promise (sidebar order), each built.
  for (const page of ['index', 'getting-started', 'concepts/window-and-commits', 'concepts/ordering', 'concepts/retries-and-dead-letters', 'concepts/delivery-guarantees', 'concepts/scaling', 'concepts/rebalancing', 'concepts/shutdown', 'how-to/write-a-job', 'how-to/secure-cluster', 'how-to/deploy', 'how-to/monitor', 'how-to/tune', 'cli', 'api', 'reference/errors', 'reference/records', 'reference/configuration', 'reliability', 'fault-runner', 'performance', 'architecture']) {
    assert.ok(readFileSync(join(out, `${page}.html`), 'utf8').includes('</html>'), `${page}.html`);
  }
  assert.ok(pages >= 30 && links >= 500, `${pages} pages, ${links} links checked`);
  // Local search: its index is built into the site (no search service).
  const chunks = readdirSync(join(out, 'assets/chunks'));
  assert.ok(chunks.some((f) => f.startsWith('@localSearchIndex')), 'the local search index is part of the site');
});

test('the site check finds a dead link, a dead anchor and a script from a CDN (the check can fail)', (t) => {
  const out = tmp(t, 'lagless-site-check-');
  mkdirSync(join(out, 'guide'));
  writeFileSync(join(out, 'index.html'), '<html><body><h2 id="here">x</h2><a href="#here">ok</a><a href="/guide/a.html#there">ok</a><a href="/guide/a.html#nowhere">bad anchor</a><a href="/missing.html">dead</a><a href="https://example.org/">external, fine</a></body></html>');
  writeFileSync(join(out, 'guide/a.html'), '<html><head><script src="https://cdn.example.net/x.js"></script><link rel="stylesheet" href="/style.css"></head><body><p id="there"></p><a href="../index.html#here">ok</a></body></html>');
  writeFileSync(join(out, 'style.css'), "@font-face { src: url('https://fonts.example.com/inter.woff2') }");
  const { problems } = checkSite(out);
  assert.deepEqual(
    problems.map((p) => `${p.page}: ${p.problem.split(' (')[0]}`).sort(),
    [
      '/guide/a.html: <script> loads https://cdn.example.net/x.js from another origin',
      '/index.html: dead anchor: /guide/a.html#nowhere',
      '/index.html: dead link: /missing.html',
      '/style.css: loads https://fonts.example.com/inter.woff2 from another origin',
    ],
  );
});

test('VitePress fails the build on a link to a page that does not exist, and the site config keeps that on', async (t) => {
  const root = tmp(t, 'lagless-site-dead-');
  writeFileSync(join(root, 'index.md'), '# Home\n\n[a page that is not there](./nowhere.md)\n');
  const { build } = await import('vitepress');
  const log = console.log;
  const warn = console.warn;
  const error = console.error;
  console.log = console.warn = console.error = () => {};
  try {
    await assert.rejects(build(root, { outDir: join(root, 'dist') }), /dead link/i);
  } finally {
    console.log = log;
    console.warn = warn;
    console.error = error;
  }
  const config = readFileSync(join(ROOT, 'docs/.vitepress/config.ts'), 'utf8');
  assert.match(config, /ignoreDeadLinks: false/);
  assert.match(config, /useWebFonts: false/);
  assert.match(config, /provider: 'local'/);
});

test('every architecture diagram is the rendering of its text source (regenerate: node scripts/diagram.ts)', () => {
  const all = diagrams();
  assert.ok(all.some((d) => d.svg === 'docs/architecture/record-path.svg'));
  for (const d of all) assert.equal(readFileSync(join(ROOT, d.svg), 'utf8'), d.rendered, `${d.svg} from ${d.source}`);
  assert.match(readFileSync(join(ROOT, 'docs/architecture.md'), 'utf8'), /\]\(\.\/architecture\/record-path\.svg\)/, 'the architecture page shows it');
});

test('the diagram source: every box and arrow drawn, and mistakes named by line', () => {
  const svg = renderDiagram(parseDiagram('title "T"\nnode a 0 0 "A" "first"\nnode b 1 0 "B" "second"\nedge a b "go"\n'));
  assert.equal((svg.match(/class="node"/g) ?? []).length, 2);
  assert.equal((svg.match(/class="edge"/g) ?? []).length, 1);
  assert.match(svg, />go</);
  assert.throws(() => parseDiagram('node a 0 0 "A" "x"\nedge a b "?"\n'), /no node b/);
  assert.throws(() => parseDiagram('title "T"\nbox a\n'), /line 2: not a statement/);
  assert.throws(() => parseDiagram('node a x 0 "A" "x"\n'), /line 1: expected a whole number/);
});
