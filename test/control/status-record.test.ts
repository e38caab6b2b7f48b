// The status record's versions: version 2 names the job's I/O concurrency `io`; version-1 records (`downloads`) are still read.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { decodeStatus, formatGroupStatus, isReplica, parseStatus, STATUS_RECORD_VERSION, type GroupStatus, type MemberStatus } from '../../src/control/index.ts';

const base = {
  group: 'g',
  member: 'm1',
  role: 'replica',
  host: 'h',
  pid: 42,
  version: '0.1.0',
  job: 'palette',
  input: 'urls',
  startedAt: '2025-01-01T00:00:00.000Z',
  at: '2025-01-01T00:00:05.000Z',
  intervalMs: 5000,
  workers: { active: 1, max: 4, busy: 1 },
  inFlight: 3,
  window: 3,
  rates: { in: 1, out: 1, dead: 0, arrival: 1 },
  totals: { ok: 10, dead: 0, retries: 0 },
  assigned: [0, 1],
  lag: 0,
};

test('a version-2 record is read as it is, its I/O concurrency in io', () => {
  assert.equal(STATUS_RECORD_VERSION, 2);
  const v2 = { ...base, v: 2, io: { active: 7, max: 22 } };
  assert.deepEqual(parseStatus(JSON.stringify(v2)), v2);
});

test('a version-1 record is read into the version-2 shape: its downloads become io', () => {
  const v1 = { ...base, v: 1, downloads: { active: 5, max: 16 } };
  const s = parseStatus(JSON.stringify(v1));
  assert.ok(s && isReplica(s));
  assert.equal(s.v, 2);
  assert.deepEqual(s.io, { active: 5, max: 16 });
  assert.equal('downloads' in s, false, 'the old field is not carried along');
  const { downloads: _, ...rest } = v1;
  assert.deepEqual(s, { ...rest, v: 2, io: { active: 5, max: 16 } }, 'every other field as it was');
  // A version-1 record without a usable downloads field still has an io, at zero.
  const io = (v: unknown) => {
    const d = decodeStatus(v);
    return d && isReplica(d) ? d.io : undefined;
  };
  assert.deepEqual(io({ ...base, v: 1 }), { active: 0, max: 0 });
  assert.deepEqual(io({ ...base, v: 1, downloads: { active: 'x' } }), { active: 0, max: 0 });
});

test('what is not a status record of a known version is not read', () => {
  for (const value of [undefined, null, '', 'not json', '[]', '"s"', JSON.stringify({ ...base, v: 3, io: { active: 0, max: 0 } }), JSON.stringify({ ...base, v: 2, group: 1 }), JSON.stringify({ v: 2, group: 'g' })]) {
    assert.equal(parseStatus(value), undefined, String(value));
  }
});

test('lagless status shows the I/O concurrency of each replica and its sum', () => {
  const member = { ...base, v: 2, io: { active: 7, max: 22 }, live: true, ageMs: 1000 } as MemberStatus & { live: boolean; ageMs: number };
  const s: GroupStatus = {
    group: 'g',
    at: base.at,
    state: 'Stable',
    brokerMembers: [],
    members: [member],
    partitions: [],
    totalLag: 0,
    rates: base.rates,
    totals: { ok: 10, dead: 0, retries: 0, timeouts: 0, workerCrashes: 0 },
    workers: base.workers,
    io: { active: 7, max: 22 },
    inFlight: 3,
    wish: { reasons: [] },
  };
  const text = formatGroupStatus(s);
  const [header, row] = text.split('\n').filter((l) => l.startsWith('MEMBER') || l.startsWith('m1'));
  const column = header!.split(/\s{2,}/).indexOf('I/O');
  assert.ok(column > 0, header);
  assert.equal(row!.trim().split(/\s{2,}/)[column], '7/22');
  assert.match(text, /I\/O 7 \/ 22;/);
});
