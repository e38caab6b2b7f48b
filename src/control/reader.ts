// Reads a group's state for `lagless status`: members' published statuses, the broker's view of the group, and per-partition lag.
import type { Admin } from '@platformatic/kafka';
import { randomBytes } from 'node:crypto';
import { createAdmin, createConsumer, describeTopics, readGroupLag, toLaglessError, type KafkaConnection } from '../kafka/index.ts';
import { isLive, isReplica, isSupervisor, parseStatus, type MemberStatus, type ReplicaStatus } from './status-record.ts';
import { describeShareGroupStatus } from './share-status.ts';

/** A partition's lag as `lagless status` shows it (numbers, with its owner); src/kafka's PartitionLag is the exact one. */
export interface PartitionLagView {
  topic: string;
  partition: number;
  logEnd: number;
  committed: number | null;
  lag: number;
  /** Client id of the member that owns it, per the broker. */
  owner: string | null;
}

export interface BrokerMember {
  memberId: string;
  clientId: string;
  host: string;
  partitions: { topic: string; partition: number }[];
}

export interface GroupStatus {
  group: string;
  /** A share group (KIP-932): partitions' `committed` is the share-partition start offset, `lag` the backlog. */
  groupType?: 'consumer' | 'share';
  at: string;
  /** Broker's group state: Stable, PreparingRebalance, CompletingRebalance, Empty, Dead... */
  state: string;
  brokerMembers: BrokerMember[];
  /** Latest published statuses of this group's processes (live and stale). */
  members: (MemberStatus & { live: boolean; ageMs: number })[];
  partitions: PartitionLagView[];
  totalLag: number;
  /** Sums over live replicas. */
  rates: { in: number; out: number; dead: number; arrival: number };
  /** Counts since each live replica started, summed (timeouts: attempts past the per-record deadline). */
  totals: { ok: number; dead: number; retries: number; timeouts: number; workerCrashes: number };
  workers: { active: number; max: number; busy: number };
  /** The job's I/O concurrency (records in run() before their first worker call) and its limits, summed. */
  io: { active: number; max: number };
  inFlight: number;
  /** The autoscaler's wish: replicas from a live supervisor, else workers summed over replicas. */
  wish: { replicas?: number; workers?: number; reasons: string[] };
}

/** Reads every status in the (compacted, one-partition) status topic: the latest value per key, tombstones removing keys. */
export async function readStatuses(kafka: KafkaConnection, topic: string, timeoutMs = 10_000): Promise<MemberStatus[]> {
  const admin = createAdmin({ ...kafka, clientId: 'lagless-status' });
  let end: bigint;
  try {
    if (!(await describeTopics(admin, [topic])).has(topic)) return [];
    const res = await admin.listOffsets({ topics: [{ name: topic, partitions: [{ partitionIndex: 0, timestamp: -1n }] }] });
    end = res[0]?.partitions[0]?.offset ?? 0n;
  } finally {
    await admin.close().catch(() => {});
  }
  if (end === 0n) return [];
  const groupId = `lagless-status-reader-${randomBytes(4).toString('hex')}`;
  const consumer = createConsumer({ ...kafka, groupId, clientId: 'lagless-status', extra: { maxWaitTime: 100 } });
  const latest = new Map<string, MemberStatus>();
  try {
    const stream = await consumer.consume({ topics: [topic], mode: 'earliest' });
    const deadline = Date.now() + timeoutMs;
    const it = stream[Symbol.asyncIterator]();
    for (;;) {
      const next = await Promise.race([it.next(), new Promise<'timeout'>((r) => setTimeout(r, Math.max(1, deadline - Date.now()), 'timeout').unref())]);
      if (next === 'timeout' || next.done) break;
      const m = next.value;
      const s = parseStatus(m.value);
      if (s) latest.set(m.key, s);
      else latest.delete(m.key);
      if (m.offset + 1n >= end) break;
    }
    await stream.close().catch(() => {});
  } finally {
    await consumer.close(true).catch(() => {});
    // Leave no reader group behind.
    const cleanup = createAdmin({ ...kafka, clientId: 'lagless-status' });
    await cleanup.deleteGroups({ groups: [groupId] }).catch(() => {});
    await cleanup.close().catch(() => {});
  }
  return [...latest.values()];
}

/** The group as the broker and its members see it. */
export async function readGroupStatus(opts: { kafka: KafkaConnection; group: string; statusTopic: string; now?: number }): Promise<GroupStatus> {
  const { kafka, group } = opts;
  const statuses = await readStatuses(kafka, opts.statusTopic);
  const admin = createAdmin({ ...kafka, clientId: 'lagless-status' });
  try {
    return await describeGroupStatus(admin, { kafka, group, statuses, ...(opts.now !== undefined ? { now: opts.now } : {}) });
  } finally {
    await admin.close().catch(() => {});
  }
}

