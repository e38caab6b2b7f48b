// Entry point of the `lagless` binary: the only place that reads process globals, handles signals and sets the exit code.
// The signal handlers are installed before the program's modules load (seconds on a busy machine), so that a SIGTERM
// right after the start is a graceful stop (exit 0) and not a death by signal; the command then sees it at once.

const [major] = process.versions.node.split('.').map(Number);
if ((major ?? 0) < 24) {
  process.stderr.write(
    `error: Lagless needs Node.js 24 or newer, this is ${process.version}.\n` +
      `Run it through npm (npx lagless ..., npm run ...), which uses the Node 24 that "npm install" put in node_modules/.bin.\n`,
  );
  process.exit(1);
}

// `lagless ... | head` closes the pipe early: that is not an error.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw err;
  });
}

// The last resort: an exception or rejection that nothing handled is a bug (of Lagless, or of code a job started and
// left unwatched; whatever a job's run(), setup() or worker throws is handled by the runtime and never comes here). It
// is reported with a code and the process exits 1, rather than going on in a state nobody planned for: its partitions
// move to the other members, and what it had not committed is redone.
const lastResort = (kind: string) => (err: unknown) => {
  let text: string;
  try {
    text = err instanceof Error ? (err.stack ?? err.message) : typeof err === 'symbol' ? err.toString() : String(err);
  } catch {
    text = 'a value that cannot be described (reading it threw)';
  }
  process.stderr.write(`error [INTERNAL]: ${kind}, exiting: ${text}\n`);
  process.exit(1);
};
process.on('uncaughtException', lastResort('uncaught exception'));
process.on('unhandledRejection', lastResort('unhandled rejection'));

// First SIGINT/SIGTERM: ask the running command to stop gracefully. Second: exit at once.
const stop = new AbortController();
let signals = 0;
const onSignal = (sig: NodeJS.Signals) => {
  signals += 1;
  if (signals === 1) {
    stop.abort(sig);
    return;
  }
  process.stderr.write(`\n${sig} again: exiting now.\n`);
  process.exit(130);
};
process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);
// A replica started by `--replicas` has an IPC channel to its supervisor: if the supervisor dies, stop gracefully.
if (process.send) process.once('disconnect', () => onSignal('SIGTERM'));

const { runCli } = await import('./program.ts');
const code = await runCli(process.argv.slice(2), {
  env: process.env,
  stdout: process.stdout,
  stderr: process.stderr,
  stdin: process.stdin,
  signal: stop.signal,
});
process.exitCode = code;
// Let pending output flush, then leave even if a library left a handle open.
setTimeout(() => process.exit(code), 50).unref();
