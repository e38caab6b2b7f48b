// The docs must not drift from the code: the CLI, API and error-code references are generated, every command line in
// the README and the docs passes the CLI's parser, and the README stays a front door.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join, normalize } from 'node:path';
import { test } from 'node:test';
import { renderApiDocs } from '../../scripts/api-docs.ts';
import { renderCliDocs } from '../../scripts/cli-docs.ts';
import { renderErrorDocs } from '../../scripts/errors-docs.ts';
import { RecordErrorCodes, RuntimeErrorCodes, WarningCodes } from '../../src/errors/index.ts';
import { PaletteJobErrorCodes } from '../../src/jobs/index.ts';
import { helpInProcess } from '../helpers/cli.ts';
import { checkCommandLine } from '../helpers/cli-flags.ts';
import { docPages, readPage, ROOT, shellLines } from '../helpers/doc-snippets.ts';

const readme = readPage('README.md');

test('docs/cli.md is the current --help of every command (regenerate: node scripts/cli-docs.ts)', async () => {
  assert.equal(readPage('docs/cli.md'), await renderCliDocs());
});

test('docs/api.md is the current reference of the public API, from its declarations (regenerate: node scripts/api-docs.ts)', () => {
  assert.equal(readPage('docs/api.md'), renderApiDocs());
});

test('docs/reference/errors.md is the rendering of the code tables of src/errors and of the palette job (regenerate: node --conditions=lagless-source scripts/errors-docs.ts)', () => {
  const page = readPage('docs/reference/errors.md');
  assert.equal(page, renderErrorDocs());
  // And the rendering leaves no code out: every code of every table has its row.
  for (const code of [...Object.keys(RecordErrorCodes), ...Object.keys(PaletteJobErrorCodes), ...Object.keys(RuntimeErrorCodes), ...Object.keys(WarningCodes)]) {
    assert.match(page, new RegExp(`^\\| \`${code}\` \\|`, 'm'), `a row for ${code}`);
  }
});

/** Splits a shell line into words (quotes honoured), up to a pipe, a comment or a redirection. */
function words(line: string): string[] {
  const out: string[] = [];
  const re = /"([^"]*)"|'([^']*)'|(\S+)/g;
  for (const m of line.matchAll(re)) {
    const w = m[1] ?? m[2] ?? m[3]!;
    if (m[3] !== undefined && (w === '|' || w.startsWith('#') || w === '&&' || w === '>')) break;
    out.push(w);
  }
  return out;
}

/** The `lagless ...` command lines of a page's shell blocks, as argv after "lagless" (leading VAR=value and npx dropped). */
function laglessLines(page: string): { line: string; argv: string[] }[] {
  const out: { line: string; argv: string[] }[] = [];
  for (const line of shellLines(page)) {
    let w = words(line);
    while (w.length && /^[A-Z_]+=/.test(w[0]!)) w = w.slice(1);
    const at = w[0] === 'npx' ? 1 : 0;
    if (w[at] !== 'lagless') continue;
    out.push({ line, argv: w.slice(at + 1) });
  }
  return out;
}

test('every lagless command line in the README and the docs uses real commands, flags and values', async () => {
  let checked = 0;
  const pages = docPages();
  assert.ok(pages.includes('docs/getting-started.md') && pages.includes('docs/how-to/local-kafka.md'), 'the docs pages are found');
  for (const page of pages) {
    for (const { line, argv } of laglessLines(page)) {
      if (argv.length === 1 && (argv[0] === '--help' || argv[0] === '--version')) {
        assert.equal((await helpInProcess(argv)).code, 0, `${page}: ${line}`);
      } else await checkCommandLine(`${page}: ${line}`, argv);
      checked += 1;
    }
  }
  assert.ok(laglessLines('README.md').length >= 8, 'the README has its CLI tour');
  assert.ok(checked >= 60, `checked ${checked} command lines`);
});

