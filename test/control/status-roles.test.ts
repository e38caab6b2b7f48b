// Status records typed by role: each role's record reads back as itself, and records of older versions still read.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isReplica, isSupervisor, parseStatus, type ReplicaStatus, type SupervisorStatus } from '../../src/control/index.ts';

const envelope = {
  v: 2 as const,
  group: 'g',
  host: 'h',
  pid: 42,
  version: '0.1.0',
  input: 'urls',
  startedAt: '2025-01-01T00:00:00.000Z',
  at: '2025-01-01T00:00:05.000Z',
  intervalMs: 2000,
  inFlight: 3,
  window: 5,
  rates: { in: 1, out: 1, dead: 0, arrival: 2 },
  lag: 7,
  output: 'palettes',
  dlq: 'urls.dlq',
  guarantee: 'at-least-once' as const,
  runtime: { node: 'v24.0.0' },
  scaleEvents: [],
};

const replica: ReplicaStatus = {
  ...envelope,
  member: 'r1',
  role: 'replica',
  job: 'palette',
  workers: { active: 2, max: 4, busy: 1 },
  io: { active: 3, max: 16 },
  totals: { ok: 10, dead: 1, retries: 0, timeouts: 0, workerCrashes: 0 },
  assigned: [0, 1],
  wish: { workers: 2, reason: 'steady' },
};

const supervisor: SupervisorStatus = {
  ...envelope,
  member: 's1',
  role: 'supervisor',
  job: 'supervisor',
  replicas: { running: 2, min: 1, max: 3, pids: [100, 101], standby: [] },
  wish: { replicas: 2, reason: 'steady' },
};

test('a replica record and a supervisor record each read back as themselves, told apart by role', () => {
  const r = parseStatus(JSON.stringify(replica));
  const s = parseStatus(JSON.stringify(supervisor));
  assert.deepEqual(r, replica);
  assert.deepEqual(s, supervisor);
  assert.ok(r && isReplica(r) && !isSupervisor(r));
  assert.ok(s && isSupervisor(s) && !isReplica(s));
  assert.equal(r.assigned.length, 2);
  assert.equal(s.replicas.running, 2);
});

test('records of older versions read: a supervisor with zero-filled replica fields, and records without a role', () => {
  const oldSupervisor = { ...supervisor, v: 1, workers: { active: 0, max: 0, busy: 0 }, downloads: { active: 0, max: 0 }, totals: { ok: 0, dead: 0, retries: 0 }, assigned: [] };
  const s = parseStatus(JSON.stringify(oldSupervisor));
  assert.equal(s?.role, 'supervisor');
  assert.deepEqual(s && isSupervisor(s) ? s.replicas : undefined, supervisor.replicas);

  const { role: _r, io: _io, ...noRoleReplica } = { ...replica, v: 1, downloads: { active: 3, max: 16 }, totals: { ok: 10, dead: 1, retries: 0 } };
  assert.equal(parseStatus(JSON.stringify(noRoleReplica))?.role, 'replica');
  const { role: _s, ...noRoleSupervisor } = { ...supervisor, v: 1 };
  assert.equal(parseStatus(JSON.stringify(noRoleSupervisor))?.role, 'supervisor');
});

test('what is not a status record of a known role reads as nothing', () => {
  assert.equal(parseStatus(undefined), undefined);
  assert.equal(parseStatus(''), undefined);
  assert.equal(parseStatus('not json'), undefined);
  assert.equal(parseStatus(JSON.stringify({ ...replica, role: 'observer' })), undefined);
  assert.equal(parseStatus(JSON.stringify({ ...replica, group: 3 })), undefined);
});
