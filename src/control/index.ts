// The control plane on Kafka itself: processes publish their status to a compacted topic; `lagless status` reads it with the broker's view of the group.
export {
  DEFAULT_STATUS_TOPIC,
  GUARANTEES,
  MAX_SCALE_EVENTS,
  statusKey,
  isLive,
  isReplica,
  isSupervisor,
  parseStatus,
  decodeStatus,
  STATUS_RECORD_VERSION,
  pushScaleEvent,
  type Guarantee,
  type MemberStatus,
  type ReplicaStatus,
  type SupervisorStatus,
  type StatusRole,
  type ScaleEvent,
} from './status-record.ts';
export { StatusPublisher, ensureStatusTopic, type StatusPublisherOptions } from './publisher.ts';
export { StatusTail, type StatusTailOptions } from './status-tail.ts';
export { describeGroupStatus, readGroupStatus, readStatuses, type GroupStatus, type PartitionLagView, type BrokerMember } from './reader.ts';
export { formatGroupStatus, formatShareGroupStatus } from './format.ts';
export { describeShareGroupStatus, readShareGroupStatus, isShareGroupStatus, withProcesses, type ShareGroupStatus, type SharePartitionView } from './share-status.ts';
