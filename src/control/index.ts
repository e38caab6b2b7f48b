// The control plane on Kafka itself: processes publish their status to a compacted topic; `lagless status` reads it with the broker's view of the group.
export { DEFAULT_STATUS_TOPIC, statusKey, isLive, parseStatus, type MemberStatus } from './status-record.ts';
export { StatusPublisher, ensureStatusTopic, type StatusPublisherOptions } from './publisher.ts';
export { readGroupStatus, readStatuses, type GroupStatus, type PartitionLag, type BrokerMember } from './reader.ts';
export { formatGroupStatus } from './format.ts';
