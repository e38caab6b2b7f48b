// End-to-end helpers: the image server and the engine's palettes for its photos, the transformer CLI as a subprocess, group progress, and accounting for every input id in the output and dead-letter topics.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TestContext } from 'node:test';
import type { TopicLag } from '../../src/kafka/index.ts';
import { DEFAULT_IMAGES_DIR, startImageServer, type ImageServer, type ImageServerOptions } from '../../src/image-server/index.ts';
import { extractPalette, type PaletteOptions, type PaletteResult } from '../../src/palette/index.ts';
import { exitedReason, startCli, waitCli, type CliResult } from './cli.ts';
import { eventually } from './eventually.ts';
import { groupLag, type ConsumedRecord } from './kafka.ts';

export { endOffsets, readTopic } from './kafka.ts';

export type CliChild = ReturnType<typeof startCli>;

/**
 * The network namespace `npm test` runs the suite in (loopback only). Tests that add addresses to `lo` or point at
 * private addresses need it: outside of it they could reach a real network.
 */
export function requireNetns(): string {
  const ns = process.env.LAGLESS_TEST_NETNS;
  if (!ns) {
    throw new Error(
      'LAGLESS_TEST_NETNS is not set: this test adds an address to lo and must run inside the loopback-only network namespace ' +
        'that "npm test" creates (run it as root with: npm test -- test/e2e)',
    );
  }
  return ns;
}

/** Starts the image server (photos from assets/images) and closes it after the test. */
export async function startImages(t: TestContext, options: ImageServerOptions = {}): Promise<ImageServer> {
  const server = await startImageServer(options);
  t.after(() => server.close());
  return server;
}

/** What the engine gives for each photo the image server serves, by file name (computed in this process, no worker). */
export async function enginePalettes(names: readonly string[], options: Partial<PaletteOptions> = {}, dir = DEFAULT_IMAGES_DIR): Promise<Map<string, PaletteResult>> {
  const out = new Map<string, PaletteResult>();
  for (const name of names) out.set(name, await extractPalette(await readFile(join(dir, name)), options));
  return out;
}

/**
 * Starts `lagless run palette <args>` and makes sure it is gone after the test (SIGKILL if it still runs).
 * Status lines every 200 ms, so tests can follow the totals.
 */
export function startTransformer(t: TestContext, args: string[]): CliChild {
  const child = startCli(['run', 'palette', '--status-interval', '200ms', '--status-every', '0', ...args]);
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return child;
}

/** Sends SIGTERM (graceful stop) and waits for the exit. */
export async function stopTransformer(child: CliChild, timeoutMs = 60_000): Promise<CliResult> {
  child.kill('SIGTERM');
  return waitCli(child, timeoutMs);
}

/** Sends SIGKILL and waits until the process is gone. */
export async function killTransformer(child: CliChild): Promise<CliResult> {
  child.kill('SIGKILL');
  return waitCli(child, 30_000);
}

/** Totals of the transformer's last status line ("total ok N, dead M, retries R"). */
export function lastTotals(child: CliChild): { ok: number; dead: number; retries: number } {
  const all = [...child.output.stderr.matchAll(/total ok (\d+), dead (\d+), retries (\d+)/g)];
  const last = all.at(-1);
  return last ? { ok: Number(last[1]), dead: Number(last[2]), retries: Number(last[3]) } : { ok: 0, dead: 0, retries: 0 };
}

/** Partitions of every assignment line the transformer printed, in order. */
export function assignments(child: CliChild): number[][] {
  return [...child.output.stderr.matchAll(/assignment \(generation -?\d+\): partitions \[([\d,]*)\]/g)].map((m) => (m[1] ? m[1].split(',').map(Number) : []));
}

/** Committed offsets of `group` on `topic` (-1 where nothing is committed). */
export async function committedOffsets(group: string, topic: string, partitions: number): Promise<bigint[]> {
  const lag = await groupLag(topic, partitions, group);
  const out = Array.from({ length: partitions }, () => -1n);
  for (const p of lag.partitions) out[p.partition] = p.committed ?? -1n;
  return out;
}

/**
 * Waits until the group has committed the end of every partition of `topic` (its lag is 0): every input record is
 * done (its output or dead letter acknowledged), which is what a user means by "the transformer has caught up". Fails
 * when no commit moves for `stallMs` (a stall), not because a loaded machine is slow; 20 minutes at most.
 */
export async function waitCaughtUp(group: string, topic: string, partitions: number, stallMs: number, child?: CliChild): Promise<void> {
  let last: TopicLag | undefined;
  await eventually(
    async (progress) => {
      last = await groupLag(topic, partitions, group);
      progress(last.partitions.reduce((sum, p) => sum + (p.committed ?? 0n), 0n));
      return last.partitions.length === partitions && last.lag === 0n;
    },
    {
      what: () =>
        `group ${group} to commit the end of ${topic} (ends ${last?.partitions.map((p) => p.logEnd).join(',')}, committed ${last?.partitions.map((p) => p.committed ?? '-').join(',')})` +
        (child ? `\nthe transformer's last lines:\n${child.output.stderr.split('\n').slice(-25).join('\n')}` : ''),
      timeout: 20 * 60_000,
      stall: stallMs,
      // Every 250 ms is plenty, and keeps the test process (which also serves the images) light.
      every: 250,
      ...(child ? { failIf: exitedReason(child) } : {}),
    },
  );
}

export interface Accounting {
  /** Ids with neither an output nor a dead letter. */
  missing: string[];
  /** Ids with both an output and a dead letter. */
  both: string[];
  /** Records beyond the first per id (outputs and dead letters together): the redone work. */
  duplicates: number;
  /** Records whose key is not an input id. */
  unknown: string[];
  outputs: Map<string, ConsumedRecord[]>;
  deadLetters: Map<string, ConsumedRecord[]>;
}

/** Matches the output and dead-letter records with the input ids, by key (the input's key is its id). */
export function account(ids: readonly string[], outputs: readonly ConsumedRecord[], deadLetters: readonly ConsumedRecord[]): Accounting {
  const known = new Set(ids);
  const group = (records: readonly ConsumedRecord[]) => {
    const m = new Map<string, ConsumedRecord[]>();
    for (const r of records) {
      const k = r.key ?? '';
      const list = m.get(k);
      if (list) list.push(r);
      else m.set(k, [r]);
    }
    return m;
  };
  const out = group(outputs);
  const dead = group(deadLetters);
  const unknown = [...out.keys(), ...dead.keys()].filter((k) => !known.has(k));
  const missing = ids.filter((id) => !out.has(id) && !dead.has(id));
  const both = ids.filter((id) => out.has(id) && dead.has(id));
  const duplicates = outputs.length + deadLetters.length - (out.size + dead.size) + both.length;
  return { missing, both, duplicates, unknown, outputs: out, deadLetters: dead };
}

/** The transformer's warning lines (retried produce requests, failed commits, drain timeouts...), for the test's diagnostics. */
export function warnings(child: CliChild): string[] {
  return child.output.stderr.split('\n').filter((l) => / warning: /.test(l));
}
