// Finds free TCP ports on 127.0.0.1 (for local brokers and clusters, the test runner, tests).
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/**
 * A port that was free a moment ago on 127.0.0.1 (bind to it soon: another process may take it), chosen below the
 * kernel's ephemeral range like freePortRange: a broker's JVM takes seconds to bind, and a port the kernel hands out
 * for outgoing connections could be taken meanwhile.
 */
export function freePort(): Promise<number> {
  return freePortRange(1);
}

function isFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ port, host, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/**
 * The first port below the kernel's ephemeral range (where outgoing connections take their local ports): a port
 * chosen there cannot be taken by some client's connection between our check and the broker's bind.
 */
function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    if (Number.isInteger(low) && low > 12_000) return low;
  } catch {
    // Not Linux: assume the IANA range.
  }
  return 49_152;
}

/**
 * The first of `count` consecutive ports that were free a moment ago on `host` (for a local cluster's nodes), chosen at
 * random below the ephemeral range (a JVM takes seconds to bind; meanwhile an ephemeral port may go to a connection).
 */
export async function freePortRange(count: number, host = '127.0.0.1'): Promise<number> {
  const high = ephemeralLow() - count;
  const low = 10_000;
  for (let attempt = 0; attempt < 200; attempt += 1) {
    const first = low + Math.floor(Math.random() * (high - low));
    let ok = true;
    for (let p = first; p < first + count && ok; p += 1) ok = await isFree(p, host);
    if (ok) return first;
  }
  throw new Error(`no ${count} consecutive free ports found on ${host}`);
}
