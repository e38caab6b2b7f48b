// The job contract: what a job is (types), defineJob, the record a job reads, and loading a job from a file.
export type { JobDefinition, JobRecord, JobContext, SetupContext, JobOutput, JobResult, RecordHeaders, WorkerRunner, WorkerRunOptions, WorkerFunction, OutputView, OutputPreview } from './types.ts';
export { defineJob, validateJob } from './define.ts';
export { InputRecord, type RecordFields } from './record.ts';
export { loadJobFile, looksLikeJobFile, JOB_FILE_EXTENSIONS } from './load.ts';
