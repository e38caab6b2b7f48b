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

test('lagless run --guarantee takes at-least-once or exactly-once; another value is a usage error naming the flag', async () => {
  for (const job of ['noop', 'palette']) {
    const res = await runCli(['run', job, '--guarantee', 'exactly-twice']);
    assert.equal(res.code, 2, res.stderr);
    assert.match(res.stderr, /--guarantee/);
    assert.match(res.stderr, /at-least-once, exactly-once/);
  }
  const help = await runCli(['run', 'noop', '--help']);
  assert.match(help.stdout, /--guarantee <mode>/);
  assert.match(help.stdout, /--transaction-timeout <duration>/);
});

test('lagless run --group-type share refuses --guarantee exactly-once and --ordering key|partition: a usage error naming both flags', async () => {
  for (const extra of [['--guarantee', 'exactly-once'], ['--ordering', 'key'], ['--ordering', 'partition']]) {
    const res = await runCli(['run', 'noop', '--from', 'in', '--to', 'out', '--group-type', 'share', ...extra]);
    assert.equal(res.code, 2, res.stderr);
    assert.match(res.stderr, /--group-type share/);
    assert.match(res.stderr, new RegExp(extra[0]!));
  }
  const bad = await runCli(['run', 'noop', '--group-type', 'queue']);
  assert.equal(bad.code, 2, bad.stderr);
  assert.match(bad.stderr, /--group-type/);
  const ok = await runCli(['run', 'noop', '--help']);
  assert.match(ok.stdout, /--group-type <type>/);
});
