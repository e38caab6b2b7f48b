// The option table drives all three layers: the transformer's checks and defaults, createTransformer's checks, and the
// flags of `lagless run` (names, defaults, help, parsers), with docs/cli.md showing the same help. No broker needed.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Readable, Writable } from 'node:stream';
import { test } from 'node:test';
import type { Command, Option } from 'commander';
import { buildProgram, runCli } from '../../src/cli/program.ts';
import { resolveTransformerOptions } from '../../src/runtime/options.ts';
import { LaglessError, UsageError } from '../../src/errors/index.ts';
import { createTransformer, defineJob, type RunOptions } from '../../src/index.ts';
import {
  acceptsValue,
  defaultTransformerOptions,
  optionKeys,
  optionRows,
  RunOptionTable,
  Transformer,
  validateTransformerOptions,
  type OptionKind,
  type OptionSpec,
  type RunOptionKey,
  type TransformerOptions,
} from '../../src/runtime/index.ts';

const ROOT = new URL('../../', import.meta.url);
const job = defineJob({ name: 'opts', run: (r) => ({ value: r.value }) });
const kafka = { brokers: ['127.0.0.1:9'] };

/** A complete set of transformer options: the table's defaults and the required fields. */
const base = (): TransformerOptions => ({ ...defaultTransformerOptions, kafka, from: 'in', to: 'out', dlq: 'in.dlq', group: 'g', releaseTimeoutMs: 1000 });

/** Values the kind refuses, each with its command-line spelling. */
function badValues(kind: OptionKind): { value: unknown; text: string }[] {
  switch (kind.type) {
    case 'int':
      return [{ value: kind.min - 1, text: String(kind.min - 1) }, ...(kind.max === undefined ? [] : [{ value: kind.max + 1, text: String(kind.max + 1) }])];
    case 'duration':
      return [
        { value: kind.min - 1, text: kind.min > 0 ? `${kind.min - 1}ms` : '-1ms' },
        ...(kind.max === undefined ? [] : [{ value: kind.max + 1, text: `${kind.max + 1}ms` }]),
        { value: 1.5, text: 'soon' },
      ];
    case 'choice':
      return [{ value: 'bogus', text: 'bogus' }];
    case 'string':
      return [{ value: '', text: '' }];
  }
}

const usageNaming = (key: string) => (e: unknown) => e instanceof UsageError && e.code === 'USAGE' && e.message.includes(` ${key} `);

function sink(): Writable & { text: string } {
  const w = new Writable({
    write(chunk: Buffer | string, _enc, done) {
      w.text += chunk.toString();
      done();
    },
  }) as Writable & { text: string };
  w.text = '';
  return w;
}

function context() {
  return { env: {}, stdout: sink(), stderr: sink(), stdin: Readable.from([]), signal: new AbortController().signal };
}

/** `lagless run`, `run noop` and `run palette` as commander builds them. */
function runCommands(): Map<string, Command> {
  const run = buildProgram(context()).commands.find((c) => c.name() === 'run')!;
  return new Map([['run', run], ...run.commands.map((c) => [`run ${c.name()}`, c] as const)]);
}

const optionOf = (cmd: Command, flag: string): Option | undefined => cmd.options.find((o) => o.flags === flag);

test('every row is consistent: a flag exactly for the cli layer, a valid fixed default or one described in words', () => {
  assert.ok(optionRows().length > 0);
  for (const [key, spec] of optionRows()) {
    assert.ok(spec.layers.length > 0, `${key}: no layer takes it`);
    assert.equal(spec.flag !== undefined, spec.layers.includes('cli'), `${key}: a flag exactly when the cli layer takes it`);
    assert.ok(spec.help.length > 0, `${key}: help`);
    if (typeof spec.default === 'number' || typeof spec.default === 'string') assert.ok(acceptsValue(spec.kind, spec.default), `${key}: its default ${spec.default} is valid`);
    else assert.ok(spec.defaultHelp, `${key}: a default that is not a fixed value is described (defaultHelp)`);
    if (spec.default === undefined) assert.ok(spec.optional, `${key}: no default means undefined is a valid value`);
  }
});

