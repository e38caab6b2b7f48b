// The group's partition assignor: balanced after at most two rounds, sticky, and never gives a partition to a member while another may still own it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { ClusterMetadata, ExtendedGroupProtocolSubscription } from '@platformatic/kafka';
import { balancedCooperativeAssigner } from '../../src/kafka/index.ts';

const TOPIC = 'in';

type Owned = Record<string, number[]>;

function members(owned: Owned, generation = 5, generations: Record<string, number> = {}): Map<string, ExtendedGroupProtocolSubscription> {
  return new Map(
    Object.entries(owned).map(([memberId, partitions]) => [
      memberId,
      { memberId, version: 3, topics: [TOPIC], ownedPartitions: partitions.length ? [{ topic: TOPIC, partitions }] : [], generationId: generations[memberId] ?? generation } as ExtendedGroupProtocolSubscription,
    ]),
  );
}

function metadata(count: number): ClusterMetadata {
  return { topics: new Map([[TOPIC, { partitionsCount: count }]]) } as unknown as ClusterMetadata;
}

/** One round: what each member gets. */
function round(owned: Owned, count: number, generations?: Record<string, number>): Owned {
  const out: Owned = {};
  for (const a of balancedCooperativeAssigner('', members(owned, 5, generations), new Set([TOPIC]), metadata(count))) {
    out[a.memberId] = a.assignments.get(TOPIC)?.partitions ?? [];
  }
  return out;
}

const sizes = (o: Owned) => Object.keys(o).sort().map((k) => o[k]!.length);

test('two members joining one that owns all 8 partitions at once: 3/3/2 after the follow-up round (the client\'s own assignor leaves 4/2/2)', () => {
  // The first member gave up 0-3 in the previous round (one newcomer was known then); both newcomers are here now.
  const r1 = round({ a: [4, 5, 6, 7], b: [], c: [] }, 8);
  assert.deepEqual(r1, { a: [4, 5, 6], b: [0, 1, 2], c: [3] }, 'partition 7 moves from a to c: left out of this round');
  const r2 = round(r1, 8);
  assert.deepEqual(r2, { a: [4, 5, 6], b: [0, 1, 2], c: [3, 7] });
  assert.deepEqual(round(r2, 8), r2, 'stable once balanced');
});

test('a member leaving: its partitions go to the others at once, nobody else loses any', () => {
  assert.deepEqual(round({ a: [4, 5, 6], b: [0, 1, 2] }, 8), { a: [3, 4, 5, 6], b: [0, 1, 2, 7] });
});

test('claims of an older generation are ignored, and a partition claimed twice in the newest generation waits a round', () => {
  const r = round({ a: [0, 1, 2, 3], b: [3, 4], c: [5, 6, 7] }, 8, { a: 7, b: 7, c: 6 });
  const all = Object.values(r).flat();
  assert.ok(!all.includes(3), 'contested partition 3 is given to nobody this round');
  assert.equal(new Set(all).size, all.length);
});

/** A random group: up to 6 members, up to 24 partitions, each partition owned by at most one member. */
const arbGroup = fc
  .record({ count: fc.integer({ min: 1, max: 24 }), m: fc.integer({ min: 1, max: 6 }), seed: fc.array(fc.integer({ min: -1, max: 5 }), { minLength: 24, maxLength: 24 }) })
  .map(({ count, m, seed }) => {
    const ids = Array.from({ length: m }, (_, i) => `member-${i}`);
    const owned: Owned = Object.fromEntries(ids.map((id) => [id, [] as number[]]));
    for (let p = 0; p < count; p++) if (seed[p]! >= 0 && seed[p]! < m) owned[ids[seed[p]!]!]!.push(p);
    return { count, owned };
  });

test('property: no partition goes to two members, and none goes to a member while another owns it (cooperative)', () => {
  fc.assert(
    fc.property(arbGroup, ({ count, owned }) => {
      const r = round(owned, count);
      const all = Object.values(r).flat();
      assert.equal(new Set(all).size, all.length, 'each partition at most once');
      for (const [id, ps] of Object.entries(r)) {
        for (const p of ps) {
          const other = Object.entries(owned).find(([o, mine]) => o !== id && mine.includes(p));
          assert.equal(other, undefined, `${p} given to ${id} while ${other?.[0]} owns it`);
        }
      }
    }),
    { numRuns: 500 },
  );
});

test('property: sticky (a member keeps its partitions up to its quota), and after a second round every partition is assigned and counts differ by at most one', () => {
  fc.assert(
    fc.property(arbGroup, ({ count, owned }) => {
      const ids = Object.keys(owned);
      const r1 = round(owned, count);
      const quotaHi = Math.ceil(count / ids.length);
      for (const id of ids) {
        const keep = owned[id]!.filter((p) => r1[id]!.includes(p)).length;
        assert.ok(keep >= Math.min(owned[id]!.length, Math.floor(count / ids.length)), `${id} kept ${keep} of ${owned[id]!.length}`);
        assert.ok(r1[id]!.length <= quotaHi);
      }
      const r2 = round(r1, count);
      assert.equal(Object.values(r2).flat().length, count, 'every partition assigned after two rounds');
      const s = sizes(r2);
      assert.ok(Math.max(...s) - Math.min(...s) <= 1, `balanced: ${s.join('/')}`);
      assert.deepEqual(round(r2, count), r2, 'a balanced group does not move');
    }),
    { numRuns: 500 },
  );
});
