// The passthrough job: output = input. Measures the runtime's own overhead (bench) and exercises it in tests.
import type { Job } from '../runtime/index.ts';

export function createNoopJob(): Job {
  return {
    name: 'noop',
    run: async (input) => ({ key: input.key, value: input.value }),
    close: async () => {},
  };
}
