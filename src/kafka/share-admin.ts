// Share groups (KIP-932) seen from outside: ShareGroupDescribe v1 and DescribeShareGroupOffsets v1 (v0 on brokers without
// the lag of KIP-1226), written on @platformatic/kafka's protocol primitives like share-protocol.ts, and sent to the
// group coordinator; describeShareGroup and shareGroupBacklog turn their answers into what `lagless status` shows.
import {
  createAPI,
  FindCoordinatorKeyTypes,
  kGetConnection,
  kListApis,
  kPerformWithRetry,
  Reader,
  ResponseError,
  Writer,
  type Admin,
  type Callback,
  type CallbackWithPromise,
  type Connection,
} from '@platformatic/kafka';
import { describeTopics } from './admin.ts';
import { findKafkaErrorId } from './errors.ts';

// ── ShareGroupDescribe (77) v1 ──────────────────────────────────────────────────────────────────────────────────────
//   Request: [group_ids] include_authorized_operations TAG_BUFFER
//   Response: throttle_time_ms [groups: error_code error_message group_id group_state group_epoch assignment_epoch
//             assignor_name [members: member_id rack_id member_epoch client_id client_host [subscribed_topic_names]
//               assignment: [topic_partitions: topic_id topic_name [partitions]]] authorized_operations] TAG_BUFFER

export interface ShareGroupDescribeMember {
  memberId: string;
  rackId: string | null;
  memberEpoch: number;
  clientId: string;
  clientHost: string;
  subscribedTopicNames: string[];
  assignment: { topicId: string; topicName: string; partitions: number[] }[];
}

export interface ShareGroupDescribeGroup {
  errorCode: number;
  errorMessage: string | null;
  groupId: string;
  groupState: string;
  groupEpoch: number;
  assignmentEpoch: number;
  assignorName: string;
  members: ShareGroupDescribeMember[];
  authorizedOperations: number;
}

export interface ShareGroupDescribeResponse {
  throttleTimeMs: number;
  groups: ShareGroupDescribeGroup[];
}

function describeRequest(groupIds: string[], includeAuthorizedOperations: boolean): Writer {
  return Writer.create()
    .appendArray(groupIds, (w, g) => w.appendString(g), true, false)
    .appendBoolean(includeAuthorizedOperations)
    .appendTaggedFields();
}

function describeResponse(_c: number, apiKey: number, apiVersion: number, r: Reader): ShareGroupDescribeResponse {
  const errors: [string, [number, string | null]][] = [];
  const response: ShareGroupDescribeResponse = {
    throttleTimeMs: r.readInt32(),
    groups: r.readArray(
      (r, i) => {
        const group: ShareGroupDescribeGroup = {
          errorCode: r.readInt16(),
          errorMessage: r.readNullableString(),
          groupId: r.readString(),
          groupState: r.readString(),
          groupEpoch: r.readInt32(),
          assignmentEpoch: r.readInt32(),
          assignorName: r.readString(),
          members: r.readArray(
            (r) => {
              const member: ShareGroupDescribeMember = {
                memberId: r.readString(),
                rackId: r.readNullableString(),
                memberEpoch: r.readInt32(),
                clientId: r.readString(),
                clientHost: r.readString(),
                subscribedTopicNames: r.readArray((r) => r.readString(), true, false),
                // Assignment: a struct (not nullable), its one field the topic partitions.
                assignment: r.readArray(
                  (r) => {
                    const tp = { topicId: r.readUUID(), topicName: r.readString(), partitions: r.readArray((r) => r.readInt32(), true, false) };
                    r.readTaggedFields();
                    return tp;
                  },
                  true,
                  false,
                ),
              };
              r.readTaggedFields(); // the Assignment's
              r.readTaggedFields(); // the Member's
              return member;
            },
            true,
            false,
          ),
          authorizedOperations: r.readInt32(),
        };
        r.readTaggedFields();
        if (group.errorCode !== 0) errors.push([`/groups/${i}`, [group.errorCode, group.errorMessage]]);
        return group;
      },
      true,
      false,
    ),
  };
  r.readTaggedFields();
  if (errors.length > 0) throw new ResponseError(apiKey, apiVersion, Object.fromEntries(errors), response);
  return response;
}

export const shareGroupDescribeV1 = createAPI<[groupIds: string[], includeAuthorizedOperations: boolean], ShareGroupDescribeResponse>(77, 1, describeRequest, describeResponse);

