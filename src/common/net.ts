// Finds free TCP ports on 127.0.0.1 (for local brokers and clusters, the test runner, tests).
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

function isFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/** The first of `count` consecutive ports that were free a moment ago on `host` (for a local cluster's nodes). */
export async function freePortRange(count: number, host = '127.0.0.1'): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt += 1) {
    const first = await freePort();
    if (first + count - 1 > 65535) continue;
    let ok = true;
    for (let p = first; p < first + count && ok; p += 1) ok = await isFree(p, host);
    if (ok) return first;
  }
  throw new Error(`no ${count} consecutive free ports found on ${host}`);
}
