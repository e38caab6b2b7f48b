// Finds a free TCP port on 127.0.0.1 (for the local broker's controller, the test runner, tests).
import { createServer } from 'node:net';

/** A port that was free a moment ago (bind to it soon: another process may take it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen({ port: 0, host: '127.0.0.1' }, () => {
      const a = srv.address();
      srv.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}
