// Generates docs/cli.md from the real `--help` of every command, so the CLI reference cannot drift from the code.
// Usage: node scripts/cli-docs.ts            (rewrites docs/cli.md)
//        node scripts/cli-docs.ts --check    (exit 1 if docs/cli.md is out of date; the test suite does this)
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';

const root = new URL('..', import.meta.url);
const main = new URL('src/cli/main.ts', root).pathname;
const target = new URL('docs/cli.md', root).pathname;

/** Commands in reading order. */
export const DOCUMENTED_COMMANDS: string[][] = [
  [],
  ['kafka', 'start'],
  ['kafka', 'stop'],
  ['kafka', 'status'],
  ['kafka', 'kill'],
  ['kafka', 'pause'],
  ['kafka', 'resume'],
  ['topics', 'create'],
  ['topics', 'list'],
  ['produce'],
  ['run'],
  ['run', 'palette'],
  ['run', 'noop'],
  ['status'],
  ['dashboard'],
  ['palette'],
];

async function help(path: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)(process.execPath, [main, ...path, '--help'], { env: { ...process.env, COLUMNS: '100' } });
  return stdout.trimEnd();
}

export async function renderCliDocs(): Promise<string> {
  const parts = [
    '# CLI reference',
    '',
    'Generated from the real `--help` of each command by `node scripts/cli-docs.ts`; a test fails when it is out of date.',
    'Every command also takes `--help`. Exit codes: 0 success, 1 runtime failure, 2 usage error.',
    '',
  ];
  for (const path of DOCUMENTED_COMMANDS) {
    parts.push(`## \`lagless${path.length ? ' ' + path.join(' ') : ''}\``, '', '```text', await help(path), '```', '');
  }
  return parts.join('\n');
}

if (import.meta.main) {
  const text = await renderCliDocs();
  if (process.argv.includes('--check')) {
    const current = await readFile(target, 'utf8').catch(() => '');
    if (current !== text) {
      console.error('docs/cli.md is out of date: run "node scripts/cli-docs.ts"');
      process.exit(1);
    }
  } else {
    await writeFile(target, text);
    console.log(`wrote ${target}`);
  }
}
