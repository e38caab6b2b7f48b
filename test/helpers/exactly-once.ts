// Helpers of the exactly-once end-to-end tests: members run with --guarantee exactly-once, and kcat (librdkafka) reads
// back outputs and dead letters with read_committed and read_uncommitted.
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { startCli, waitCli } from './cli.ts';
import { createTopic, testBrokers, uniqueName } from './kafka.ts';
import { countKeys, kcatRead, kcatSkipReason, type KcatRecord } from './kcat.ts';
import type { CliChild } from './pipeline.ts';

export const PARTITIONS = 4;
/** Why these tests are skipped (kcat is the independent read_committed reader). */
export const skip = kcatSkipReason;

/** The seeded PRNG of the fault suite: the kill moments of a failed run can be replayed with EOS_TEST_SEED. */
export { seededRandom as prng } from '../../faults/lib/rng.ts';

export interface Topics {
  from: string;
  to: string;
  dlq: string;
  group: string;
}

export async function topics(t: TestContext, name: string): Promise<Topics> {
  return {
    from: await createTopic(t, uniqueName(`${name}-in`), PARTITIONS),
    to: await createTopic(t, uniqueName(`${name}-out`), PARTITIONS),
    dlq: await createTopic(t, uniqueName(`${name}-dlq`), PARTITIONS),
    group: uniqueName(`e2e-${name}`),
  };
}

export function startMember(t: TestContext, job: 'noop' | 'palette', tp: Topics, extra: string[] = [], brokers = testBrokers()): CliChild {
  const child = startCli([
    'run', job,
    '--brokers', brokers.join(','),
    '--from', tp.from, '--to', tp.to, '--dlq', tp.dlq, '--group', tp.group,
    '--guarantee', 'exactly-once',
    '--session-timeout', '6s',
    '--status-interval', '500ms', '--status-every', '0',
    ...extra,
  ]);
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return child;
}

export const sum = (xs: readonly bigint[]) => xs.reduce((a, c) => a + (c > 0n ? c : 0n), 0n);

/** The ids read back with read_committed and read_uncommitted from the output and dead-letter topics. */
export async function readBack(tp: Topics, brokers = testBrokers()): Promise<{ committed: KcatRecord[]; uncommitted: KcatRecord[] }> {
  const [co, cd, uo, ud] = await Promise.all([
    kcatRead(tp.to, 'read_committed', { brokers }),
    kcatRead(tp.dlq, 'read_committed', { brokers }),
    kcatRead(tp.to, 'read_uncommitted', { brokers }),
    kcatRead(tp.dlq, 'read_uncommitted', { brokers }),
  ]);
  return { committed: [...co, ...cd], uncommitted: [...uo, ...ud] };
}

/** Fails unless every id appears exactly once (and nothing else appears). */
export function assertExactlyOnce(ids: readonly string[], records: readonly KcatRecord[], what: string): void {
  const counts = countKeys(records);
  const missing = ids.filter((id) => !counts.has(id));
  const twice = ids.filter((id) => (counts.get(id) ?? 0) > 1);
  const known = new Set(ids);
  const unknown = [...counts.keys()].filter((k) => !known.has(k));
  assert.deepEqual(missing.slice(0, 20), [], `${what}: ${missing.length} id(s) missing`);
  assert.deepEqual(twice.slice(0, 20), [], `${what}: ${twice.length} id(s) seen more than once`);
  assert.deepEqual(unknown.slice(0, 20), [], `${what}: unknown keys`);
  assert.equal(records.length, ids.length, `${what}: one record per id`);
}

export async function stopMember(child: CliChild): Promise<void> {
  child.kill('SIGTERM');
  const r = await waitCli(child, 90_000);
  assert.equal(r.code, 0, `a member exits 0 after SIGTERM\n${r.stderr.slice(-3000)}`);
}