// ── DescribeShareGroupOffsets (90) v0, v1 ───────────────────────────────────────────────────────────────────────────
//   Request: [groups: group_id [topics (nullable: every topic-partition of the group): topic_name [partitions]]] TAG_BUFFER
//   Response: throttle_time_ms [groups: group_id [topics: topic_name topic_id [partitions: partition_index start_offset
//             leader_epoch lag (v1+) error_code error_message]] error_code error_message] TAG_BUFFER

export interface ShareOffsetsRequestGroup {
  groupId: string;
  /** null: every topic-partition the group has a share-partition start offset for. */
  topics: { topicName: string; partitions: number[] }[] | null;
}

export interface ShareOffsetsPartition {
  partitionIndex: number;
  /** The share-partition start offset; -1 when the group has no state for the partition. */
  startOffset: bigint;
  leaderEpoch: number;
  /** The broker's share-partition lag (v1+); null in a v0 answer. */
  lag: bigint | null;
  errorCode: number;
  errorMessage: string | null;
}

export interface ShareOffsetsResponseGroup {
  groupId: string;
  topics: { topicName: string; topicId: string; partitions: ShareOffsetsPartition[] }[];
  errorCode: number;
  errorMessage: string | null;
}

export interface DescribeShareGroupOffsetsResponse {
  throttleTimeMs: number;
  groups: ShareOffsetsResponseGroup[];
}

function offsetsRequest(groups: ShareOffsetsRequestGroup[]): Writer {
  return Writer.create()
    .appendArray(
      groups,
      (w, g) => {
        w.appendString(g.groupId);
        if (g.topics === null) w.appendUnsignedVarInt(0);
        else {
          w.appendArray(
            g.topics,
            (w, t) => {
              w.appendString(t.topicName)
                .appendArray(t.partitions, (w, p) => w.appendInt32(p), true, false)
                .appendTaggedFields();
            },
            true,
            false,
          );
        }
        w.appendTaggedFields();
      },
      true,
      false,
    )
    .appendTaggedFields();
}

function offsetsResponse(_c: number, apiKey: number, apiVersion: number, r: Reader): DescribeShareGroupOffsetsResponse {
  const errors: [string, [number, string | null]][] = [];
  const response: DescribeShareGroupOffsetsResponse = {
    throttleTimeMs: r.readInt32(),
    groups: r.readArray(
      (r, i) => {
        const group: ShareOffsetsResponseGroup = {
          groupId: r.readString(),
          topics: r.readArray(
            (r, j) => {
              const topic = {
                topicName: r.readString(),
                topicId: r.readUUID(),
                partitions: r.readArray(
                  (r, k) => {
                    const p: ShareOffsetsPartition = {
                      partitionIndex: r.readInt32(),
                      startOffset: r.readInt64(),
                      leaderEpoch: r.readInt32(),
                      lag: apiVersion >= 1 ? r.readInt64() : null,
                      errorCode: r.readInt16(),
                      errorMessage: r.readNullableString(),
                    };
                    r.readTaggedFields();
                    if (p.errorCode !== 0) errors.push([`/groups/${i}/topics/${j}/partitions/${k}`, [p.errorCode, p.errorMessage]]);
                    return p;
                  },
                  true,
                  false,
                ),
              };
              r.readTaggedFields();
              return topic;
            },
            true,
            false,
          ),
          errorCode: r.readInt16(),
          errorMessage: r.readNullableString(),
        };
        r.readTaggedFields();
        if (group.errorCode !== 0) errors.push([`/groups/${i}`, [group.errorCode, group.errorMessage]]);
        return group;
      },
      true,
      false,
    ),
  };
  r.readTaggedFields();
  if (errors.length > 0) throw new ResponseError(apiKey, apiVersion, Object.fromEntries(errors), response);
  return response;
}

export const describeShareGroupOffsetsV0 = createAPI<[groups: ShareOffsetsRequestGroup[]], DescribeShareGroupOffsetsResponse>(90, 0, offsetsRequest, offsetsResponse);
export const describeShareGroupOffsetsV1 = createAPI<[groups: ShareOffsetsRequestGroup[]], DescribeShareGroupOffsetsResponse>(90, 1, offsetsRequest, offsetsResponse);

// ── What `lagless status` reads ─────────────────────────────────────────────────────────────────────────────────────

const call = <T>(fn: (cb: Callback<T>) => void): Promise<T> =>
  new Promise<T>((resolve, reject) => fn((err, value) => (err ? reject(err) : resolve(value as T))));

