// Where a benchmark result comes from: the command that ran it and the commit of the code it measured, recorded in
// its JSON so that `npm run bench -- report` (docs/performance.md) can name both for every figure.
import { spawnSync } from 'node:child_process';

const ROOT = new URL('../..', import.meta.url).pathname;

/** HEAD's commit, with "+dirty" when tracked files differ from it; null outside a git checkout. */
export function gitCommit(): string | null {
  const r = spawnSync('git', ['rev-parse', 'HEAD'], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) return null;
  const dirty = spawnSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: ROOT, encoding: 'utf8' }).stdout?.trim();
  return r.stdout.trim() + (dirty ? '+dirty' : '');
}

/** `npm run bench -- NAME args...` as typed (arguments with spaces quoted), and the commit. */
export function provenance(bench: string, argv: readonly string[] = process.argv.slice(2)): { command: string; commit: string | null } {
  const quoted = argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`));
  return { command: ['npm run bench --', bench, ...quoted].join(' '), commit: gitCommit() };
}
