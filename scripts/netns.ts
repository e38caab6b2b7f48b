// Running a script again inside a network namespace of its own, with only loopback up: what `npm test` and
// `npm run faults` do first, so that nothing they start can reach an address beyond this machine.
import { spawn, spawnSync } from 'node:child_process';

const ip = (...a: string[]) => spawnSync('ip', a, { stdio: 'inherit' }).status === 0;

/** Makes namespace `ns` with its loopback up; false when it cannot (not root, no iproute2). */
export function createLoopbackNamespace(ns: string): boolean {
  return ip('netns', 'add', ns) && ip('-n', ns, 'link', 'set', 'lo', 'up');
}

/**
 * Runs `node script ...argv` inside `ns` with `env`, forwards SIGINT and SIGTERM to it, deletes the namespace when it
 * ends and exits this process with its exit code (1 when a signal ended it).
 */
export async function reexecInNamespace(ns: string, script: string, argv: string[], env: NodeJS.ProcessEnv): Promise<never> {
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, script, ...argv], { stdio: 'inherit', env });
  const forward = (sig: NodeJS.Signals) => child.kill(sig);
  process.on('SIGINT', forward);
  process.on('SIGTERM', forward);
  const code = await new Promise<number>((r) => child.on('close', (c, sig) => r(c ?? (sig ? 1 : 0))));
  ip('netns', 'delete', ns);
  process.exit(code);
}