/** The highest version of `apiKey` the cluster answers, of those in `ours`; undefined when none. */
async function usableVersion(admin: Admin, apiKey: number, ours: readonly number[]): Promise<number | undefined> {
  const apis = await call<{ apiKey: number; minVersion: number; maxVersion: number }[]>((cb) => admin[kListApis](cb));
  const api = apis.find((a) => a.apiKey === apiKey);
  if (!api) return undefined;
  return [...ours].sort((a, b) => b - a).find((v) => v >= api.minVersion && v <= api.maxVersion);
}

/**
 * Runs `request` on a connection to the group's coordinator (FindCoordinator, key type GROUP), with the client's
 * retries: a coordinator that is not available yet, loading or moving answers with a retriable error.
 */
function onCoordinator<T>(admin: Admin, group: string, operation: string, request: (connection: Connection) => Promise<T>): Promise<T> {
  return call<T>((callback) =>
    admin[kPerformWithRetry]<T>(
      operation,
      (retryCallback) => {
        admin
          .findCoordinator({ keyType: FindCoordinatorKeyTypes.GROUP, keys: [group] })
          .then(([coordinator]) => call<Connection>((cb) => admin[kGetConnection]({ host: coordinator!.host, port: coordinator!.port }, cb)))
          .then(request)
          .then(
            (value) => retryCallback(null, value),
            (err: Error) => retryCallback(err),
          );
      },
      callback as CallbackWithPromise<T>,
    ),
  );
}

export interface ShareGroupMember {
  memberId: string;
  memberEpoch: number;
  clientId: string;
  clientHost: string;
  rackId: string | null;
  subscribedTopics: string[];
  /** Assigned partitions per topic, sorted by topic then partition. */
  assignment: { topic: string; topicId: string; partitions: number[] }[];
}

export interface ShareGroupDescription {
  group: string;
  /** Empty, Stable, Dead (the broker's share-group states). */
  state: string;
  /** The group epoch (it grows with every change of membership or subscriptions). */
  epoch: number;
  assignmentEpoch: number;
  assignor: string;
  /** Sorted by client id, then member id. */
  members: ShareGroupMember[];
}

/**
 * The share group `group` as its coordinator describes it (ShareGroupDescribe v1), or null when the cluster has no share
 * group of that name: the group does not exist, is of another type (a consumer group), or the broker predates share
 * groups (Kafka < 4.1, no ShareGroupDescribe v1; nothing is sent to it then).
 */
export async function describeShareGroup(admin: Admin, group: string): Promise<ShareGroupDescription | null> {
  if ((await usableVersion(admin, 77, [1])) === undefined) return null;
  let response: ShareGroupDescribeResponse;
  try {
    response = await onCoordinator(admin, group, 'shareGroupDescribe', (connection) => shareGroupDescribeV1.async(connection, [group], false));
  } catch (err) {
    if (findKafkaErrorId(err, 'GROUP_ID_NOT_FOUND')) return null;
    throw err;
  }
  const g = response.groups.find((x) => x.groupId === group);
  if (!g) return null;
  const members = g.members.map(
    (m): ShareGroupMember => ({
      memberId: m.memberId,
      memberEpoch: m.memberEpoch,
      clientId: m.clientId,
      clientHost: m.clientHost,
      rackId: m.rackId,
      subscribedTopics: [...m.subscribedTopicNames].sort(),
      assignment: m.assignment
        .map((a) => ({ topic: a.topicName, topicId: a.topicId, partitions: [...a.partitions].sort((x, y) => x - y) }))
        .sort((x, y) => x.topic.localeCompare(y.topic)),
    }),
  );
  members.sort((a, b) => a.clientId.localeCompare(b.clientId) || a.memberId.localeCompare(b.memberId));
  return { group, state: g.groupState, epoch: g.groupEpoch, assignmentEpoch: g.assignmentEpoch, assignor: g.assignorName, members };
}

export interface SharePartitionBacklog {
  partition: number;
  /**
   * The share-partition start offset as the share coordinator has it persisted: every record before it is done
   * (acknowledged, or past its delivery limit); -1 while the group has no persisted state for the partition. Kafka 4.4
   * persists it one state write late: after an acknowledgement that moves it, the old value until the next one.
   */
  startOffset: bigint;
  logStartOffset: bigint;
  logEndOffset: bigint;
  /**
   * Records still to be done: the broker's share-partition lag when it gives one (every record from the start offset
   * to the log end that is not acknowledged yet: available, acquired or released ones). Otherwise (no persisted state
   * yet, or a broker without DescribeShareGroupOffsets v1) the log end minus the start offset, or minus the log start
   * when there is no start offset.
   */
  backlog: bigint;
  /** The broker's share-partition lag (DescribeShareGroupOffsets v1); -1 without persisted state, null from a v0 broker. */
  brokerLag: bigint | null;
}