test('the transformer: its defaults are the table\'s, and each option out of the table\'s bounds is a UsageError naming it', () => {
  assert.doesNotThrow(() => validateTransformerOptions(base()));
  for (const key of optionKeys('transformer')) {
    const spec: OptionSpec = RunOptionTable[key];
    if (typeof spec.default !== 'function') assert.equal(defaultTransformerOptions[key as keyof typeof defaultTransformerOptions], spec.default, `${key}: default`);
    if (!spec.optional) assert.throws(() => validateTransformerOptions({ ...base(), [key]: undefined }), usageNaming(key), `${key}: required once defaults are merged`);
    for (const { value } of badValues(spec.kind)) {
      assert.throws(() => validateTransformerOptions({ ...base(), [key]: value }), usageNaming(key), `${key} = ${String(value)}`);
    }
  }
});

test('the defaults worked out from other options are the ones the transformer uses', () => {
  const cases: Partial<TransformerOptions>[] = [{}, { guarantee: 'exactly-once' }, { drainTimeoutMs: 60_000, rebalanceTimeoutMs: 20_000 }, { drainTimeoutMs: 1000 }];
  for (const init of cases) {
    const tr = new Transformer(job, { kafka, from: 'in', to: 'out', dlq: 'in.dlq', group: 'g', ...init });
    const o = tr.options;
    for (const [key, spec] of optionRows()) {
      if (typeof spec.default === 'function') assert.equal(o[key as keyof TransformerOptions], spec.default(o), `${key} with ${JSON.stringify(init)}`);
    }
  }
});

test('createTransformer: each run option out of the table\'s bounds rejects with a UsageError naming it', async () => {
  for (const key of optionKeys('run')) {
    for (const { value } of badValues(RunOptionTable[key].kind)) {
      const options = { kafka, from: 'in', to: 'out', [key]: value } as RunOptions;
      await assert.rejects(createTransformer(job, options), usageNaming(key), `${key} = ${String(value)}`);
    }
  }
});

test('lagless run: each cli option is a flag of run, run noop and run palette with the table\'s help and default, and its parser refuses what the table refuses (exit 2, naming the flag)', async () => {
  const commands = runCommands();
  for (const key of optionKeys('cli')) {
    const spec: OptionSpec = RunOptionTable[key];
    for (const [name, cmd] of commands) {
      // The palette job names its concurrency --max-downloads.
      if (name === 'run palette' && key === 'maxConcurrency') continue;
      const option = optionOf(cmd, spec.flag!);
      assert.ok(option, `${name} has ${spec.flag}`);
      assert.ok(option.description.startsWith(spec.help), `${name} ${spec.flag}: the table's help`);
      assert.equal(option.defaultValue, typeof spec.default === 'function' ? undefined : spec.default, `${name} ${spec.flag}: the table's default`);
      if (spec.defaultHelp) assert.ok(option.description.endsWith(`(default: ${spec.defaultHelp})`), `${name} ${spec.flag}: the default in words`);
    }
    const long = spec.flag!.split(' ')[0]!;
    for (const { text } of badValues(spec.kind)) {
      const ctx = context();
      const code = await runCli(['run', 'noop', `${long}=${text}`], ctx);
      assert.equal(code, 2, `${long}=${text}: ${ctx.stderr.text}`);
      assert.ok(ctx.stderr.text.includes(long), `${long}=${text}: the error names the flag: ${ctx.stderr.text}`);
    }
  }
});

