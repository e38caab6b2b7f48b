// Checks `lagless ...` command lines written in docs and deployment files against the real CLI: every flag must be an
// option of the command (per its --help), values present where needed, and every value accepted by the CLI's parsers.
import assert from 'node:assert/strict';
import { helpInProcess } from './cli.ts';

export type Arity = 'none' | 'required' | 'optional';

/** Every command of the CLI and how many operands it takes. */
export const COMMANDS: { path: string[]; operands: number }[] = [
  { path: ['kafka', 'start'], operands: 0 },
  { path: ['kafka', 'stop'], operands: 0 },
  { path: ['kafka', 'status'], operands: 0 },
  { path: ['kafka', 'kill'], operands: 0 },
  { path: ['kafka', 'pause'], operands: 0 },
  { path: ['kafka', 'resume'], operands: 0 },
  { path: ['topics', 'create'], operands: 1 },
  { path: ['topics', 'list'], operands: 0 },
  { path: ['run', 'palette'], operands: 0 },
  { path: ['run', 'noop'], operands: 0 },
  // After the built-in jobs: `lagless run <job-file>`.
  { path: ['run'], operands: 1 },
  { path: ['produce'], operands: 0 },
  { path: ['status'], operands: 0 },
  { path: ['dashboard'], operands: 0 },
  { path: ['palette'], operands: 1 },
];

export interface CommandSpec {
  name: string;
  flags: Map<string, Arity>;
}

/**
 * The option blocks of commander's help ("Options:" and groups such as "Kafka connection options:"):
 * "  -q, --quiet", "  --from <topic>", "  --keep-serving [duration]".
 */
export function parseHelpFlags(help: string): Map<string, Arity> {
  const blocks = [...help.matchAll(/\n(?:[A-Z][\w -]* )?[Oo]ptions:\n([\s\S]*?)(?=\n\n|$)/g)].map((m) => m[1]!);
  const flags = new Map<string, Arity>();
  for (const line of blocks.join('\n').split('\n')) {
    const m = /^ {2}(?:-[A-Za-z0-9], )?(--[A-Za-z0-9][\w-]*)(?: (<[^>]+>|\[[^\]]+\]))?/.exec(line);
    if (m) flags.set(m[1]!, m[2] === undefined ? 'none' : m[2].startsWith('<') ? 'required' : 'optional');
  }
  return flags;
}

const specs = new Map<string, Promise<CommandSpec>>();

/** The flags of a command, from its real --help, run in this process (cached per test process). */
export function commandSpec(path: string[]): Promise<CommandSpec> {
  const name = path.join(' ');
  let p = specs.get(name);
  if (!p) {
    p = (async () => {
      const res = await helpInProcess([...path, '--help']);
      assert.equal(res.code, 0, `lagless ${name} --help: exit ${res.code}\n${res.stderr}`);
      const usage = /^Usage: lagless (.*)$/m.exec(res.stdout)?.[1] ?? '';
      assert.ok(usage === name || usage.startsWith(`${name} `), `lagless ${name} is not a command of the CLI (its --help printed "Usage: lagless ${usage}")`);
      return { name, flags: parseHelpFlags(res.stdout) };
    })();
    specs.set(name, p);
  }
  return p;
}

export interface CommandLine {
  name: string;
  operands: string[];
  /** Flag -> its values in order (repeatable flags keep all; switches get ''). */
  flags: Map<string, string[]>;
}

/**
 * Checks one `lagless ...` command line (argv without "lagless"): the command exists, every flag is one of its
 * options, values are present where needed, and the CLI (in this process) with the same arguments plus --help exits 0 (so every
 * value passes the CLI's own parsers).
 */
export async function checkCommandLine(where: string, argv: string[]): Promise<CommandLine> {
  const cmd = COMMANDS.find((c) => c.path.every((p, i) => argv[i] === p));
  assert.ok(cmd, `${where}: "${argv.slice(0, 2).join(' ')}" is not a lagless command`);
  const spec = await commandSpec(cmd.path);
  const flags = new Map<string, string[]>();
  const operands: string[] = [];
  const rest = argv.slice(cmd.path.length);
  for (let i = 0; i < rest.length; i++) {
    const token = rest[i]!;
    if (!token.startsWith('-') || token === '-') {
      operands.push(token);
      continue;
    }
    const eq = token.indexOf('=');
    let flag = eq > 0 ? token.slice(0, eq) : token;
    if (/^-[A-Za-z]$/.test(flag)) flag = flag === '-q' ? '--quiet' : flag === '-h' ? '--help' : flag;
    const arity = spec.flags.get(flag);
    assert.ok(arity !== undefined, `${where}: ${flag} is not an option of "lagless ${spec.name}" (its --help lists: ${[...spec.flags.keys()].join(' ')})`);
    let value = '';
    if (eq > 0) value = token.slice(eq + 1);
    else if (arity === 'required' || (arity === 'optional' && rest[i + 1] !== undefined && !rest[i + 1]!.startsWith('-'))) {
      assert.ok(rest[i + 1] !== undefined && !rest[i + 1]!.startsWith('--'), `${where}: ${flag} needs a value`);
      value = rest[++i]!;
    }
    flags.set(flag, [...(flags.get(flag) ?? []), value]);
  }
  assert.equal(operands.length, cmd.operands, `${where}: "lagless ${spec.name}" takes ${cmd.operands} operand(s), got ${JSON.stringify(operands)}`);
  const res = await helpInProcess([...argv, '--help']);
  assert.equal(res.code, 0, `${where}: the CLI rejects these arguments: ${res.stderr.trim()}`);
  return { name: spec.name, operands, flags };
}

/** The single value of a flag, or a failure naming the place. */
export function flagValue(line: CommandLine, name: string, where: string): string {
  const values = line.flags.get(name);
  assert.ok(values && values.length === 1, `${where}: "lagless ${line.name}" must be given ${name} exactly once, got ${JSON.stringify(values ?? [])}`);
  return values[0]!;
}