test('a command line with a flag the CLI does not have is caught (the check can fail)', async () => {
  await assert.rejects(checkCommandLine('fixture', ['run', 'palette', '--no-such-flag']), /--no-such-flag is not an option/);
  await assert.rejects(checkCommandLine('fixture', ['topics', 'create', 'x', '--partitions', 'many']), /rejects these arguments/);
});

test('the README is a front door: at most about 300 lines, the two quick starts, no development log', () => {
  const lines = readme.split('\n');
  assert.ok(lines.length <= 300, `README.md has ${lines.length} lines`);
  const blocks = [...readme.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!.split('\n').map((l) => l.replace(/#.*/, '').trim()).filter(Boolean));
  assert.ok(blocks.some((b) => b.length === 2 && b[0] === 'npm install' && b[1] === 'npm run demo'), 'quick start: npm install, npm run demo');
  assert.ok(blocks.some((b) => b.length === 2 && b[0] === 'npm install' && b[1] === 'npm test'), 'quick start: npm install, npm test');
  assert.match(readme, /\| the blog post \(Python, Ray\) \| Lagless \|/, 'the comparison with the blog post');
  assert.match(readme, /export default defineJob\(/, 'a job in ten lines');
  // No commit hash (7 to 40 hex digits with a digit and a letter), no time of day, no before/after table.
  const hashes = [...readme.matchAll(/\b[0-9a-f]{7,40}\b/g)].map((m) => m[0]).filter((h) => /\d/.test(h) && /[a-f]/.test(h));
  assert.deepEqual(hashes, [], 'commit hashes in the README');
  assert.deepEqual([...readme.matchAll(/\b\d{1,2}:\d{2}(?::\d{2})?\b/g)].map((m) => m[0]), [], 'times of day in the README');
  const headers = readme.split('\n').filter((l, i, all) => l.startsWith('|') && all[i + 1]?.startsWith('|---'));
  assert.deepEqual(headers.filter((h) => /\b(before|after)\b/i.test(h)), [], 'before/after tables in the README');
  // The two statements of the old Limits section that were false.
  assert.doesNotMatch(readme, /PRODUCT\.md/, 'the README cites no file the repository does not have');
  assert.doesNotMatch(readme, /[Pp]ackaging[^.]*is not done/, 'packaging is done (the package test installs the tarball)');
});

test('the README and the docs never cite PRODUCT.md, which the repository does not have', () => {
  assert.equal(existsSync(join(ROOT, 'PRODUCT.md')), false);
  for (const page of docPages()) assert.doesNotMatch(readPage(page), /PRODUCT\.md/, page);
});

/** GitHub's and VitePress's heading slug for the simple headings these pages use. */
function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/`/g, '')
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

function anchors(page: string): Set<string> {
  const text = readPage(page).replace(/```[\s\S]*?```/g, '');
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const m of text.matchAll(/^#{1,6} (.+)$/gm)) {
    const s = slug(m[1]!);
    const n = seen.get(s) ?? 0;
    seen.set(s, n + 1);
    out.add(n ? `${s}-${n}` : s);
  }
  return out;
}

test('every relative link of the README leads to a file of the repository, and its #anchor to a heading there', () => {
  // The docs pages are checked on the built site (test/docs/site.test.ts); the README is not part of the site.
  let checked = 0;
  for (const m of readme.matchAll(/\]\(([^)\s]+)\)/g)) {
    const href = m[1]!;
    if (/^[a-z]+:/i.test(href)) continue;
    const [path, fragment] = href.split('#', 2) as [string, string | undefined];
    const target = path === '' ? 'README.md' : normalize(path);
    assert.ok(existsSync(join(ROOT, target)), `README links ${href}: no ${target}`);
    if (fragment) assert.ok(anchors(target).has(fragment), `README links ${href}: no heading "${fragment}" in ${target}`);
    checked++;
  }
  assert.ok(checked >= 30, `checked ${checked} links`);
});
