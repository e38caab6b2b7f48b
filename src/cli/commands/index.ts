// The list of top-level commands; each module adds one command (and its subcommands) to the program.
import { register as kafka } from './kafka.ts';
import { register as topics } from './topics.ts';
import { register as produce } from './produce.ts';
import { register as status } from './status.ts';
import { register as palette } from './palette.ts';
import { register as run } from './run.ts';
import { register as dashboard } from './dashboard.ts';
import type { RegisterCommand } from '../context.ts';

export type { RegisterCommand } from '../context.ts';

export const commands: RegisterCommand[] = [kafka, topics, produce, run, status, dashboard, palette];
