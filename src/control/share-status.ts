// Reads a share group (KIP-932) for `lagless status`: its members and their partitions, and per partition the share-partition start offset, the log end and the backlog.
import type { Admin } from '@platformatic/kafka';
import { createAdmin, describeShareGroup, shareGroupBacklogs, toLaglessError, type KafkaConnection, type ShareTopicBacklog } from '../kafka/index.ts';
import type { BrokerMember } from './reader.ts';
import { isLive, type MemberStatus, type ReplicaStatus } from './status-record.ts';

export interface SharePartitionView {
  topic: string;
  partition: number;
  /** The share-partition start offset (persisted one state write late by Kafka 4.4); -1: no state yet. */
  startOffset: number;
  logStart: number;
  logEnd: number;
  /** Records not yet acknowledged (see SharePartitionBacklog.backlog). */
  backlog: number;
  /** Client ids of the members assigned the partition: a share group may give one partition to several members. */
  owners: string[];
}

export interface ShareGroupStatus {
  group: string;
  /** Tells this view from a consumer group's (GroupStatus has no `type`). */
  type: 'share';
  at: string;
  /** Broker's share-group state: Empty, Stable, Dead. */
  state: string;
  epoch: number;
  members: BrokerMember[];
  partitions: SharePartitionView[];
  totalBacklog: number;
  /**
   * What the members' Lagless processes published (the status topic), by client id: records held now (acquired, not
   * yet acknowledged), acquired since start, of them delivered before, released, dead-lettered as DELIVERY_LIMIT, and
   * outputs and dead letters. Absent when no status was read.
   */
  processes?: { member: string; pid: number; live: boolean; held: number; acquired: number; redelivered: number; released: number; deliveryLimit: number; ok: number; dead: number }[];
}

/** Adds what the group's processes published (see ShareGroupStatus.processes). */
export function withProcesses(s: ShareGroupStatus, statuses: readonly MemberStatus[], now = Date.now()): ShareGroupStatus {
  const processes = statuses
    .filter((m): m is ReplicaStatus => m.group === s.group && m.role === 'replica' && m.share !== undefined)
    .map((m) => ({ member: m.member, pid: m.pid, live: isLive(m, now), ...m.share!, ok: m.totals.ok, dead: m.totals.dead }))
    .sort((a, b) => a.member.localeCompare(b.member));
  return { ...s, processes };
}

export function isShareGroupStatus(s: object): s is ShareGroupStatus {
  return (s as { type?: unknown }).type === 'share';
}

/** The share group `group` through `admin`, or null when no share group has that name (a consumer group, or none). */
export async function describeShareGroupStatus(admin: Admin, opts: { kafka: KafkaConnection; group: string; now?: number }): Promise<ShareGroupStatus | null> {
  const { kafka, group } = opts;
  const now = opts.now ?? Date.now();
  try {
    const described = await describeShareGroup(admin, group);
    if (!described) return null;
    const members: BrokerMember[] = described.members.map((m) => ({
      memberId: m.memberId,
      clientId: m.clientId,
      host: m.clientHost,
      partitions: m.assignment.flatMap((a) => a.partitions.map((partition) => ({ topic: a.topic, partition }))),
    }));
    const owners = new Map<string, string[]>();
    for (const m of members) for (const p of m.partitions) owners.set(`${p.topic}/${p.partition}`, [...(owners.get(`${p.topic}/${p.partition}`) ?? []), m.clientId]);
    // Topics the group has state on, and those its members read or subscribe to (no state yet).
    const backlogs = await shareGroupBacklogs(admin, group);
    const others = new Set<string>();
    for (const m of described.members) for (const t of [...m.subscribedTopics, ...m.assignment.map((a) => a.topic)]) if (!backlogs.has(t)) others.add(t);
    if (others.size > 0) for (const [t, b] of await shareGroupBacklogs(admin, group, [...others])) backlogs.set(t, b);
    const partitions = [...backlogs.values()].flatMap((t: ShareTopicBacklog) =>
      t.partitions.map(
        (p): SharePartitionView => ({
          topic: t.topic,
          partition: p.partition,
          startOffset: Number(p.startOffset),
          logStart: Number(p.logStartOffset),
          logEnd: Number(p.logEndOffset),
          backlog: Number(p.backlog),
          owners: [...(owners.get(`${t.topic}/${p.partition}`) ?? [])].sort(),
        }),
      ),
    );
    partitions.sort((a, b) => a.topic.localeCompare(b.topic) || a.partition - b.partition);
    return {
      group,
      type: 'share',
      at: new Date(now).toISOString(),
      state: described.state,
      epoch: described.epoch,
      members,
      partitions,
      totalBacklog: partitions.reduce((a, p) => a + p.backlog, 0),
    };
  } catch (err) {
    throw toLaglessError(err, kafka, `reading share group "${group}"`);
  }
}

/** The share group `group`, or null when no share group has that name. */
export async function readShareGroupStatus(opts: { kafka: KafkaConnection; group: string; now?: number }): Promise<ShareGroupStatus | null> {
  const admin = createAdmin({ ...opts.kafka, clientId: 'lagless-status' });
  try {
    return await describeShareGroupStatus(admin, opts);
  } finally {
    await admin.close().catch(() => {});
  }
}
