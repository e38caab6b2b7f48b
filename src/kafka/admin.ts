// Cluster checks and topic administration used by the CLI, the runtime and the tests.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Admin } from '@platformatic/kafka';
import { LaglessError, UsageError } from '../errors/index.ts';
import { createAdmin, takeSocketError, type KafkaConnectionOptions } from './client.ts';
import { findKafkaErrorId, securityError, toLaglessError, unreachableError, type ConnectionRef } from './errors.ts';

export interface ClusterInfo {
  clusterId: string;
  brokers: { id: number; host: string; port: number }[];
  controllerId: number;
}

/**
 * Asks the cluster for its metadata, quickly. A refused login or a TLS failure throws KAFKA_AUTH_FAILED or
 * KAFKA_TLS_FAILED at the first attempt (retrying cannot help); an unreachable broker is tried a few more times, then
 * BROKER_UNREACHABLE names the address and `lagless kafka start`.
 */
export async function checkBrokers(opts: KafkaConnectionOptions & { timeoutMs?: number }): Promise<ClusterInfo> {
  const timeoutMs = opts.timeoutMs ?? 5000;
  const attempt = async (retries: number): Promise<ClusterInfo> => {
    const admin = createAdmin({ ...opts, connectTimeoutMs: timeoutMs, requestTimeoutMs: timeoutMs, retries });
    try {
      const md = await admin.metadata({ topics: [] });
      return {
        clusterId: md.id,
        controllerId: md.controllerId,
        brokers: [...md.brokers.entries()].map(([id, b]) => ({ id, host: b.host, port: b.port })),
      };
    } catch (err) {
      // A TLS alert after the handshake reaches the request only as "Connection closed": add the socket's own error.
      const socket = takeSocketError(admin);
      throw socket ? new AggregateError([err, socket], (err as Error).message) : err;
    } finally {
      await admin.close().catch(() => {});
    }
  };
  try {
    return await attempt(0);
  } catch (first) {
    const security = securityError(first, opts);
    if (security) throw security;
    try {
      return await attempt(opts.retries ?? 3);
    } catch (err) {
      throw securityError(err, opts) ?? unreachableError(opts, err);
    }
  }
}

export interface TopicSpec {
  name: string;
  partitions: number;
  /** Default: the cluster's default.replication.factor (1 on a single node, 3 on a local 3-node cluster). */
  replicationFactor?: number;
  /** Topic configs, e.g. { 'cleanup.policy': 'compact' }. */
  configs?: Record<string, string>;
}

export interface EnsureTopicResult {
  name: string;
  partitions: number;
  created: boolean;
}

const TOPIC_NAME = /^[a-zA-Z0-9._-]{1,249}$/;

export function validateTopicName(name: string): void {
  if (!TOPIC_NAME.test(name) || name === '.' || name === '..') {
    throw new UsageError(`invalid topic name "${name}": use 1 to 249 characters of a-z, A-Z, 0-9, ".", "_" and "-"`);
  }
}

/** Partition counts of existing topics (absent names are omitted). */
export async function describeTopics(admin: Admin, names: string[]): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  if (names.length === 0) return out;
  const existing = new Set(await admin.listTopics({ includeInternals: true }));
  const present = names.filter((n) => existing.has(n));
  if (present.length === 0) return out;
  // A topic listed a moment ago can be unknown to the metadata for a moment (just created, and not yet in the
  // answering broker's cache; or deleted since): ask again for a few seconds, then leave the unknown ones out.
  for (let attempt = 1; ; attempt += 1) {
    try {
      const md = await admin.metadata({ topics: present, forceUpdate: true });
      for (const [name, t] of md.topics) out.set(name, t.partitionsCount);
      return out;
    } catch (err) {
      if (!isUnknownTopic(err)) throw err;
      if (attempt >= 20) break;
      await sleep(250);
    }
  }
  for (const name of present) {
    try {
      const md = await admin.metadata({ topics: [name], forceUpdate: true });
      for (const [n, t] of md.topics) out.set(n, t.partitionsCount);
    } catch (err) {
      if (!isUnknownTopic(err)) throw err;
    }
  }
  return out;
}

/** The client's answer for a topic the metadata does not know (a UserError "Unknown topic NAME."). */
function isUnknownTopic(err: unknown): boolean {
  return err instanceof Error && /^Unknown topic /.test(err.message);
}

/**
 * Creates a topic, or accepts an existing one with the same partition count (created=false).
 * An existing topic with another partition count is an error: Lagless never silently changes partitioning.
 */
export async function ensureTopic(admin: Admin, spec: TopicSpec, conn: ConnectionRef): Promise<EnsureTopicResult> {
  validateTopicName(spec.name);
  const check = async (): Promise<EnsureTopicResult | undefined> => {
    const existing = (await describeTopics(admin, [spec.name])).get(spec.name);
    if (existing === undefined) return undefined;
    if (existing !== spec.partitions) {
      throw new LaglessError(
        'KAFKA',
        `topic "${spec.name}" already exists with ${existing} partitions, not ${spec.partitions}. ` +
          `Use another name, or ask for ${existing} partitions.`,
      );
    }
    return { name: spec.name, partitions: existing, created: false };
  };
  try {
    const before = await check();
    if (before) return before;
    await admin.createTopics({
      topics: [spec.name],
      partitions: spec.partitions,
      replicas: spec.replicationFactor ?? -1,
      configs: Object.entries(spec.configs ?? {}).map(([name, value]) => ({ name, value })),
    });
    return { name: spec.name, partitions: spec.partitions, created: true };
  } catch (err) {
    if (findKafkaErrorId(err, 'TOPIC_ALREADY_EXISTS')) {
      // Created concurrently, or moments ago (the demo creates its topics, then the runner checks them): judge it like
      // any existing topic. The broker's metadata may not list a topic for a moment after its creation.
      for (let i = 0; i < 40; i += 1) {
        const after = await check();
        if (after) return after;
        await sleep(250);
      }
    }
    throw toLaglessError(err, conn, `creating topic "${spec.name}"`);
  }
}

export interface TopicListing {
  name: string;
  partitions: number;
}

/** All topics with their partition counts, sorted by name; internal topics (__*) only when asked. */
export async function listTopics(admin: Admin, conn: ConnectionRef, includeInternal = false): Promise<TopicListing[]> {
  try {
    const names = (await admin.listTopics({ includeInternals: includeInternal })).filter((n) => includeInternal || !n.startsWith('__'));
    const counts = await describeTopics(admin, names);
    return names.map((name) => ({ name, partitions: counts.get(name) ?? 0 })).sort((a, b) => a.name.localeCompare(b.name));
  } catch (err) {
    throw toLaglessError(err, conn, 'listing topics');
  }
}