test('lagless run passes every cli option, as parsed, to createTransformer under the table\'s name', () => {
  // The flags of the table map to RunOptions by name: no hand-written copy between them in run.ts.
  const source = readFileSync(new URL('src/cli/commands/run.ts', ROOT), 'utf8');
  const start = source.indexOf('const options: RunOptions = {');
  assert.ok(start >= 0, 'run.ts builds its RunOptions');
  const runOptions = source.slice(start, source.indexOf('\n  };', start));
  assert.match(runOptions, /\.\.\.\(?tableFlagValues\(cmd\)/);
  for (const key of optionKeys('cli')) {
    const long = RunOptionTable[key].flag.split(' ')[0]!;
    assert.ok(!new RegExp(`(\\.option|new Option|durationOption|sizeOption)\\(\\s*'${long} `).test(source), `run.ts declares ${long} by hand`);
    assert.ok(!new RegExp(`\\b${key}: flags\\.`).test(runOptions), `run.ts copies ${key} from its flag by hand`);
  }
});

test('no run option is checked outside the table (the transformer\'s options, createTransformer)', () => {
  const options = readFileSync(new URL('src/runtime/options.ts', ROOT), 'utf8');
  const runner = readFileSync(new URL('src/process/job-runner.ts', ROOT), 'utf8');
  for (const [key] of optionRows() as [RunOptionKey, OptionSpec][]) {
    assert.ok(!new RegExp(`\\['${key}',|\\bo\\.${key} [<>]=? \\d`).test(options), `options.ts checks ${key} by hand`);
    assert.ok(!new RegExp(`checkInt\\('${key}'`).test(runner), `job-runner.ts checks ${key} by hand`);
  }
});

test('docs/cli.md shows each cli option with the table\'s help and default', () => {
  const docs = readFileSync(new URL('docs/cli.md', ROOT), 'utf8').replace(/\s+/g, ' ');
  for (const key of optionKeys('cli')) {
    const spec: OptionSpec = RunOptionTable[key];
    const at = docs.indexOf(`${spec.flag!} `);
    assert.ok(at >= 0, `docs/cli.md has ${spec.flag}`);
    assert.ok(docs.slice(at).startsWith(`${spec.flag!} ${spec.help.replace(/\s+/g, ' ')}`), `docs/cli.md: ${spec.flag} with the table's help`);
    const after = docs.slice(at + `${spec.flag!} ${spec.help.replace(/\s+/g, ' ')}`.length);
    const shown = spec.defaultHelp ?? (typeof spec.default === 'string' ? `"${spec.default}"` : undefined);
    if (shown !== undefined) assert.ok(after.startsWith(` (default: ${shown.replace(/\s+/g, ' ')})`), `docs/cli.md: ${spec.flag} with its default`);
    else if (spec.default !== undefined) assert.match(after, /^ \(default: [0-9][^)]*\)/, `docs/cli.md: ${spec.flag} with its default`);
  }
});

test('a flag the table does not know is an internal error, not a silent option', async () => {
  const { tableOption } = await import('../../src/cli/options.ts');
  assert.throws(() => tableOption('retryMaxMs'), (e: unknown) => e instanceof LaglessError && e.code === 'INTERNAL');
});

test('the fetch size follows the window by default (one window of small records), and a given one is kept', () => {
  const base = { kafka: { brokers: ['127.0.0.1:1'] }, from: 'in', to: 'out', dlq: 'dlq', group: 'g' };
  // 2,000 records of 128 bytes (a fixed 4 MiB before: a fetch of ~40,000 small records for a window of 2,000).
  assert.equal(resolveTransformerOptions(base).fetchMaxBytes, 256_000);
  assert.equal(resolveTransformerOptions({ ...base, maxInFlight: 10_000 }).fetchMaxBytes, 10_000 * 128);
  assert.equal(resolveTransformerOptions({ ...base, maxInFlight: 10 }).fetchMaxBytes, 64 * 1024, 'at least 64 KiB');
  assert.equal(resolveTransformerOptions({ ...base, maxInFlight: 1_000_000 }).fetchMaxBytes, 4 * 1024 * 1024, 'at most 4 MiB');
  assert.equal(resolveTransformerOptions({ ...base, maxInFlight: 10, fetchMaxBytes: 5000 }).fetchMaxBytes, 5000);
});
