// The CLI's conventions: --help everywhere, exit codes 0/1/2, unknown commands and options named.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCli } from '../helpers/cli.ts';

test('--help works at every level and exits 0', async () => {
  for (const args of [['--help'], ['kafka', '--help'], ['kafka', 'start', '--help'], ['topics', 'create', '--help'], ['topics', 'list', '--help']]) {
    const res = await runCli(args);
    assert.equal(res.code, 0, `${args.join(' ')}: ${res.stderr}`);
    assert.match(res.stdout, /Usage: lagless/);
  }
});

test('an unknown command or option is a usage error (exit 2) that names it', async () => {
  const cmd = await runCli(['kafak']);
  assert.equal(cmd.code, 2);
  assert.match(cmd.stderr, /unknown command 'kafak'/);
  assert.match(cmd.stderr, /Did you mean kafka\?/);
  const opt = await runCli(['topics', 'list', '--bogus']);
  assert.equal(opt.code, 2);
  assert.match(opt.stderr, /unknown option '--bogus'/);
});

test('--version prints the package version', async () => {
  const res = await runCli(['--version']);
  assert.equal(res.code, 0);
  assert.match(res.stdout, /^\d+\.\d+\.\d+/);
});
