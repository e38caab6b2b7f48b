// Parsers for CLI option values: each failure names the option's value and what is expected (commander adds the option name).
import { InvalidArgumentError, Option, type Command } from 'commander';
import { parseDuration } from '../common/index.ts';
import { LaglessError } from '../errors/index.ts';
import { optionKeys, RunOptionTable, type OptionKeyOf, type OptionKind, type OptionSpec, type RunOptionKey } from '../runtime/index.ts';

/** An integer parser bounded to [min, max]. */
export function intArg(min: number, max = Number.MAX_SAFE_INTEGER): (value: string) => number {
  return (value: string) => {
    if (!/^-?\d+$/.test(value.trim())) throw new InvalidArgumentError(`expected an integer, got "${value}".`);
    const n = Number(value);
    if (n < min || n > max) throw new InvalidArgumentError(`expected an integer from ${min} to ${max}, got ${n}.`);
    return n;
  };
}

/** A positive number parser (decimals allowed). */
export function numberArg(min: number, max = Number.MAX_VALUE): (value: string) => number {
  return (value: string) => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isFinite(n)) throw new InvalidArgumentError(`expected a number, got "${value}".`);
    if (n < min || n > max) throw new InvalidArgumentError(`expected a number from ${min} to ${max}, got ${n}.`);
    return n;
  };
}

/** A duration parser ("500ms", "10s", "2m"); returns milliseconds. */
export function durationArg(value: string): number {
  try {
    return parseDuration(value);
  } catch (err) {
    throw new InvalidArgumentError((err as Error).message + '.');
  }
}

const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, kb: 1e3, mb: 1e6, gb: 1e9, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/** A byte size parser: "512", "20MB", "256MiB", "1g". */
export function sizeArg(value: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(value);
  const unit = SIZE_UNITS[(m?.[2] ?? '').toLowerCase()];
  if (!m || unit === undefined) throw new InvalidArgumentError(`expected a size such as 512KB, 20MB or 1GiB, got "${value}".`);
  const n = Math.round(Number(m[1]) * unit);
  if (n < 1) throw new InvalidArgumentError(`expected a positive size, got "${value}".`);
  return n;
}

/** A parser for one of a fixed set of words. */
export function choiceArg<T extends string>(choices: readonly T[]): (value: string) => T {
  return (value: string) => {
    if (!(choices as readonly string[]).includes(value)) throw new InvalidArgumentError(`expected one of ${choices.join(', ')}, got "${value}".`);
    return value as T;
  };
}

/** Collects a repeatable option into an array (also splitting commas). */
export function collect(value: string, previous: string[] | undefined): string[] {
  return [...(previous ?? []), ...value.split(',').map((s) => s.trim()).filter(Boolean)];
}

function formatMs(ms: number): string {
  if (ms % 3_600_000 === 0 && ms > 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0 && ms > 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0 && ms > 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}

function formatBytes(n: number): string {
  for (const [unit, size] of [['GiB', 1024 ** 3], ['MiB', 1024 ** 2], ['KiB', 1024]] as const) if (n % size === 0 && n >= size) return `${n / size}${unit}`;
  return `${n}`;
}

/** An option taking a duration, whose default shows in --help as "30s" rather than milliseconds. */
export function durationOption(flags: string, description: string, defaultMs?: number): Option {
  const o = new Option(flags, description).argParser(durationArg);
  return defaultMs === undefined ? o : o.default(defaultMs, formatMs(defaultMs));
}

/** An option taking a byte size, whose default shows in --help as "20MiB". */
export function sizeOption(flags: string, description: string, defaultBytes?: number): Option {
  const o = new Option(flags, description).argParser(sizeArg);
  return defaultBytes === undefined ? o : o.default(defaultBytes, formatBytes(defaultBytes));
}

/** A duration parser bounded to [minMs, maxMs]. */
export function durationRangeArg(minMs: number, maxMs = Number.MAX_SAFE_INTEGER): (value: string) => number {
  return (value: string) => {
    const ms = durationArg(value);
    if (ms < minMs || ms > maxMs) {
      const range = maxMs === Number.MAX_SAFE_INTEGER ? `of at least ${formatMs(minMs)}` : `from ${formatMs(minMs)} to ${formatMs(maxMs)}`;
      throw new InvalidArgumentError(`expected a duration ${range}, got "${value}".`);
    }
    return ms;
  };
}

/** The parser of a kind of the option table: the same bounds as the API's checks. */
function kindArg(kind: OptionKind): (value: string) => number | string {
  switch (kind.type) {
    case 'int':
      return intArg(kind.min, kind.max);
    case 'duration':
      return durationRangeArg(kind.min, kind.max);
    case 'choice':
      return choiceArg(kind.choices);
    case 'string':
      return (value: string) => {
        if (value === '') throw new InvalidArgumentError('expected a non-empty string.');
        return value;
      };
  }
}

/** The flag of a run option, all from the option table (src/runtime/option-table.ts): name, value, help, default, parser. */
export function tableOption(key: RunOptionKey): Option {
  const spec: OptionSpec = RunOptionTable[key];
  if (!spec.flag) throw new LaglessError('INTERNAL', `the run option ${key} has no flag`);
  const o = new Option(spec.flag, spec.defaultHelp ? `${spec.help} (default: ${spec.defaultHelp})` : spec.help).argParser(kindArg(spec.kind));
  if (typeof spec.default === 'number') return o.default(spec.default, spec.kind.type === 'duration' ? formatMs(spec.default) : undefined);
  if (typeof spec.default === 'string') return o.default(spec.default);
  return o;
}

/** The values of a command's flags of the option table, by option name; options without a value (and default) left out. */
export function tableFlagValues(cmd: Command): Partial<Record<OptionKeyOf<'cli'>, number | string>> {
  const out: Partial<Record<OptionKeyOf<'cli'>, number | string>> = {};
  for (const key of optionKeys('cli')) {
    const flag = RunOptionTable[key].flag;
    const value: unknown = cmd.getOptionValue(new Option(flag).attributeName());
    if (typeof value === 'number' || typeof value === 'string') out[key] = value;
  }
  return out;
}
