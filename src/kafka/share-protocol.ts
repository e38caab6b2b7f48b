// The share-group (KIP-932) requests Lagless sends, written on @platformatic/kafka's own protocol primitives (createAPI,
// Writer, Reader, readRecordsBatches): ShareGroupHeartbeat v1, ShareFetch v2 and ShareAcknowledge v2, as Apache Kafka
// 4.2+ defines them (v2: the RENEW acknowledgement of KIP-1222). @platformatic/kafka 2.12.1 has no share consumer; these
// are sent over its connections (see share-consumer in src/share), so TLS, SASL and retries stay the client's.
import { createAPI, Reader, readRecordsBatches, ResponseError, Writer, type RecordsBatch } from '@platformatic/kafka';

/** Acknowledgement types of ShareFetch / ShareAcknowledge. */
export const AckType = { GAP: 0, ACCEPT: 1, RELEASE: 2, REJECT: 3, RENEW: 4 } as const;
export type AckTypeValue = (typeof AckType)[keyof typeof AckType];

/** One range of offsets acknowledged with one type (AcknowledgeTypes of length 1 applies to the whole range). */
export interface AckBatch {
  firstOffset: bigint;
  lastOffset: bigint;
  type: AckTypeValue;
}

export interface AckPartition {
  partition: number;
  batches: AckBatch[];
}

export interface AckTopic {
  topicId: string;
  partitions: AckPartition[];
}

function writeAckPartitions(w: Writer, partitions: AckPartition[]): void {
  w.appendArray(
    partitions,
    (w, p) => {
      w.appendInt32(p.partition)
        .appendArray(
          p.batches,
          (w, b) => {
            w.appendInt64(b.firstOffset)
              .appendInt64(b.lastOffset)
              .appendArray([b.type], (w, t) => w.appendInt8(t), true, false)
              .appendTaggedFields();
          },
          true,
          false,
        )
        .appendTaggedFields();
    },
    true,
    false,
  );
}

function readLeader(r: Reader): { leaderId: number; leaderEpoch: number } {
  const leader = { leaderId: r.readInt32(), leaderEpoch: r.readInt32() };
  r.readTaggedFields();
  return leader;
}

interface NodeEndpoint {
  nodeId: number;
  host: string;
  port: number;
  rack: string | null;
}

function readNodeEndpoints(r: Reader): NodeEndpoint[] {
  return r.readArray(
    (r) => {
      const node = { nodeId: r.readInt32(), host: r.readString(), port: r.readInt32(), rack: r.readNullableString() };
      r.readTaggedFields();
      return node;
    },
    true,
    false,
  );
}

// ── ShareGroupHeartbeat (76) v1 ─────────────────────────────────────────────────────────────────────────────────────
//   Request: group_id member_id member_epoch rack_id subscribed_topic_names TAG_BUFFER
//   Response: throttle_time_ms error_code error_message member_id member_epoch heartbeat_interval_ms
//             assignment (nullable: [topic_partitions: topic_id [partitions]]) TAG_BUFFER

export interface ShareHeartbeatResponse {
  throttleTimeMs: number;
  errorCode: number;
  errorMessage: string | null;
  memberId: string | null;
  memberEpoch: number;
  heartbeatIntervalMs: number;
  assignment: { topicId: string; partitions: number[] }[] | null;
}

function heartbeatRequest(groupId: string, memberId: string, memberEpoch: number, rackId: string | null, topics: string[] | null): Writer {
  const w = Writer.create().appendString(groupId).appendString(memberId).appendInt32(memberEpoch).appendString(rackId);
  if (topics === null) w.appendUnsignedVarInt(0);
  else w.appendArray(topics, (w, t) => w.appendString(t), true, false);
  return w.appendTaggedFields();
}