export interface ShareTopicBacklog {
  topic: string;
  /** Sorted by partition. */
  partitions: SharePartitionBacklog[];
  /** Sum of the backlogs. */
  total: bigint;
}

/**
 * The backlog of share group `group` on each topic of `topics` (default: every topic it has share-partition state on):
 * per partition, the share-partition start offset, the broker's lag, the log's start and end offsets and the backlog.
 * Topics that do not exist are left out.
 */
export async function shareGroupBacklogs(admin: Admin, group: string, topics?: readonly string[]): Promise<Map<string, ShareTopicBacklog>> {
  const out = new Map<string, ShareTopicBacklog>();
  const version = await usableVersion(admin, 90, [0, 1]);
  const api = version === 1 ? describeShareGroupOffsetsV1 : version === 0 ? describeShareGroupOffsetsV0 : undefined;
  let names = topics ? [...new Set(topics)] : undefined;
  const starts = new Map<string, Map<number, ShareOffsetsPartition>>();
  const readStarts = async (request: ShareOffsetsRequestGroup) => {
    if (!api) return;
    let response: DescribeShareGroupOffsetsResponse;
    try {
      response = await onCoordinator(admin, group, 'describeShareGroupOffsets', (connection) => api.async(connection, [request]));
    } catch (err) {
      // No such share group: no start offsets.
      if (findKafkaErrorId(err, 'GROUP_ID_NOT_FOUND')) return;
      throw err;
    }
    for (const g of response.groups) {
      for (const t of g.topics) starts.set(t.topicName, new Map(t.partitions.map((p) => [p.partitionIndex, p])));
    }
  };
  if (!names) {
    await readStarts({ groupId: group, topics: null });
    names = [...starts.keys()];
  }
  const counts = await describeTopics(admin, names);
  if (counts.size === 0) return out;
  const list = [...counts].map(([name, n]) => ({ name, indexes: Array.from({ length: n }, (_, i) => i) }));
  const offsets = (timestamp: bigint) =>
    admin.listOffsets({ topics: list.map(({ name, indexes }) => ({ name, partitions: indexes.map((partitionIndex) => ({ partitionIndex, timestamp })) })) });
  const [ends, beginnings] = await Promise.all([
    offsets(-1n),
    offsets(-2n),
    topics ? readStarts({ groupId: group, topics: list.map(({ name, indexes }) => ({ topicName: name, partitions: indexes })) }) : undefined,
  ]);
  const logStarts = new Map(beginnings.flatMap((t) => t.partitions.map((p) => [`${t.name}/${p.partitionIndex}`, p.offset] as const)));
  for (const t of ends) {
    const partitions = t.partitions
      .map((p): SharePartitionBacklog => {
        const logEndOffset = p.offset;
        const logStartOffset = logStarts.get(`${t.name}/${p.partitionIndex}`) ?? 0n;
        const s = starts.get(t.name)?.get(p.partitionIndex);
        const startOffset = s?.startOffset ?? -1n;
        // Records before the log start are gone whatever the start offset says.
        const from = startOffset > logStartOffset ? startOffset : logStartOffset;
        const brokerLag = s?.lag ?? null;
        // The start offset alone counts records acknowledged past it (and, persisted late, some before it) as still to do.
        const backlog = brokerLag !== null && brokerLag >= 0n ? brokerLag : logEndOffset - from;
        return { partition: p.partitionIndex, startOffset, logStartOffset, logEndOffset, backlog: backlog > 0n ? backlog : 0n, brokerLag };
      })
      .sort((a, b) => a.partition - b.partition);
    out.set(t.name, { topic: t.name, partitions, total: partitions.reduce((a, p) => a + p.backlog, 0n) });
  }
  return out;
}

/** The backlog of share group `group` on `topic` (see shareGroupBacklogs); a topic that does not exist has no partitions. */
export async function shareGroupBacklog(admin: Admin, group: string, topic: string): Promise<ShareTopicBacklog> {
  return (await shareGroupBacklogs(admin, group, [topic])).get(topic) ?? { topic, partitions: [], total: 0n };
}
