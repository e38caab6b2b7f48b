// End to end: kill -9 of the transformer in the middle of a run, then a restart in the same group: no id is lost, and the records done twice are bounded by --max-in-flight.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createTopic, endOffsets, produce, testBrokers, uniqueName } from '../helpers/kafka.ts';
import {
  account,
  committedOffsets,
  enginePalettes,
  killTransformer,
  lastTotals,
  readTopic,
  startImages,
  startTransformer,
  stopTransformer,
  waitCaughtUp,
  warnings,
} from '../helpers/pipeline.ts';
import { exitedReason } from '../helpers/cli.ts';
import { eventually } from '../helpers/eventually.ts';

const PARTITIONS = 8;
const TOTAL = 1200;
const MAX_IN_FLIGHT = 200;
/** Outputs the first process must have produced before it is killed. */
const KILL_AFTER = 300;

test('kill -9 mid-run, then restart with the same group: no id missing, duplicates at most --max-in-flight', async (t) => {
  const images = await startImages(t);
  const palettes = await enginePalettes(images.images);
  const run = uniqueName('crash');
  // Mostly photos, every 10th a 404 (a dead letter): both topics count.
  const inputs = Array.from({ length: TOTAL }, (_, n) => {
    const id = `${run}-${n}`;
    const image = images.images[n % images.images.length]!;
    const url = n % 10 === 9 ? `${images.url}/status/404?id=${id}` : images.imageUrl(image, { id });
    return { id, image: n % 10 === 9 ? undefined : image, value: JSON.stringify({ id, url }) };
  });
  const from = await createTopic(t, uniqueName('urls'), PARTITIONS);
  const to = await createTopic(t, uniqueName('palettes'), PARTITIONS);
  const dlq = await createTopic(t, uniqueName('urls.dlq'), PARTITIONS);
  const group = uniqueName('e2e-crash');
  await produce(from, inputs.map((r) => ({ key: r.id, value: r.value })));

  const args = [
    '--brokers', testBrokers().join(','),
    '--from', from, '--to', to, '--dlq', dlq, '--group', group,
    '--allow-host', `127.0.0.1:${images.port}`,
    '--workers', '2',
    '--max-in-flight', String(MAX_IN_FLIGHT),
    '--session-timeout', '6s',
  ];
  const first = startTransformer(t, args);
  const records = async (topic: string) => (await endOffsets(topic, PARTITIONS)).reduce((x, y) => x + y, 0n);
  await eventually(async (progress) => {
    const done = (await records(to)) + (await records(dlq));
    progress(done);
    return done >= BigInt(KILL_AFTER);
  }, {
    what: `${KILL_AFTER} outputs and dead letters from the first process`,
    timeout: 600_000,
    stall: 90_000,
    every: 100,
    failIf: exitedReason(first),
  });
  const killed = await killTransformer(first);
  assert.equal(killed.signal, 'SIGKILL');
  const before = lastTotals(first);
  const committedAtKill = (await committedOffsets(group, from, PARTITIONS)).reduce((a, c) => a + (c > 0n ? c : 0n), 0n);
  assert.ok(committedAtKill < BigInt(TOTAL), `the kill came mid-run (${committedAtKill} of ${TOTAL} committed)`);

  const second = startTransformer(t, args);
  await waitCaughtUp(group, from, PARTITIONS, 90_000, second);
  const stopped = await stopTransformer(second);
  assert.equal(stopped.code, 0, `the restarted transformer exits 0 after SIGTERM\n${stopped.stderr}`);
  const after = lastTotals(second);

  const [outputs, deadLetters] = await Promise.all([readTopic(to, PARTITIONS), readTopic(dlq, PARTITIONS)]);
  const acc = account(
    inputs.map((r) => r.id),
    outputs,
    deadLetters,
  );
  assert.deepEqual(acc.missing, [], 'no id is missing after the crash and restart');
  assert.deepEqual(acc.both, [], 'no id has both an output and a dead letter');
  assert.deepEqual(acc.unknown, []);
  // The bound holds because the window (records fetched and not committed) never exceeds --max-in-flight.
  const windows = [first, second].flatMap((c) => [...c.output.stderr.matchAll(/, window (\d+)/g)].map((m) => Number(m[1])));
  assert.ok(windows.length > 10, 'status lines were printed');
  assert.ok(Math.max(...windows) <= MAX_IN_FLIGHT, `the window stayed within --max-in-flight (max ${Math.max(...windows)})`);
  assert.ok(acc.duplicates <= MAX_IN_FLIGHT, `duplicates (${acc.duplicates}) are bounded by --max-in-flight (${MAX_IN_FLIGHT})`);
  // Redone records are still right: every output (duplicates included) has the engine's palette for its photo.
  const byId = new Map(inputs.map((r) => [r.id, r]));
  for (const o of outputs) {
    const want = palettes.get(byId.get(o.key!)!.image ?? '');
    assert.ok(want, `${o.key} should have been a dead letter`);
    assert.deepEqual(JSON.parse(o.value).palette, want.palette, `palette of ${o.key}`);
  }
  for (const d of deadLetters) assert.equal(JSON.parse(d.value).error.code, 'HTTP_STATUS');
  t.diagnostic(
    `first process: ~${before.ok + before.dead} done when killed (${committedAtKill} committed); restart: ${after.ok + after.dead} done; ` +
      `records in the topics ${outputs.length + deadLetters.length} for ${TOTAL} ids: ${acc.duplicates} duplicate(s) (bound ${MAX_IN_FLIGHT}); largest window seen ${Math.max(...windows)}`,
  );
  for (const w of [...warnings(first), ...warnings(second)]) t.diagnostic(w);
});