function heartbeatResponse(_c: number, apiKey: number, apiVersion: number, r: Reader): ShareHeartbeatResponse {
  const response: ShareHeartbeatResponse = {
    throttleTimeMs: r.readInt32(),
    errorCode: r.readInt16(),
    errorMessage: r.readNullableString(),
    memberId: r.readNullableString(),
    memberEpoch: r.readInt32(),
    heartbeatIntervalMs: r.readInt32(),
    assignment: null,
  };
  if (r.readInt8() >= 0) {
    response.assignment = r.readArray(
      (r) => {
        const tp = { topicId: r.readUUID(), partitions: r.readArray((r) => r.readInt32(), true, false) };
        r.readTaggedFields();
        return tp;
      },
      true,
      false,
    );
    r.readTaggedFields();
  }
  r.readTaggedFields();
  if (response.errorCode !== 0) throw new ResponseError(apiKey, apiVersion, { '/': [response.errorCode, response.errorMessage] }, response);
  return response;
}

export const shareGroupHeartbeatV1 = createAPI<[groupId: string, memberId: string, memberEpoch: number, rackId: string | null, topics: string[] | null], ShareHeartbeatResponse>(76, 1, heartbeatRequest, heartbeatResponse);

// ── ShareFetch (78) v2 ──────────────────────────────────────────────────────────────────────────────────────────────
//   Request: group_id member_id share_session_epoch max_wait_ms min_bytes max_bytes max_records batch_size
//            share_acquire_mode is_renew_ack [topics: topic_id [partitions: partition_index [acknowledgement_batches]]]
//            [forgotten_topics_data: topic_id [partitions]] TAG_BUFFER
//   Response: throttle_time_ms error_code error_message acquisition_lock_timeout_ms
//             [responses: topic_id [partitions: partition_index error_code error_message acknowledge_error_code
//               acknowledge_error_message current_leader records [acquired_records: first last delivery_count]]]
//             [node_endpoints] TAG_BUFFER

export interface ShareFetchRequest {
  groupId: string;
  memberId: string;
  sessionEpoch: number;
  maxWaitMs: number;
  minBytes: number;
  maxBytes: number;
  maxRecords: number;
  batchSize: number;
  /** The partitions to fetch from (and acknowledge: an empty batch list only fetches). */
  topics: AckTopic[];
  /** Partitions to remove from the share session. */
  forgotten: { topicId: string; partitions: number[] }[];
}

export interface AcquiredRange {
  firstOffset: bigint;
  lastOffset: bigint;
  deliveryCount: number;
}

export interface ShareFetchPartition {
  partition: number;
  errorCode: number;
  errorMessage: string | null;
  acknowledgeErrorCode: number;
  acknowledgeErrorMessage: string | null;
  currentLeader: { leaderId: number; leaderEpoch: number };
  records: RecordsBatch[];
  acquired: AcquiredRange[];
}

export interface ShareFetchResponse {
  throttleTimeMs: number;
  errorCode: number;
  errorMessage: string | null;
  acquisitionLockTimeoutMs: number;
  responses: { topicId: string; partitions: ShareFetchPartition[] }[];
  nodeEndpoints: NodeEndpoint[];
}

function fetchRequest(q: ShareFetchRequest): Writer {
  return Writer.create()
    .appendString(q.groupId)
    .appendString(q.memberId)
    .appendInt32(q.sessionEpoch)
    .appendInt32(q.maxWaitMs)
    .appendInt32(q.minBytes)
    .appendInt32(q.maxBytes)
    .appendInt32(q.maxRecords)
    .appendInt32(q.batchSize)
    // share_acquire_mode 1, record-limit: at most max_records records are acquired (batch-optimized may acquire whole
    // batches beyond it, and one member would hold records others could run).
    .appendInt8(1)
    .appendBoolean(false) // is_renew_ack: renewals go in ShareAcknowledge
    .appendArray(
      q.topics,
      (w, t) => {
        w.appendUUID(t.topicId);
        writeAckPartitions(w, t.partitions);
        w.appendTaggedFields();
      },
      true,
      false,
    )
    .appendArray(
      q.forgotten,
      (w, t) => {
        w.appendUUID(t.topicId)
          .appendArray(t.partitions, (w, p) => w.appendInt32(p), true, false)
          .appendTaggedFields();
      },
      true,
      false,
    )
    .appendTaggedFields();
}

