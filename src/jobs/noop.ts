// The passthrough job, on the public job API: output = input. Measures the runtime's own overhead (bench) and exercises it in tests.
import { defineJob, type JobDefinition } from '../index.ts';

export function createNoopJob(): JobDefinition {
  // The output keeps the input's key (the default) and its value's bytes.
  return defineJob({ name: 'noop', run: (record) => ({ value: record.value }) });
}
