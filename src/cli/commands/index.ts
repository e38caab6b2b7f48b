// The list of top-level commands; each module adds one command (and its subcommands) to the program.
import type { Command } from 'commander';
import type { CliContext } from '../context.ts';

export type RegisterCommand = (program: Command, ctx: CliContext) => void;

export const commands: RegisterCommand[] = [];
