// Where Lagless keeps its per-user state: the Kafka jar cache and local broker data directories.
import { homedir } from 'node:os';
import { join } from 'node:path';

/** Root of Lagless's per-user files: $LAGLESS_HOME, else ~/.lagless. Outside any clone, so every checkout shares the jar cache. */
export function laglessHome(env: NodeJS.ProcessEnv = process.env): string {
  return env.LAGLESS_HOME || join(homedir(), '.lagless');
}

/** Cached jars of one Kafka version. */
export function kafkaCacheDir(version: string, env: NodeJS.ProcessEnv = process.env): string {
  return join(laglessHome(env), 'cache', 'kafka', version);
}

/** Default data directory of the local broker listening on `port`. */
export function defaultDataDir(port: number, env: NodeJS.ProcessEnv = process.env): string {
  return join(laglessHome(env), 'kafka', String(port));
}

/** Pointer files: which data directory serves which port, so `stop`/`status` find a broker started with --data-dir. */
export function registryFile(port: number, env: NodeJS.ProcessEnv = process.env): string {
  return join(laglessHome(env), 'kafka', 'running', `${port}.json`);
}
