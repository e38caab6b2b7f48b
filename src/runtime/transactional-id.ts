// A transactional id that stays the same when a member is restarted on the same host, and differs between members
// that run at the same time: "lagless-<group>-<host>-<slot>", the slot being the lowest one no live process holds
// ("lagless-<group>-<host>-net<inode>-<slot>" in a network namespace of its own: slots are per network namespace).
import { createHash } from 'node:crypto';
import { readlinkSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { hostname } from 'node:os';

/** A claimed transactional id; release() gives the slot back (a crashed process gives it back by dying). */
export interface TransactionalIdClaim {
  readonly transactionalId: string;
  readonly slot: number | undefined;
  release(): void;
}

const MAX_SLOTS = 1024;

function listen(server: Server, path: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      server.off('listening', onListening);
      if (err.code === 'EADDRINUSE') resolve(false);
      else reject(err);
    };
    const onListening = () => {
      server.off('error', onError);
      resolve(true);
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen({ path });
  });
}

/**
 * Abstract Unix socket names are per network namespace: processes in different namespaces of one host (the same host
 * name: `ip netns exec`, a container sharing the host's name) can claim the same slot. Their ids then name the
 * namespace: "-net<inode>" when this process's network namespace is not that of the host's first process (PID 1), or
 * when that one cannot be read. A namespace lives as long as it is used, so a restart in it keeps its id.
 */
export function networkNamespaceTag(): string {
  let own: string;
  try {
    own = readlinkSync('/proc/self/ns/net');
  } catch {
    return '';
  }
  try {
    if (readlinkSync('/proc/1/ns/net') === own) return '';
  } catch {
    // Not ours to read (another user's PID 1): name the namespace to be safe.
  }
  const inode = /\[(\d+)\]/.exec(own)?.[1];
  return inode ? `-net${inode}` : '';
}

/**
 * Claims the lowest free slot for `group` on this host with a Linux abstract Unix socket: binding is atomic, and the
 * kernel frees the name when the process dies, even by kill -9, so a restarted member gets the slot (and so the
 * transactional id) of the one it replaces and fences that one's unfinished transaction at once. Two members started
 * side by side get different slots. Where abstract sockets do not exist (not Linux), the id ends with the pid instead:
 * still unique, not stable, so a restart waits for the transaction timeout instead.
 */
export async function claimTransactionalId(group: string, host = hostname()): Promise<TransactionalIdClaim> {
  const base = `lagless-${group}-${host}${process.platform === 'linux' ? networkNamespaceTag() : ''}`;
  if (process.platform !== 'linux') return { transactionalId: `${base}-pid${process.pid}`, slot: undefined, release: () => {} };
  const key = createHash('sha256').update(`${host}\u0000${group}`).digest('hex').slice(0, 24);
  for (let slot = 0; slot < MAX_SLOTS; slot += 1) {
    const server = createServer();
    server.unref();
    if (await listen(server, `\0lagless/txn/${key}/${slot}`)) {
      return { transactionalId: `${base}-${slot}`, slot, release: () => server.close() };
    }
  }
  return { transactionalId: `${base}-pid${process.pid}`, slot: undefined, release: () => {} };
}
