// Builds the `lagless` command tree and runs it: maps errors to exit codes 0 (ok), 1 (runtime failure), 2 (usage).
import { Command, CommanderError } from 'commander';
import { LAGLESS_VERSION as VERSION } from '../common/index.ts';
import { describeThrown, LaglessError, safeCause, UsageError } from '../errors/index.ts';
import type { CliContext } from './context.ts';
import { commands } from './commands/index.ts';

export const ExitCode = { OK: 0, FAILURE: 1, USAGE: 2 } as const;

export function buildProgram(ctx: CliContext): Command {
  const program = new Command('lagless')
    .description('Serverless-style Kafka stream processing: image URLs in, colour palettes out, compute that follows the load.')
    .version(VERSION, '-V, --version')
    .showSuggestionAfterError(true)
    .configureOutput({
      writeOut: (s) => ctx.stdout.write(s),
      writeErr: (s) => ctx.stderr.write(s),
    });
  for (const register of commands) register(program, ctx);
  // Exit codes are decided in runCli, never by commander calling process.exit. Subcommands added with addCommand do
  // not inherit the output settings: every command writes its help and errors to the context's streams.
  const output = { writeOut: (s: string) => ctx.stdout.write(s), writeErr: (s: string) => ctx.stderr.write(s) };
  const override = (cmd: Command) => {
    cmd.exitOverride();
    cmd.configureOutput(output);
    for (const sub of cmd.commands) override(sub);
  };
  override(program);
  return program;
}

/** Runs the CLI with argv (without node and script) and resolves to the exit code. */
export async function runCli(argv: string[], ctx: CliContext): Promise<number> {
  const program = buildProgram(ctx);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return ExitCode.OK;
  } catch (err) {
    return reportError(err, ctx);
  }
}

function reportError(err: unknown, ctx: CliContext): number {
  if (err instanceof CommanderError) {
    // Help and version are not failures; commander already printed the message for real errors.
    if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return ExitCode.OK;
    if (err.exitCode === 0) return ExitCode.OK;
    return ExitCode.USAGE;
  }
  if (err instanceof UsageError) {
    ctx.stderr.write(`error: ${err.message}\n(run with --help for usage)\n`);
    return ExitCode.USAGE;
  }
  if (err instanceof LaglessError) {
    ctx.stderr.write(`error [${err.code}]: ${err.message}\n`);
    if (ctx.env.LAGLESS_DEBUG && err.cause) ctx.stderr.write(`caused by: ${String((err.cause as Error)?.stack ?? err.cause)}\n`);
    return ExitCode.FAILURE;
  }
  // Anything else (a bug, or a value a job threw that reached here): described without trusting it.
  ctx.stderr.write(`error [INTERNAL]: ${describeThrown(err)}\n`);
  if (ctx.env.LAGLESS_DEBUG) {
    const cause = safeCause(err) as Error | undefined;
    if (cause?.stack) ctx.stderr.write(`${cause.stack}\n`);
  }
  return ExitCode.FAILURE;
}
