// Small shared primitives with no dependencies on the rest of Lagless.
export { parseDuration, formatDuration } from './duration.ts';
export { Semaphore } from './semaphore.ts';
export { freePort, freePortRange } from './net.ts';
export { moduleUrl, modulePath } from './module-url.ts';
export { LAGLESS_VERSION } from './version.ts';
export { within } from './within.ts';
export { Guarantees, type Guarantee } from './guarantee.ts';
