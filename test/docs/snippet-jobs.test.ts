// Every job sample in the README and the docs runs: written to a file as a reader would save it, started with
// `lagless run` against the broker, fed the records of its job-test comment, and read back: the outputs and dead
// letters the comment expects, every input committed, and a clean stop.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { eventually } from '../helpers/eventually.ts';
import { consumeAll, createTopic, endOffsets, groupLag, produce, uniqueName } from '../helpers/kafka.ts';
import { exitedReason, startLagless, stopLagless } from '../helpers/lagless-process.ts';
import { ROOT, tsSnippets, writeSnippets, type JobTest } from '../helpers/doc-snippets.ts';

const snippets = tsSnippets();
const jobs = snippets.filter((s) => s.job && s.jobTest);

const sorted = (xs: { key: string | undefined; value: string }[]) => xs.map((x) => `${x.key} => ${x.value}`).sort();

test('there are job samples to run', () => {
  assert.ok(jobs.length >= 4, `${jobs.length} job samples`);
});

for (const job of jobs) {
  const spec = job.jobTest as JobTest;
  test(`${job.page}:${job.line} (${job.file}) runs with lagless run and gives the outputs and dead letters it promises`, async (t) => {
    // The page's samples side by side (a job and its worker module), inside the repository so that 'lagless' resolves.
    const dir = mkdtempSync(join(ROOT, '.lagless-snippets-'));
    t.after(() => rmSync(dir, { recursive: true, force: true }));
    const where = writeSnippets(dir, snippets.filter((s) => s.page === job.page));
    const file = where.get(job)!;
    const from = await createTopic(t, uniqueName('snippet-in'), 1);
    const to = await createTopic(t, uniqueName('snippet-out'), 1);
    const dlq = await createTopic(t, uniqueName('snippet-dlq'), 1);
    const env: Record<string, string> = {};
    for (const name of Object.keys(spec.extra ?? {})) env[name] = await createTopic(t, uniqueName(`snippet-${name.toLowerCase()}`), 1);
    const group = uniqueName('snippet-group');
    await produce(from, spec.in);
    const run = startLagless(t, ['run', file, '--from', from, '--to', to, '--dlq', dlq, '--group', group, '--status-every', '0'], { env });

    const outputs = await consumeAll(to, { count: spec.out.length, timeoutMs: 120_000 });
    assert.deepEqual(sorted(outputs), sorted(spec.out), 'the outputs on --to');
    for (const [name, expected] of Object.entries(spec.extra ?? {})) {
      assert.deepEqual(sorted(await consumeAll(env[name]!, { count: expected.length })), sorted(expected), `the outputs on the topic of ${name}`);
    }
    const letters = await consumeAll(dlq, { count: spec.dlq?.length ?? 0 });
    assert.deepEqual(
      letters.map((l) => `${l.key} ${(JSON.parse(l.value) as { error: { code: string } }).error.code}`).sort(),
      (spec.dlq ?? []).map((d) => `${d.key} ${d.code}`).sort(),
      'the dead letters, by key and code',
    );
    await eventually(async () => (await groupLag(from, 1, group)).lag === 0n, { what: 'every input committed', timeout: 60_000, failIf: exitedReason(run) });
    const stopped = await stopLagless(run);
    assert.equal(stopped.code, 0, stopped.stderr);
    // Nothing more than promised: no extra output or dead letter (a duplicate, a filtered record that produced).
    assert.deepEqual(await endOffsets(to, 1), [BigInt(spec.out.length)], 'records on --to');
    assert.deepEqual(await endOffsets(dlq, 1), [BigInt(spec.dlq?.length ?? 0)], 'dead letters');
  });
}
