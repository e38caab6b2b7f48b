// Offset tracking that commits only what is done, and the ordering modes that decide which records may start.
export { PartitionOffsets } from './partition-offsets.ts';
export type { OffsetTicket } from './partition-offsets.ts';
export { OffsetTracker } from './offset-tracker.ts';
export type { CommitPosition, RecordTicket, TopicPartition } from './offset-tracker.ts';
export { OrderingScheduler, OrderingModes } from './ordering.ts';
export type { OrderingMode, SchedulableRecord } from './ordering.ts';
export { Fifo } from './fifo.ts';
