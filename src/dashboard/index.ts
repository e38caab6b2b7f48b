// The live dashboard of a consumer group: a collector (status topic, admin API, output and dead-letter tails, an hour of history) and its page over SSE.
export { Collector, defaultCollectorOptions, type CollectorOptions, type DashboardState, type Point, type Summary, type MemberView, type PartitionView, type ScaleEventView, type DeadBuckets } from './collector.ts';
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
export { parseDeadLetterEntry, parseGalleryEntry, MAX_TEXT, type DeadLetterEntry, type GalleryEntry, type RecordMeta } from './records.ts';
