// Long-running `lagless` subprocesses in tests: start them, read what they printed, stop them gracefully, never leave one (or its replicas) behind.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import { exitedReason, startCli, waitCli, type CliResult, type CliRunOptions } from './cli.ts';
import { eventually } from './eventually.ts';
import { readGroupStatus, type GroupStatus } from '../../src/control/index.ts';
import { createTopic, testBrokers, uniqueName } from './kafka.ts';

export type LaglessChild = ReturnType<typeof startCli>;
export { exitedReason };

/**
 * The first match of `pattern` in the child's stderr (searched from `from`). Only to learn what a process printed (its
 * URL); to wait for a state, poll the state itself with `eventually`.
 */
export async function waitForStderr(child: LaglessChild, pattern: RegExp, timeoutMs = 180_000, from = 0): Promise<RegExpMatchArray> {
  return eventually(() => child.output.stderr.slice(from).match(pattern), {
    what: `${pattern} in the output`,
    timeout: timeoutMs,
    every: 100,
    failIf: exitedReason(child),
  });
}

/** Pids of replica processes a supervisor reported starting ("replica N started (pid P)"). */
export function replicaPids(child: LaglessChild): Map<number, number> {
  const out = new Map<number, number>();
  for (const m of child.output.stderr.matchAll(/replica (\d+) started \(pid (\d+)\)/g)) out.set(Number(m[1]), Number(m[2]));
  return out;
}

/** Whether a process with this pid exists (a zombie counts until its parent reaps it). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Starts `lagless <args>` and registers a cleanup that stops it with SIGTERM (a supervisor then stops its replicas),
 * kills it after 45 s, and kills any replica it started that is still alive (replicas run in their own process group).
 */
export function startLagless(t: TestContext, args: string[], opts: CliRunOptions = {}): LaglessChild {
  const child = startCli(args, opts);
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await waitCli(child, 45_000).catch(() => child.kill('SIGKILL'));
    }
    for (const pid of replicaPids(child).values()) if (alive(pid)) process.kill(pid, 'SIGKILL');
    // For debugging a failure: LAGLESS_TEST_LOG_DIR=/tmp/x keeps each process's stderr in a file named after the test.
    const dir = process.env.LAGLESS_TEST_LOG_DIR;
    if (dir) {
      mkdirSync(dir, { recursive: true });
      writeFileSync(join(dir, `${t.name.replace(/[^\w.-]+/g, '_').slice(0, 80)}-${child.pid}.log`), child.output.stderr);
    }
  });
  return child;
}

/** SIGTERM, then the exit code and the whole output. */
export async function stopLagless(child: LaglessChild, timeoutMs = 60_000): Promise<CliResult> {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  return waitCli(child, timeoutMs);
}

/** GET a URL; the status and the body as text. */
export async function httpGet(url: string): Promise<{ status: number; body: string }> {
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  return { status: res.status, body: await res.text() };
}

/** The value of a Prometheus sample `name{...} value` in a /metrics text, or undefined when the metric has no sample. */
export function metricValue(text: string, name: string): number | undefined {
  const m = new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
}

export interface PipelineNames {
  from: string;
  to: string;
  dlq: string;
  /** A compacted status topic of this test's own, so that `lagless status` sees only its processes. */
  statusTopic: string;
  group: string;
}

/** Input, output, dead-letter and status topics unique to this test (deleted after it), and a unique group name. */
export async function createPipelineTopics(t: TestContext, prefix: string, partitions: number): Promise<PipelineNames> {
  const from = await createTopic(t, uniqueName(`${prefix}-urls`), partitions);
  const to = await createTopic(t, uniqueName(`${prefix}-palettes`), partitions);
  const dlq = await createTopic(t, uniqueName(`${prefix}-dlq`), partitions);
  const statusTopic = await createTopic(t, uniqueName(`${prefix}-status`), 1, { 'cleanup.policy': 'compact' });
  return { from, to, dlq, statusTopic, group: uniqueName(`${prefix}-group`) };
}

/** The group as `lagless status --json` shows it (read in this process: the broker's view plus the published statuses). */
export function groupStatus(n: Pick<PipelineNames, 'group' | 'statusTopic'>): Promise<GroupStatus> {
  return readGroupStatus({ kafka: { brokers: testBrokers() }, group: n.group, statusTopic: n.statusTopic });
}
