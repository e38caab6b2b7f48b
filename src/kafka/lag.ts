// Consumer-group lag, defined once: log-end offset minus committed offset per partition (the whole log when nothing is committed), never negative.
import type { Admin } from '@platformatic/kafka';

export interface PartitionLag {
  partition: number;
  logEnd: bigint;
  /** The group's committed offset, or null when it has committed nothing on this partition. */
  committed: bigint | null;
  lag: bigint;
}

export interface TopicLag {
  topic: string;
  /** Sorted by partition. */
  partitions: PartitionLag[];
  /** Sum of the log-end offsets (its growth over time is the arrival rate). */
  logEnd: bigint;
  /** Sum of the lags. */
  lag: bigint;
}

/**
 * Lag of each partition in `logEnds` from the group's `committed` offsets. A partition without a commit (absent, or a
 * negative offset as the broker reports "none") lags by its whole log-end offset, as Kafka's tools and KEDA count it.
 */
export function computeLag(topic: string, logEnds: ReadonlyMap<number, bigint>, committed: ReadonlyMap<number, bigint>): TopicLag {
  let logEnd = 0n;
  let lag = 0n;
  const partitions = [...logEnds]
    .sort(([a], [b]) => a - b)
    .map(([partition, end]) => {
      const c = committed.get(partition);
      const has = c !== undefined && c >= 0n;
      const l = end - (has ? c : 0n);
      const p: PartitionLag = { partition, logEnd: end, committed: has ? c : null, lag: l > 0n ? l : 0n };
      logEnd += end;
      lag += p.lag;
      return p;
    });
  return { topic, partitions, logEnd, lag };
}

/**
 * Reads the lag of `group` on each topic with the admin API: one ListOffsets request for the log ends of every
 * partition and one OffsetFetch for the group's commits. `topics` maps each topic to its partition count.
 */
export async function readGroupLag(admin: Admin, group: string, topics: ReadonlyMap<string, number>): Promise<Map<string, TopicLag>> {
  const out = new Map<string, TopicLag>();
  if (topics.size === 0) return out;
  const list = [...topics].map(([name, n]) => ({ name, indexes: Array.from({ length: n }, (_, i) => i) }));
  const [ends, commits] = await Promise.all([
    admin.listOffsets({ topics: list.map(({ name, indexes }) => ({ name, partitions: indexes.map((partitionIndex) => ({ partitionIndex, timestamp: -1n })) })) }),
    admin.listConsumerGroupOffsets({ groups: [{ groupId: group, topics: list.map(({ name, indexes }) => ({ name, partitionIndexes: indexes })) }] }),
  ]);
  const committed = new Map<string, Map<number, bigint>>();
  for (const g of commits) {
    for (const t of g.topics) {
      const m = committed.get(t.name) ?? new Map<number, bigint>();
      for (const p of t.partitions) m.set(p.partitionIndex, p.committedOffset);
      committed.set(t.name, m);
    }
  }
  for (const t of ends) {
    const logEnds = new Map<number, bigint>(t.partitions.map((p) => [p.partitionIndex, p.offset]));
    out.set(t.name, computeLag(t.name, logEnds, committed.get(t.name) ?? new Map()));
  }
  return out;
}
