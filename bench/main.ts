// Benchmark dispatcher: `npm run bench -- <name> [args]` runs bench/<name>.ts in its own Node process with the remaining args.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { constants } from 'node:os';

const here = new URL('.', import.meta.url);
const available = readdirSync(here)
  .filter((f) => f.endsWith('.ts') && f !== 'main.ts' && !f.endsWith('.d.ts'))
  .map((f) => f.slice(0, -3))
  .sort();
const [name, ...args] = process.argv.slice(2);

if (!name || name === '--help' || name === '-h') {
  process.stdout.write(`usage: npm run bench -- <name> [args]   (each bench has --help)\nbenches: ${available.join(', ')}\n`);
  process.exit(name ? 0 : 2);
}
if (!/^[a-z0-9][a-z0-9-]*$/.test(name) || !existsSync(new URL(`${name}.ts`, here))) {
  process.stderr.write(`error: no benchmark "${name}" (available: ${available.join(', ')})\n`);
  process.exit(2);
}
// A child process per bench: each one starts clean (no warm caches, no leftover threads) and may re-exec itself (e.g. pinned to a core).
const child = spawn(process.execPath, [new URL(`${name}.ts`, here).pathname, ...args], { stdio: 'inherit' });
const forward = (sig: NodeJS.Signals) => child.kill(sig);
process.on('SIGINT', forward);
process.on('SIGTERM', forward);
child.on('exit', (code, signal) => process.exit(code ?? 128 + (signal ? (constants.signals[signal] ?? 0) : 1)));