/**
 * The group from statuses already read (of any groups: the others are ignored) and the broker's view through `admin`:
 * members, committed offsets, log-end offsets and lag per partition. Rejects with a LaglessError naming the group.
 */
export async function describeGroupStatus(admin: Admin, opts: { kafka: KafkaConnection; group: string; statuses: readonly MemberStatus[]; now?: number }): Promise<GroupStatus> {
  const { kafka, group } = opts;
  const now = opts.now ?? Date.now();
  const statuses = opts.statuses.filter((s) => s.group === group);
  try {
    // A share group: its members and backlog as the share coordinator has them (the partitions' owners are all the
    // members assigned the partition, joined by commas).
    const share = await describeShareGroupStatus(admin, { kafka, group, now });
    const described = share ? undefined : (await admin.describeGroups({ groups: [group] })).get(group);
    const brokerMembers: BrokerMember[] = share
      ? share.members
      : [...(described?.members.values() ?? [])].map((m) => ({
          memberId: m.id,
          clientId: m.clientId,
          host: m.clientHost,
          partitions: [...(m.assignments?.values() ?? [])].flatMap((a) => a.partitions.map((partition) => ({ topic: a.topic, partition }))),
        }));
    const owners = new Map<string, string>();
    for (const m of brokerMembers) for (const p of m.partitions) owners.set(`${p.topic}/${p.partition}`, m.clientId);

    let partitions: PartitionLagView[];
    if (share) {
      partitions = share.partitions.map((p) => ({ topic: p.topic, partition: p.partition, logEnd: p.logEnd, committed: p.startOffset >= 0 ? p.startOffset : null, lag: p.backlog, owner: p.owners.length ? p.owners.join(',') : null }));
    } else {
      const topics = new Set<string>(statuses.filter(isReplica).map((s) => s.input));
      for (const m of brokerMembers) for (const p of m.partitions) topics.add(p.topic);
      for (const g of await admin.listConsumerGroupOffsets({ groups: [group] })) for (const t of g.topics) topics.add(t.name);
      const lags = await readGroupLag(admin, group, await describeTopics(admin, [...topics]));
      partitions = [...lags.values()].flatMap((t) =>
        t.partitions.map((p) => ({
          topic: t.topic,
          partition: p.partition,
          logEnd: Number(p.logEnd),
          committed: p.committed === null ? null : Number(p.committed),
          lag: Number(p.lag),
          owner: owners.get(`${t.topic}/${p.partition}`) ?? null,
        })),
      );
    }
    partitions.sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
    const members = statuses
      .map((s) => ({ ...s, live: isLive(s, now), ageMs: now - Date.parse(s.at) }))
      .sort((a, b) => a.role.localeCompare(b.role) || a.member.localeCompare(b.member));
    const live = members.filter(isReplica).filter((m) => m.live);
    const sum = (f: (m: ReplicaStatus) => number) => live.reduce((acc, m) => acc + f(m), 0);
    const supervisor = members.filter(isSupervisor).find((m) => m.live);
    const reasons = members.filter((m) => m.live && m.wish).map((m) => `${m.member}: ${m.wish!.reason}`);
    return {
      group,
      ...(share ? { groupType: 'share' as const } : {}),
      at: new Date(now).toISOString(),
      state: share?.state ?? described?.state ?? 'Dead',
      brokerMembers,
      members,
      partitions,
      totalLag: partitions.reduce((a, p) => a + p.lag, 0),
      rates: { in: sum((m) => m.rates.in), out: sum((m) => m.rates.out), dead: sum((m) => m.rates.dead), arrival: sum((m) => m.rates.arrival) },
      totals: {
        ok: sum((m) => m.totals.ok),
        dead: sum((m) => m.totals.dead),
        retries: sum((m) => m.totals.retries),
        timeouts: sum((m) => m.totals.timeouts ?? 0),
        workerCrashes: sum((m) => m.totals.workerCrashes ?? 0),
      },
      workers: { active: sum((m) => m.workers.active), max: sum((m) => m.workers.max), busy: sum((m) => m.workers.busy) },
      io: { active: sum((m) => m.io.active), max: sum((m) => m.io.max) },
      inFlight: sum((m) => m.inFlight),
      wish: {
        ...(supervisor?.wish?.replicas !== undefined ? { replicas: supervisor.wish.replicas } : {}),
        ...(live.some((m) => m.wish?.workers !== undefined) ? { workers: sum((m) => m.wish?.workers ?? m.workers.active) } : {}),
        reasons,
      },
    };
  } catch (err) {
    throw toLaglessError(err, kafka, `reading group "${group}"`);
  }
}
