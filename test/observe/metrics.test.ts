// The Prometheus registry of a Lagless process: the names a scrape config and dashboards rely on.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createMetricsRegistry } from '../../src/observe/index.ts';

const source = {
  role: 'replica' as const,
  group: 'g',
  topic: 'urls',
  stats: () => ({ received: 5, succeeded: 4, deadLettered: 1, retries: 0, inFlight: 0, windowSize: 0, workers: { workers: 2, maxWorkers: 4 }, concurrency: { active: 6, limit: 64 } }),
  lag: () => 7,
  desiredWorkers: () => 3,
  desiredReplicas: () => undefined,
};

test('bug: default process metrics were named lagless_process_process_*; they are lagless_process_* and lagless_nodejs_*', async () => {
  const text = await createMetricsRegistry(source).metrics();
  assert.match(text, /^lagless_process_resident_memory_bytes \d+/m);
  assert.match(text, /^lagless_process_cpu_seconds_total /m);
  assert.match(text, /^lagless_nodejs_heap_size_used_bytes /m);
  assert.doesNotMatch(text, /lagless_process_process_|lagless_process_nodejs_/);
});

test('runtime gauges carry the group and topic labels; a wish nobody computes has no sample', async () => {
  const text = await createMetricsRegistry(source).metrics();
  assert.match(text, /^lagless_consumer_lag\{group="g",topic="urls"\} 7$/m);
  assert.match(text, /^lagless_desired_workers\{group="g",topic="urls"\} 3$/m);
  assert.match(text, /^lagless_workers_active\{group="g",topic="urls"\} 2$/m);
  assert.match(text, /^lagless_records_dead_lettered_total\{group="g",topic="urls"\} 1$/m);
  assert.doesNotMatch(text, /^lagless_desired_replicas\{/m);
});

test("the job's I/O in run() is lagless_io_active, whatever the job (lagless_downloads_active stays as a deprecated alias)", async () => {
  const text = await createMetricsRegistry(source).metrics();
  assert.match(text, /^lagless_io_active\{[^}]*\} 6$/m);
  assert.match(text, /^lagless_downloads_active\{[^}]*\} 6$/m);
  assert.match(text, /^lagless_concurrency_limit\{[^}]*\} 64$/m);
});
