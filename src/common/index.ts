// Small shared primitives with no dependencies on the rest of Lagless.
export { parseDuration, formatDuration } from './duration.ts';
export { Semaphore } from './semaphore.ts';
export { freePort } from './net.ts';
