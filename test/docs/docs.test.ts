// The docs must not drift from the code: the CLI reference is generated, the error-code tables and every command line in the README are checked.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { RecordErrorCodes, RuntimeErrorCodes, WarningCodes } from '../../src/errors/index.ts';
import { PaletteJobErrorCodes } from '../../src/jobs/index.ts';
import { renderApiDocs } from '../../scripts/api-docs.ts';
import { renderCliDocs } from '../../scripts/cli-docs.ts';
import { checkCommandLine } from '../helpers/cli-flags.ts';

const ROOT = new URL('../../', import.meta.url);
const readme = readFileSync(new URL('README.md', ROOT), 'utf8');

test('docs/cli.md is the current --help of every command (regenerate: node scripts/cli-docs.ts)', async () => {
  const current = readFileSync(new URL('docs/cli.md', ROOT), 'utf8');
  assert.equal(current, await renderCliDocs());
});

test('docs/api.md is the current reference of the public API, from its declarations (regenerate: node scripts/api-docs.ts)', () => {
  assert.equal(readFileSync(new URL('docs/api.md', ROOT), 'utf8'), renderApiDocs());
});

/** Codes in the first column of the markdown table that follows `heading` text. */
function tableCodes(after: string): string[] {
  const start = readme.indexOf(after);
  assert.ok(start >= 0, `README has "${after}"`);
  const lines = readme.slice(start).split('\n');
  const first = lines.findIndex((l) => l.startsWith('|'));
  const rows: string[] = [];
  for (const l of lines.slice(first + 2)) {
    if (!l.startsWith('|')) break;
    rows.push(/^\| `([A-Z_]+)`/.exec(l)?.[1] ?? l);
  }
  return rows;
}

test('the README lists exactly the dead-letter codes of the runtime (src/errors) and of the palette job, with their meaning', () => {
  const codes = { ...RecordErrorCodes, ...PaletteJobErrorCodes };
  assert.deepEqual(tableCodes('Record errors (in dead letters').sort(), Object.keys(codes).sort());
  for (const [code, { description }] of Object.entries(codes)) {
    assert.ok(readme.includes(`| \`${code}\` | ${description} |`), `README row for ${code} says: ${description}`);
  }
});

test('the README lists exactly the runtime error codes of src/errors', () => {
  assert.deepEqual(tableCodes('Errors of the tool itself').sort(), Object.keys(RuntimeErrorCodes).sort());
  for (const [code, description] of Object.entries(RuntimeErrorCodes)) {
    assert.ok(readme.includes(`| \`${code}\` | ${description} |`), `README row for ${code} says: ${description}`);
  }
});

test('the README lists exactly the warning codes of src/errors', () => {
  assert.deepEqual(tableCodes('Warnings (printed as').sort(), Object.keys(WarningCodes).sort());
  for (const [code, description] of Object.entries(WarningCodes)) {
    assert.ok(readme.includes(`| \`${code}\` | ${description} |`), `README row for ${code} says: ${description}`);
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

test('every lagless command line in the README code blocks uses real commands, flags and values', async () => {
  const blocks = [...readme.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!);
  const lines = blocks.flatMap((b) => b.split('\n')).map((l) => l.replace(/^\$ /, '').trim());
  let checked = 0;
  for (const line of lines) {
    let w = words(line);
    while (w.length && /^[A-Z_]+=/.test(w[0]!)) w = w.slice(1); // leading VAR=value
    if (w[0] === 'cat' && w.includes('|')) continue;
    const at = w[0] === 'npx' ? 1 : 0;
    if (w[at] !== 'lagless') continue;
    await checkCommandLine(`README: ${line}`, w.slice(at + 1));
    checked += 1;
  }
  assert.ok(checked >= 15, `checked ${checked} command lines`);
});