function fetchResponse(_c: number, apiKey: number, apiVersion: number, r: Reader): ShareFetchResponse {
  const response: ShareFetchResponse = {
    throttleTimeMs: r.readInt32(),
    errorCode: r.readInt16(),
    errorMessage: r.readNullableString(),
    acquisitionLockTimeoutMs: r.readInt32(),
    responses: r.readArray(
      (r) => {
        const topic = {
          topicId: r.readUUID(),
          partitions: r.readArray(
            (r) => {
              const p: ShareFetchPartition = {
                partition: r.readInt32(),
                errorCode: r.readInt16(),
                errorMessage: r.readNullableString(),
                acknowledgeErrorCode: r.readInt16(),
                acknowledgeErrorMessage: r.readNullableString(),
                currentLeader: readLeader(r),
                records: [],
                acquired: [],
              };
              // COMPACT_RECORDS: length + 1 (0 = null).
              let size = r.readUnsignedVarInt();
              if (size > 1) {
                size -= 1;
                p.records = readRecordsBatches(Reader.from(r.buffer.subarray(r.position, r.position + size)));
                r.skip(size);
              }
              p.acquired = r.readArray(
                (r) => {
                  const a = { firstOffset: r.readInt64(), lastOffset: r.readInt64(), deliveryCount: r.readInt16() };
                  r.readTaggedFields();
                  return a;
                },
                true,
                false,
              );
              r.readTaggedFields();
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
    nodeEndpoints: [],
  };
  response.nodeEndpoints = readNodeEndpoints(r);
  r.readTaggedFields();
  if (response.errorCode !== 0) throw new ResponseError(apiKey, apiVersion, { '/': [response.errorCode, response.errorMessage] }, response);
  return response;
}

export const shareFetchV2 = createAPI<[request: ShareFetchRequest], ShareFetchResponse>(78, 2, fetchRequest, fetchResponse);

// ── ShareAcknowledge (79) v2 ────────────────────────────────────────────────────────────────────────────────────────
//   Request: group_id member_id share_session_epoch is_renew_ack [topics: topic_id [partitions: partition_index
//            [acknowledgement_batches: first_offset last_offset [acknowledge_types]]]] TAG_BUFFER
//   Response: throttle_time_ms error_code error_message acquisition_lock_timeout_ms
//             [responses: topic_id [partitions: partition_index error_code error_message current_leader]]
//             [node_endpoints] TAG_BUFFER

export interface ShareAcknowledgeResponse {
  throttleTimeMs: number;
  errorCode: number;
  errorMessage: string | null;
  acquisitionLockTimeoutMs: number;
  responses: { topicId: string; partitions: { partition: number; errorCode: number; errorMessage: string | null }[] }[];
}

function ackRequest(groupId: string, memberId: string, sessionEpoch: number, renew: boolean, topics: AckTopic[]): Writer {
  return Writer.create()
    .appendString(groupId)
    .appendString(memberId)
    .appendInt32(sessionEpoch)
    .appendBoolean(renew)
    .appendArray(
      topics,
      (w, t) => {
        w.appendUUID(t.topicId);
        writeAckPartitions(w, t.partitions);
        w.appendTaggedFields();
      },
      true,
      false,
    )
    .appendTaggedFields();
}

function ackResponse(_c: number, apiKey: number, apiVersion: number, r: Reader): ShareAcknowledgeResponse {
  const response: ShareAcknowledgeResponse = {
    throttleTimeMs: r.readInt32(),
    errorCode: r.readInt16(),
    errorMessage: r.readNullableString(),
    acquisitionLockTimeoutMs: r.readInt32(),
    responses: r.readArray(
      (r) => {
        const topic = {
          topicId: r.readUUID(),
          partitions: r.readArray(
            (r) => {
              const p = { partition: r.readInt32(), errorCode: r.readInt16(), errorMessage: r.readNullableString() };
              readLeader(r);
              r.readTaggedFields();
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
  };
  readNodeEndpoints(r);
  r.readTaggedFields();
  if (response.errorCode !== 0) throw new ResponseError(apiKey, apiVersion, { '/': [response.errorCode, response.errorMessage] }, response);
  return response;
}

export const shareAcknowledgeV2 = createAPI<[groupId: string, memberId: string, sessionEpoch: number, renew: boolean, topics: AckTopic[]], ShareAcknowledgeResponse>(79, 2, ackRequest, ackResponse);
