// Record sources for topic `urls`: a file or stdin, a paced synthetic load against a local image server, and the X filtered stream.
export {
  SourceKinds,
  type SourceKind,
  type UrlRecord,
  type RecordSource,
  type SourceEvent,
  type SourceEventListener,
  type SourceBaseOptions,
  type ReconnectKind,
} from './types.ts';
export { openFileSource, parseLine, idForUrl, urlProblem, readLines, MAX_LINE_LENGTH, MAX_LINE_BYTES, type FileSourceOptions, type FileSourceStats, type ParsedLine, type InputLine, type SkipCode } from './file-source.ts';
export {
  parseProfile,
  constantProfile,
  stepsProfile,
  burstsProfile,
  rateAt,
  countBetween,
  timeForCount,
  ProfileKinds,
  type LoadProfile,
  type ProfileKind,
  type RateSegment,
  type Step,
  type BurstsOptions,
  type ParseProfileDefaults,
} from './profile.ts';
export { Pacer, defaultPacerOptions, type PacerOptions } from './pacer.ts';
export {
  syntheticSource,
  syntheticId,
  newRunId,
  type SyntheticSourceOptions,
  type SyntheticSourceStats,
  type SyntheticProfile,
} from './synthetic-source.ts';
export {
  xSource,
  parseStreamLine,
  defaultXSourceOptions,
  X_STREAM_PATH,
  X_STREAM_QUERY,
  type XSourceOptions,
  type XSourceStats,
  type XLineResult,
} from './x-source.ts';
export {
  listRules,
  addRules,
  deleteRules,
  DEFAULT_X_API_BASE,
  X_RULES_PATH,
  type XApiOptions,
  type XRule,
  type NewXRule,
  type AddRulesResult,
} from './x-rules.ts';
export { reconnectDelay, defaultXReconnectPolicies, type XReconnectPolicies, type ReconnectDecision, type RateLimitHeaders } from './x-reconnect.ts';
export {
  RecordPipe,
  recordValue,
  defaultProduceRecordsOptions,
  type RecordSender,
  type ProduceRecordsOptions,
  type ProduceRecordsResult,
  type ProduceCounters,
} from './produce-records.ts';
