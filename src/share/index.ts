// Share groups (KIP-932): a member that takes records of any partition, each acknowledged on its own.
export { ShareTransformer, type ShareStats } from './transformer.ts';
export { ShareConsumer, toAckBatches, type ShareRecord, type ShareConsumerOptions, type ShareConsumerStats } from './consumer.ts';
export { prepareShareGroup, readShareBacklog, type ShareGroupSettings } from './group.ts';
