// The profile summariser of the peers bench (bench/lib/profile-top.ts): self time per function and area from a V8 CPU
// profile, and GC counts from --trace-gc lines.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { areaOf, summarizeGc, summarizeProfile } from '../../bench/lib/profile-top.ts';

const frame = (functionName: string, url = '', lineNumber = 0) => ({ functionName, url, lineNumber });

test('summarizeProfile: self time from the sample deltas, idle left out of the busy time and the shares', () => {
  const profile = {
    nodes: [
      { id: 1, callFrame: frame('(root)'), children: [2, 3, 4] },
      { id: 2, callFrame: frame('intake', 'file:///x/src/runtime/record-processor.ts', 110), children: [] },
      { id: 3, callFrame: frame('murmur2', 'file:///x/node_modules/@platformatic/kafka/dist/protocol/murmur2.js', 12) },
      { id: 4, callFrame: frame('(idle)') },
    ],
    startTime: 0,
    endTime: 10_000,
    // A sample's time is the delta to the next one: intake 3 ms, murmur2 1 ms, idle 4 ms.
    samples: [2, 2, 3, 4, 4],
    timeDeltas: [0, 1000, 2000, 1000, 2000, 2000],
  };
  const s = summarizeProfile(profile, 10);
  assert.equal(s.totalMs, 8);
  assert.equal(s.busyMs, 4);
  assert.deepEqual(
    s.top.map((e) => [e.name, e.selfMs, e.share, e.area]),
    [
      ['intake', 3, 0.75, 'src/runtime'],
      ['murmur2', 1, 0.25, 'client (@platformatic/kafka)'],
    ],
  );
  assert.equal(s.top[0]!.where, 'src/runtime/record-processor.ts:111');
  assert.deepEqual(s.areas.map((a) => a.area), ['src/runtime', 'client (@platformatic/kafka)']);
});

test('areaOf: the buckets', () => {
  assert.equal(areaOf('node:buffer', 'concat'), 'node internals');
  assert.equal(areaOf('', '(garbage collector)'), '(garbage collector)');
  assert.equal(areaOf('', 'writeBuffer'), 'native');
  assert.equal(areaOf('file:///p/node_modules/kafkajs/src/x.js', 'f'), 'client (kafkajs)');
  assert.equal(areaOf('file:///p/node_modules/@platformatic/dynamic-buffer/dist/index.js', 'f'), 'dependency (@platformatic/dynamic-buffer)');
  assert.equal(areaOf('file:///p/src/offsets/fifo.ts', 'shift'), 'src/offsets');
});

test('summarizeGc: scavenges, mark-compacts and their pauses from --trace-gc lines', () => {
  const text = [
    '[1:0x1]      121 ms: Scavenge 9.8 (10.6) -> 9.4 (11.6) MB, pooled: 0 MB, 1.50 / 0.00 ms  (average mu = 1.000) allocation failure;',
    '[1:0x1]      355 ms: Mark-Compact 18.8 (24.9) -> 15.0 (33.4) MB, pooled: 0 MB, 5.25 / 0.00 ms  (+ 0.2 ms in 5 steps)',
    '[1:0x1]      400 ms: Scavenge 10.1 (12.4) -> 10.0 (14.9) MB, pooled: 0 MB, 2.00 / 0.00 ms  task;',
    'some other line',
  ].join('\n');
  assert.deepEqual(summarizeGc(text), { scavenges: 2, markCompacts: 1, gcMs: 8.75 });
});
