// The share-group view of `lagless status` without a broker: told apart from a consumer group's, and rendered with its members and per-partition backlog.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatShareGroupStatus, isShareGroupStatus, type GroupStatus, type ShareGroupStatus } from '../../src/control/index.ts';

const share: ShareGroupStatus = {
  group: 'orders',
  type: 'share',
  at: '2025-01-01T00:00:05.000Z',
  state: 'Stable',
  epoch: 3,
  members: [
    { memberId: 'm-a', clientId: 'client-a', host: '/127.0.0.1', partitions: [{ topic: 'orders', partition: 0 }] },
    { memberId: 'm-b', clientId: 'client-b', host: '/127.0.0.1', partitions: [] },
  ],
  partitions: [
    { topic: 'orders', partition: 0, startOffset: 6, logStart: 0, logEnd: 20, backlog: 12, owners: ['client-a'] },
    { topic: 'orders', partition: 1, startOffset: -1, logStart: 0, logEnd: 0, backlog: 0, owners: [] },
  ],
  totalBacklog: 12,
};

/** The cells of the table row that starts with `first`, by the header that starts with `header`. */
function row(text: string, header: string, first: string): Record<string, string> {
  const lines = text.split('\n');
  const h = lines.find((l) => l.startsWith(header))!.split(/\s{2,}/);
  const r = lines.find((l) => l.startsWith(first))!.trim().split(/\s{2,}/);
  return Object.fromEntries(h.map((name, i) => [name, r[i]!]));
}

test('a share group view is told apart from a consumer group view', () => {
  assert.equal(isShareGroupStatus(share), true);
  const consumer = { group: 'g', at: share.at, state: 'Stable', brokerMembers: [], members: [], partitions: [], totalLag: 0 } as unknown as GroupStatus;
  assert.equal(isShareGroupStatus(consumer), false);
});

test('lagless status renders a share group: members with their partitions, per-partition start offset, log end, backlog and owners', () => {
  const text = formatShareGroupStatus(share);
  assert.deepEqual(row(text, 'MEMBER', 'm-a'), { MEMBER: 'm-a', CLIENT: 'client-a', HOST: '/127.0.0.1', PARTITIONS: 'orders/0' });
  assert.deepEqual(row(text, 'MEMBER', 'm-b'), { MEMBER: 'm-b', CLIENT: 'client-b', HOST: '/127.0.0.1', PARTITIONS: '-' });
  const lines = text.split('\n');
  const header = lines.find((l) => l.startsWith('TOPIC'))!.split(/\s{2,}/);
  const rows = lines.filter((l) => l.startsWith('orders ')).map((l) => Object.fromEntries(l.trim().split(/\s{2,}/).map((c, i) => [header[i]!, c])));
  assert.deepEqual(rows, [
    { TOPIC: 'orders', PARTITION: '0', 'SHARE START': '6', 'LOG END': '20', BACKLOG: '12', OWNERS: 'client-a' },
    { TOPIC: 'orders', PARTITION: '1', 'SHARE START': '-', 'LOG END': '0', BACKLOG: '0', OWNERS: '-' },
  ]);
  assert.match(text, /backlog 12 record\(s\)/);
});
