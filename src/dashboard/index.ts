// The live dashboard of a consumer group: a collector (status topic, admin API, output and dead-letter tails, an hour of history) and its page over SSE.
export { Collector, defaultCollectorOptions, jobPreviews, type CollectorOptions, type DashboardState, type Point, type Summary, type MemberView, type PartitionView, type ScaleEventView, type DeadBuckets, type JobPreviews } from './collector.ts';
export {
  createDashboardHandler,
  defaultDashboardAccessOptions,
  isLoopbackBind,
  MIN_DASHBOARD_TOKEN_LENGTH,
  startDashboardServer,
  type DashboardAccessOptions,
  type DashboardHandler,
  type DashboardHandlerOptions,
  type DashboardServer,
  type DashboardServerOptions,
} from './server.ts';
export { DASHBOARD_ASSETS_DIR, loadDashboardAssets, pageWeight } from './assets.ts';
export { History, type HistoryJson } from './history.ts';
export { ArrivalClock, type Behind } from './arrival-clock.ts';
export { outputEntry, parseDeadLetterEntry, MAX_FIELD_TEXT, MAX_TEXT, type DeadLetterEntry, type OutputEntry, type RecordMeta } from './records.ts';
