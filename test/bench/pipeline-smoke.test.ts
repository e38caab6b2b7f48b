// Keeps `npm run bench -- pipeline` from rotting: every stage runs at a tiny size and yields a well-formed result (no timing assertions).
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { spawn } from 'node:child_process';
import { writeFile } from 'node:fs/promises';
import { lateGrowth, runPipelineBench, sampleRss, slopePerMinute, STAGES, writeResult } from '../../bench/pipeline.ts';
import { eventually } from '../helpers/eventually.ts';
import { testBrokers } from '../helpers/kafka.ts';

const positive = (x: unknown, what: string) => assert.ok(typeof x === 'number' && Number.isFinite(x) && x > 0, `${what}: expected a positive number, got ${String(x)}`);

test('every stage of the pipeline bench runs at a tiny size and gives a complete, well-formed result', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'lagless-bench-smoke-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const lines: string[] = [];
  const r = await runPipelineBench({
    brokers: testBrokers().join(','),
    workers: 1,
    // The shipped sample photos: the photo set is fetched from Debian packages, which the test's namespace cannot reach.
    images: 'shipped',
    partitions: 2,
    latencyMs: 20,
    records: 20,
    partitionRecords: 6,
    pipelineRounds: 1,
    overheadRecords: 300,
    rounds: 1,
    memoryRecords: 300,
    memorySeconds: 3,
    log: (l) => lines.push(l),
  });
  assert.equal(r.bench, 'pipeline');
  assert.deepEqual([...r.options.only], [...STAGES]);
  assert.ok(lines.length > 0, 'progress lines were logged');

  positive(r.engine?.perSecond, 'engine alone rate');
  assert.equal(r.engine?.runs.length, 1, 'one engine run per pipeline round');
  assert.equal(r.images.count > 0 && r.images.formats.jpeg! > 0, true, 'the images used are described');
  assert.equal(r.pipeline?.cpuBound.length, 1);
  assert.equal(r.pipeline?.latency.length, 1);
  for (const run of [...r.pipeline!.cpuBound, ...r.pipeline!.latency]) {
    assert.equal(run.outputs, 20, 'every image became an output');
    assert.equal(run.deadLetters, 0);
    positive(run.perSecond, 'pipeline rate');
    positive(run.steadyPerSecond, 'pipeline steady rate');
  }
  positive(r.pipeline?.latencyVsCpuBound, 'latency vs CPU-bound');
  positive(r.pipeline?.cpuBoundVsEngine, 'pipeline vs engine alone');
  assert.equal(r.partition?.run.ordering, 'partition');
  assert.equal(r.partition?.run.outputs, 6);
  positive(r.partition?.unorderedGain, 'gain of per-message parallelism');

  assert.deepEqual(r.overhead?.runs.map((x) => x.contender).sort(), ['bare', 'noop']);
  for (const run of r.overhead!.runs) positive(run.perSecond, `${run.contender} rate`);
  positive(r.overhead?.noopVsBare, 'noop vs bare');
  positive(r.overhead?.cpuRatio, 'CPU per message ratio');

  const m = r.memory!;
  assert.ok(m.samplesMb.length >= 3, 'one RSS sample a second');
  for (const s of m.samplesMb) positive(s, 'RSS sample');
  positive(m.maxMb, 'max RSS');
  assert.equal(m.exitCode, 0, 'lagless run palette stopped cleanly on SIGTERM');
  assert.ok(Number.isInteger(m.outputs) && m.outputs >= 0 && m.outputs <= m.backlog);

  assert.deepEqual(
    r.verdicts.map((v) => typeof v.ok),
    ['boolean', 'boolean', 'boolean', 'boolean', 'boolean'],
    'one verdict per target: pipeline vs engine, latency hiding, overhead, max RSS, flat RSS',
  );
  for (const v of r.verdicts) assert.equal(v.ok, v.miss === '', `${v.name}: a miss is explained exactly when the target is missed`);
  for (const needle of ['palette engine alone', '0 ms vs engine alone', 'images: ', 'CPU-bound', '--ordering partition', 'bare @platformatic/kafka', 'noop job', 'RSS of lagless run palette', 'load average before']) {
    assert.ok(r.table.some((l) => l.includes(needle)), `the table shows "${needle}"`);
  }

  const file = writeResult(r, join(dir, 'out.json'));
  // The file is the result plus its provenance (the command and the commit, for npm run bench -- report).
  const { command, commit, ...written } = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
  assert.equal(typeof command, 'string');
  assert.ok(commit === null || (typeof commit === 'string' && /^[0-9a-f]{40}/.test(commit)), 'a commit or null');
  assert.deepEqual(written, JSON.parse(JSON.stringify(r)));
});

test('the bench refuses brokers beyond loopback before connecting to anything', async () => {
  await assert.rejects(runPipelineBench({ brokers: '10.1.2.3:9092', only: ['overhead'] }), /loopback/);
  // Before any other work too: the photo mix is not made (a fresh clone has none; making it downloads packages).
  await assert.rejects(runPipelineBench({ brokers: '10.1.2.3:9092', only: ['overhead'], images: '/nonexistent/photos' }), /loopback/);
});

test('flatness figures: a plateau after a climb is flat, a steady climb is not', () => {
  const plateau = [100, 200, 250, 260, 262, 262, 262, 263, 262];
  assert.equal(lateGrowth(plateau), 1);
  const leak = Array.from({ length: 60 }, (_, i) => 200 + i);
  assert.equal(lateGrowth(leak), 20);
  assert.equal(Math.round(slopePerMinute(leak)), 60, 'one MB a second is 60 MB a minute');
  assert.equal(slopePerMinute([5, 5, 5, 5]), 0);
});

test('the RSS sampler measures only a started node running the script: not another program, not an exited process', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'lagless-rss-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const script = join(dir, 'idle.js');
  await writeFile(script, 'setInterval(() => {}, 1000);\n');
  const other = spawn('sleep', ['30'], { stdio: 'ignore' });
  const node = spawn(process.execPath, [script], { stdio: 'ignore' });
  t.after(() => {
    other.kill('SIGKILL');
    node.kill('SIGKILL');
  });
  const first = await eventually(() => {
    const v = sampleRss(node.pid!, script);
    return typeof v === 'number' ? v : undefined;
  }, { what: 'a sample of the node process', timeout: 30_000, every: 1 });
  // A started node maps and touches its binary and heap: tens of MB, never the few kB of a process mid-exec.
  assert.ok(first >= 5, `first sample ${first} MB`);
  assert.equal(sampleRss(other.pid!, script), 'not-yet', 'a process that is not node running the script is no sample');
  node.kill('SIGKILL');
  await new Promise((r) => node.once('exit', r));
  assert.equal(sampleRss(node.pid!, script), 'gone');
});
