// What a command may touch from the outside world: environment and output streams (injected so tests can run commands in-process).
import type { Writable } from 'node:stream';

export interface CliContext {
  env: NodeJS.ProcessEnv;
  stdout: Writable & { isTTY?: boolean; columns?: number };
  stderr: Writable & { isTTY?: boolean };
  stdin: NodeJS.ReadableStream;
  /** Resolves when the user asks to stop (first SIGINT/SIGTERM); long-running commands listen to it. */
  signal: AbortSignal;
}

/** A command module adds one top-level command (and its subcommands) to the program. */
export type RegisterCommand = (program: import('commander').Command, ctx: CliContext) => void;
