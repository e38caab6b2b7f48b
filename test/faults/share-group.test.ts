// The share-group fault scenario's rules without a cluster: which runs it belongs to, and the duplicates its faults may cause.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_IN_FLIGHT } from '../../faults/lib/pipeline.ts';
import type { FaultEvent } from '../../faults/lib/scenario.ts';
import { findScenario } from '../../faults/scenarios/index.ts';
import { shareDuplicateBound, shareGroup } from '../../faults/scenarios/share-group.ts';

test('share-group is a scenario of the runner, of at-least-once runs without --group-protocol consumer only', () => {
  assert.equal(findScenario('share-group'), shareGroup);
  assert.equal(shareGroup.unsupported?.({ guarantee: 'at-least-once', groupProtocol: 'classic' }), undefined);
  assert.equal(typeof shareGroup.unsupported?.({ guarantee: 'exactly-once', groupProtocol: 'classic' }), 'string', 'share groups are at-least-once only');
  assert.equal(typeof shareGroup.unsupported?.({ guarantee: 'exactly-once', groupProtocol: 'consumer' }), 'string');
  assert.equal(typeof shareGroup.unsupported?.({ guarantee: 'at-least-once', groupProtocol: 'consumer' }), 'string', 'the group protocol does not apply to share groups: one row');
  assert.ok(shareGroup.slots >= 3, 'more members than the two of the consumer-group scenarios');
});

test('share-group duplicates: --max-in-flight per member fault (kill -9 or SIGTERM), members × --max-in-flight per node kill, repairs free', () => {
  const e = (action: string, target: string, fault = true): FaultEvent => ({ atMs: 0, action, target, fault });
  const events = [e('kill -9', 'm1-1'), e('SIGTERM', 'm2-1'), e('kill -9', 'm3-1'), e('kill -9', 'node 2'), e('restart', 'node 2', false)];
  assert.equal(shareDuplicateBound(events, 3).bound, (3 + 3) * MAX_IN_FLIGHT);
  assert.equal(shareDuplicateBound([], 3).bound, MAX_IN_FLIGHT, 'a run without faults still allows one window (a graceful stop at the end)');
});
