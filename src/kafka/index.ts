// The Kafka layer: connection settings (brokers, TLS, SASL), client factories with Lagless defaults, cluster checks,
// topic administration, error mapping, the group's partition assignor, share groups described from outside.
export {
  SecurityProtocols,
  SaslMechanisms,
  securityProtocol,
  clientSecurityOptions,
  describeConnection,
  type KafkaConnection,
  type SecurityProtocol,
  type SaslMechanism,
  type TlsSettings,
  type SaslSettings,
} from './connection.ts';
export {
  resolveConnection,
  parseProperties,
  parseJaasConfig,
  envName,
  ClientProperties,
  CONFIG_FILE_ENV,
  DEFAULT_BOOTSTRAP,
  type ClientProperty,
  type ConnectionInput,
  type ResolvedConnection,
} from './client-properties.ts';
export { Secret, secret } from './secret.ts';
export {
  createProducer,
  createConsumer,
  createAdmin,
  createRecordProducer,
  createRecordConsumer,
  recordDeserializers,
  recordSerializers,
  type RecordProducer,
  type RecordConsumer,
  type OutValue,
  type KafkaConnectionOptions,
  type DurableProducerOptions,
  type GroupConsumerOptions,
  type StringProducer,
  type StringConsumer,
} from './client.ts';
export {
  checkBrokers,
  ensureTopic,
  listTopics,
  describeTopics,
  validateTopicName,
  type ClusterInfo,
  type TopicSpec,
  type EnsureTopicResult,
  type TopicListing,
} from './admin.ts';
export { toLaglessError, securityError, isUnreachable, describeKafkaError, findKafkaErrorId, unreachableError, type ConnectionRef } from './errors.ts';
export { computeLag, readGroupLag, type PartitionLag, type TopicLag } from './lag.ts';
export {
  describeShareGroup,
  shareGroupBacklog,
  shareGroupBacklogs,
  shareGroupDescribeV1,
  describeShareGroupOffsetsV0,
  describeShareGroupOffsetsV1,
  type ShareGroupDescription,
  type ShareGroupMember,
  type SharePartitionBacklog,
  type ShareTopicBacklog,
  type ShareGroupDescribeResponse,
  type DescribeShareGroupOffsetsResponse,
  type ShareOffsetsRequestGroup,
} from './share-admin.ts';
export { balancedCooperativeAssigner, assignTopic } from './assignor.ts';
export { GroupMemberConsumer, MEMBERSHIP_LOST_EVENT } from './member-epoch.ts';
export { recordBatchBytes, readMaxMessageBytes, RECORD_BATCH_OVERHEAD, DEFAULT_MAX_MESSAGE_BYTES, type SizedRecord } from './record-size.ts';
export { ReadCommittedConsumer, dropAbortedRecords, type FetchedPartition, type FetchedResponse } from './read-committed.ts';
export {
  TransactionalProducer,
  TransactionError,
  readStableOffsets,
  type GroupGeneration,
  type TransactionOffset,
  type TransactionOutcome,
  type TransactionFailureReason,
  type TransactionalProducerOptions,
  type StableOffsetsOptions,
} from './transactions.ts';
