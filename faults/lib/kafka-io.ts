// What the fault runner asks the cluster: topics, end and committed offsets, group members, partition leaders and in-sync replicas.
import { setTimeout as sleep } from 'node:timers/promises';
import { consumerGroupDescribeV0, kGetConnection, kMetadata, type Admin, type Callback, type ClusterMetadata, type Connection } from '@platformatic/kafka';
import { createAdmin, ensureTopic } from '../../src/kafka/index.ts';

/** A record read back by the accounting (see dump.ts). */
export interface TopicRecord {
  key: string | null;
  value: string;
  partition: number;
  offset: bigint;
  /** The producer's timestamp (ms). */
  timestamp: number;
}

export class ClusterClient {
  readonly brokers: string[];
  readonly admin: Admin;

  constructor(brokers: string[]) {
    this.brokers = brokers;
    this.admin = createAdmin({ brokers, clientId: 'lagless-faults', requestTimeoutMs: 10_000, connectTimeoutMs: 3000 });
  }

  async close(): Promise<void> {
    await this.admin.close().catch(() => {});
  }

  async createTopics(names: string[], partitions: number, configs?: Record<string, string>): Promise<void> {
    for (const name of names) await ensureTopic(this.admin, { name, partitions, ...(configs ? { configs } : {}) }, this.brokers);
  }

  async endOffsets(topic: string, partitions: number): Promise<bigint[]> {
    const res = await this.admin.listOffsets({
      topics: [{ name: topic, partitions: Array.from({ length: partitions }, (_, p) => ({ partitionIndex: p, timestamp: -1n })) }],
    });
    const out = Array.from({ length: partitions }, () => 0n);
    for (const t of res) for (const p of t.partitions) out[p.partitionIndex] = p.offset;
    return out;
  }

  async committed(group: string, topic: string, partitions: number): Promise<bigint[]> {
    const res = await this.admin.listConsumerGroupOffsets({ groups: [{ groupId: group, topics: [{ name: topic, partitionIndexes: Array.from({ length: partitions }, (_, p) => p) }] }] });
    const out = Array.from({ length: partitions }, () => -1n);
    for (const g of res) for (const t of g.topics) if (t.name === topic) for (const p of t.partitions) out[p.partitionIndex] = p.committedOffset;
    return out;
  }

  /**
   * The group's state and, per member, its client id and partitions of `topic` (as the coordinator sees them): a classic
   * group through DescribeGroups, a KIP-848 consumer group (which DescribeGroups reports as Dead) through
   * ConsumerGroupDescribe at its coordinator.
   */
  async group(group: string, topic: string): Promise<{ state: string; members: { clientId: string; partitions: number[] }[] }> {
    const g = (await this.admin.describeGroups({ groups: [group] })).get(group);
    if (g && (g.state !== 'Dead' || g.protocolType !== '')) {
      return {
        state: g.state,
        members: [...g.members.values()].map((m) => ({ clientId: m.clientId, partitions: [...(m.assignments?.get(topic)?.partitions ?? [])].sort((a, b) => a - b) })),
      };
    }
    const node = await this.coordinator('group', group);
    const call = <T>(fn: (cb: Callback<T>) => void) => new Promise<T>((resolve, reject) => fn((e, v) => (e ? reject(e) : resolve(v as T))));
    const metadata = await call<ClusterMetadata>((cb) => this.admin[kMetadata]({ topics: [] }, cb));
    const broker = metadata.brokers.get(node);
    if (!broker) return { state: 'Dead', members: [] };
    const connection = await call<Connection>((cb) => this.admin[kGetConnection](broker, cb));
    const res = await consumerGroupDescribeV0.api.async(connection, [group], false);
    const d = res.groups.find((x) => x.groupId === group);
    if (!d || d.errorCode !== 0) return { state: 'Dead', members: [] };
    return {
      state: d.groupState,
      members: d.members.map((m) => ({
        clientId: m.clientId,
        partitions: m.assignment.topicPartitions.filter((tp) => tp.topicName === topic).flatMap((tp) => tp.partitions).sort((a, b) => a - b),
      })),
    };
  }

  /**
   * The node that coordinates a group (`group`) or a transactional id (`transaction`). `avoid`: a node that is down or
   * frozen, whose address is left out of the question's bootstrap (node n listens on the n-th address).
   */
  async coordinator(kind: 'group' | 'transaction', key: string, avoid?: number): Promise<number> {
    const brokers = avoid === undefined ? undefined : this.brokers.filter((_, i) => i + 1 !== avoid);
    const admin = brokers ? createAdmin({ brokers, clientId: 'lagless-faults', requestTimeoutMs: 3000, connectTimeoutMs: 2000, retries: 0 }) : this.admin;
    try {
      const [found] = await admin.findCoordinator({ keyType: kind === 'group' ? 0 : 1, keys: [key] });
      if (!found || found.nodeId < 0) throw new Error(`no coordinator for ${kind} ${key}`);
      return found.nodeId;
    } finally {
      if (admin !== this.admin) await admin.close().catch(() => {});
    }
  }

  /** Leader and in-sync replicas of every partition of the topics (fresh metadata). */
  async partitions(topics: string[]): Promise<{ topic: string; partition: number; leader: number; isr: number[]; replicas: number[] }[]> {
    const md = await this.admin.metadata({ topics, forceUpdate: true });
    const out = [];
    for (const topic of topics) {
      const t = md.topics.get(topic);
      if (!t) throw new Error(`no metadata for topic ${topic} (internal topics are left out by the client)`);
      for (const [partition, p] of t.partitions.entries()) out.push({ topic, partition, leader: p.leader, isr: [...p.isr], replicas: [...p.replicas] });
    }
    return out;
  }

  /** The node that leads the most partitions of `topic` (ties: the lowest id). */
  async busiestLeader(topic: string): Promise<{ node: number; partitions: number[] }> {
    const byNode = new Map<number, number[]>();
    for (const p of await this.partitions([topic])) byNode.set(p.leader, [...(byNode.get(p.leader) ?? []), p.partition]);
    const [node, partitions] = [...byNode.entries()].sort((a, b) => b[1].length - a[1].length || a[0] - b[0])[0]!;
    return { node, partitions };
  }

  /**
   * Waits until every partition of the topics has all its replicas in sync (after a broker came back), in every answer
   * for `steadyMs`: a node just resumed from SIGSTOP answers metadata from its stale cache (itself the leader, every
   * replica in sync) until it has caught up with the controller, so one answer is not enough.
   */
  async waitInSync(topics: string[], timeoutMs: number, steadyMs = 5000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    let since: number | undefined;
    for (;;) {
      try {
        const lagging = (await this.partitions(topics)).filter((p) => p.isr.length < p.replicas.length || p.leader < 0);
        if (lagging.length === 0) {
          since ??= Date.now();
          if (Date.now() - since >= steadyMs) return;
        } else {
          since = undefined;
          last = lagging.map((p) => `${p.topic}/${p.partition} isr [${p.isr}] of [${p.replicas}]`).slice(0, 5).join('; ');
        }
      } catch (err) {
        since = undefined;
        last = (err as Error).message;
      }
      if (Date.now() > deadline) throw new Error(`replicas not back in sync within ${timeoutMs} ms: ${last}`);
      await sleep(500);
    }
  }
}
