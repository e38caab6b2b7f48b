// Runs the real `lagless` CLI as a subprocess (Node 24, src/cli/main.ts) and collects its exit code and output.
import { spawn, type ChildProcess } from 'node:child_process';
import { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';

export const CLI_MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CliRunOptions {
  env?: NodeJS.ProcessEnv;
  input?: string;
  /** Leave stdin open for the test to write (and end) itself; `input` is ignored. */
  keepStdinOpen?: boolean;
  timeoutMs?: number;
  cwd?: string;
}

/** Runs `lagless <args>` to completion. */
export function runCli(args: string[], opts: CliRunOptions = {}): Promise<CliResult> {
  const child = startCli(args, opts);
  return waitCli(child, opts.timeoutMs ?? 120_000);
}

/** Starts `lagless <args>` and returns the child (for long-running commands: signal it, then waitCli). */
export function startCli(args: string[], opts: CliRunOptions = {}): ChildProcess & { output: { stdout: string; stderr: string } } {
  const child = spawn(process.execPath, [CLI_MAIN, ...args], {
    env: { ...process.env, ...opts.env },
    cwd: opts.cwd ?? process.cwd(),
    stdio: ['pipe', 'pipe', 'pipe'],
  }) as ChildProcess & { output: { stdout: string; stderr: string } };
  child.output = { stdout: '', stderr: '' };
  child.stdout!.on('data', (d: Buffer) => (child.output.stdout += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (child.output.stderr += d.toString()));
  // A CLI that exits without reading its input (a usage error) closes the pipe: EPIPE is not the test's failure.
  child.stdin!.on('error', () => {});
  if (opts.keepStdinOpen) return child;
  if (opts.input !== undefined) child.stdin!.end(opts.input);
  else child.stdin!.end();
  return child;
}

export function waitCli(child: ChildProcess & { output: { stdout: string; stderr: string } }, timeoutMs = 120_000): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`lagless did not finish within ${timeoutMs} ms\nstdout: ${child.output.stdout}\nstderr: ${child.output.stderr}`));
    }, timeoutMs);
    const done = (code: number | null, signal: NodeJS.Signals | null) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout: child.output.stdout, stderr: child.output.stderr });
    };
    if (child.exitCode !== null || child.signalCode !== null) done(child.exitCode, child.signalCode as NodeJS.Signals | null);
    else child.once('close', done);
  });
}

/** For `eventually`'s failIf: why waiting is pointless once `child` has exited (with the end of its stderr). */
export function exitedReason(child: ChildProcess & { output: { stdout: string; stderr: string } }): () => string | undefined {
  return () =>
    child.exitCode !== null || child.signalCode !== null
      ? `the process exited (code ${child.exitCode}, signal ${child.signalCode}) first\nstderr:\n${child.output.stderr.slice(-4000)}`
      : undefined;
}

/**
 * `lagless <args> --help` run in this process (the CLI takes its streams from a context for this): the same parsers,
 * without starting a process per line, which takes seconds each on a loaded machine. Only for --help, which runs no
 * command.
 */
export async function helpInProcess(args: string[]): Promise<CliResult> {
  if (!args.includes('--help')) throw new Error(`helpInProcess runs only --help command lines, got: ${args.join(' ')}`);
  const { runCli: run } = await import('../../src/cli/program.ts');
  const out = { stdout: '', stderr: '' };
  const sink = (key: 'stdout' | 'stderr') =>
    new Writable({
      write(chunk: Buffer | string, _enc, done) {
        out[key] += chunk.toString();
        done();
      },
    });
  const code = await run(args, { env: { ...process.env }, stdout: sink('stdout'), stderr: sink('stderr'), stdin: Readable.from([]), signal: new AbortController().signal });
  return { code, signal: null, ...out };
}
