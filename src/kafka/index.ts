// The Kafka layer: client factories with Lagless defaults, cluster checks, topic administration, error mapping.
export {
  createProducer,
  createConsumer,
  createAdmin,
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
export { toLaglessError, isUnreachable, describeKafkaError, findKafkaErrorId, unreachableError } from './errors.ts';
export { computeLag, readGroupLag, type PartitionLag, type TopicLag } from './lag.ts';
