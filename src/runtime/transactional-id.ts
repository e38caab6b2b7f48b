// Transactional ids for exactly-once members: unique among live members of a group (also across containers and machines
// that share a host name), unambiguous (each part percent-encoded, joined by ':'), and stable across a restart where the
// member keeps its identity (LAGLESS_INSTANCE_ID, or the same host name, kernel boot and network namespace).
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync, readlinkSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { hostname } from 'node:os';

/** The environment variable naming a member's stable identity (a StatefulSet pod's name, through the downward API). */
export const INSTANCE_ID_ENV = 'LAGLESS_INSTANCE_ID';

/**
 * What a member's transactional id is derived from:
 * - `instance`: LAGLESS_INSTANCE_ID, stable wherever the platform gives the member the same name again;
 * - `namespace`: the host name and a scope naming this kernel boot and network namespace, stable across restarts in
 *   that namespace (a container restarted in its pod, a process restarted on its host);
 * - `random`: the host name and a random scope, when the kernel boot or the network namespace cannot be read: unique,
 *   but new on every start.
 */
export const TransactionalIdBases = ['instance', 'namespace', 'random'] as const;
export type TransactionalIdBasis = (typeof TransactionalIdBases)[number];

/** Who a member is, before its slot is known. */
export type MemberIdentity =
  | { readonly basis: 'instance'; readonly group: string; readonly instanceId: string }
  | { readonly basis: 'namespace' | 'random'; readonly group: string; readonly host: string; readonly scope: string };

/** What the identity is derived from; everything that `claimTransactionalId` reads from the system, injectable. */
export interface IdentityInputs {
  /** The host name (`os.hostname()`). */
  host: string;
  /** /proc/sys/kernel/random/boot_id: random per kernel boot, the same in every container of that kernel. */
  bootId: string | undefined;
  /** The inode of /proc/self/ns/net: unique among the live network namespaces of one kernel. */
  netns: string | undefined;
  /** The environment, for LAGLESS_INSTANCE_ID. */
  env: Readonly<Record<string, string | undefined>>;
  /** Random bytes, for the scope when the kernel boot or the network namespace is unknown. */
  random: (size: number) => Uint8Array;
}

/** A slot number (per identity and network namespace), or the process id where slots cannot be claimed. */
export type Slot = number | { readonly pid: number };

/** A claimed transactional id; release() gives the slot back (a crashed process gives it back by dying). */
export interface TransactionalIdClaim {
  readonly transactionalId: string;
  readonly basis: TransactionalIdBasis;
  readonly slot: number | undefined;
  release(): void;
}

const MAX_SLOTS = 1024;
/** Hex digits of the scope: 48 bits, so n members of one group with one host name collide with odds ~n²/2⁴⁹. */
const SCOPE_HEX = 12;
/** A part longer than this, encoded, keeps a readable prefix and a hash of the whole instead. */
const MAX_PART = 48;
const PREFIX_PART = 32;
const HASH_HEX = 16;

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');

/**
 * Who this member is. LAGLESS_INSTANCE_ID wins when set (and not empty). Otherwise the host name, with a scope that
 * tells apart what the host name does not: separate kernels (the boot id is random per boot) and separate network
 * namespaces of one kernel (the namespace's inode is unique among live namespaces). Either alone is not enough: every
 * container of a host has the host's boot id, and the initial namespace has the same inode on every machine.
 */
export function memberIdentity(group: string, inputs: IdentityInputs): MemberIdentity {
  const instanceId = inputs.env[INSTANCE_ID_ENV];
  if (instanceId !== undefined && instanceId !== '') return { basis: 'instance', group, instanceId };
  const bootId = inputs.bootId?.trim();
  if (bootId && inputs.netns) {
    return { basis: 'namespace', group, host: inputs.host, scope: sha256(`boot ${bootId}\u0000netns ${inputs.netns}`).slice(0, SCOPE_HEX) };
  }
  // 'r' is not a hex digit: a random scope never equals a derived one, and a reader of the id sees that it is not stable.
  return { basis: 'random', group, host: inputs.host, scope: `r${Buffer.from(inputs.random(SCOPE_HEX / 2)).toString('hex')}` };
}

/**
 * One part of an id: UTF-8 bytes outside [A-Za-z0-9._-] as %XX, so it never contains ':' (the separator) or '~'.
 * A part longer than MAX_PART keeps its first characters and ends with '~' and a 64-bit hash of the whole part, so that
 * ids stay short: such a part cannot equal one that was not shortened (no '~' there), and two shortened parts are equal
 * only if their hashes collide.
 */
export function encodeIdPart(part: string): string {
  let out = '';
  for (const byte of new TextEncoder().encode(part)) {
    const c = String.fromCharCode(byte);
    out += /[A-Za-z0-9._-]/.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  if (out.length <= MAX_PART) return out;
  const prefix = out.slice(0, PREFIX_PART).replace(/%[0-9A-F]?$/, '');
  return `${prefix}~${sha256(part).slice(0, HASH_HEX)}`;
}

/** Everything of the id but the slot; also what the slot is claimed for. */
function idBase(identity: MemberIdentity): string {
  const parts = identity.basis === 'instance' ? [identity.group, identity.instanceId] : [identity.group, identity.host];
  const base = `lagless:${parts.map(encodeIdPart).join(':')}`;
  return identity.basis === 'instance' ? base : `${base}:${identity.scope}`;
}

/**
 * The transactional id: "lagless:<group>:<instance id>:<slot>" or "lagless:<group>:<host>:<scope>:<slot>", each free
 * part encoded by encodeIdPart. No part contains ':', and the two forms differ in their number of parts, so distinct
 * (group, identity, slot) give distinct ids (up to the hash of a shortened part).
 */
export function formatTransactionalId(identity: MemberIdentity, slot: Slot): string {
  return `${idBase(identity)}:${typeof slot === 'number' ? String(slot) : `p${slot.pid}`}`;
}

function readOrUndefined(read: () => string): string | undefined {
  try {
    return read();
  } catch {
    return undefined;
  }
}

/** The identity inputs of this process. */
export function systemIdentityInputs(env: Readonly<Record<string, string | undefined>> = process.env): IdentityInputs {
  return {
    host: hostname(),
    bootId: readOrUndefined(() => readFileSync('/proc/sys/kernel/random/boot_id', 'utf8')),
    netns: readOrUndefined(() => /^net:\[(\d+)\]$/.exec(readlinkSync('/proc/self/ns/net'))?.[1] ?? ''),
    env,
    random: (size) => randomBytes(size),
  };
}

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
 * Claims this member's transactional id for `group`: its identity (memberIdentity) and the lowest slot that no live
 * process of the same identity holds in this network namespace. A slot is a Linux abstract Unix socket: binding is
 * atomic, and the kernel frees the name when the process dies, even by kill -9, so a restarted member gets the id of
 * the one it replaces and fences that one's unfinished transaction at once, while members side by side (`--replicas`,
 * which share LAGLESS_INSTANCE_ID, or processes of one host) get different slots. Abstract sockets are per network
 * namespace: members in different namespaces are kept apart by their scope (or must have different instance ids).
 * Where abstract sockets do not exist (not Linux), the id ends with the pid instead: still unique, not stable.
 */
export async function claimTransactionalId(group: string, inputs: IdentityInputs = systemIdentityInputs()): Promise<TransactionalIdClaim> {
  const identity = memberIdentity(group, inputs);
  const unclaimed = { basis: identity.basis, slot: undefined, release: () => {} };
  if (process.platform !== 'linux') return { transactionalId: formatTransactionalId(identity, { pid: process.pid }), ...unclaimed };
  const key = sha256(idBase(identity)).slice(0, 24);
  for (let slot = 0; slot < MAX_SLOTS; slot += 1) {
    const server = createServer();
    server.unref();
    if (await listen(server, `\0lagless/txn/${key}/${slot}`)) {
      return { transactionalId: formatTransactionalId(identity, slot), basis: identity.basis, slot, release: () => server.close() };
    }
  }
  return { transactionalId: formatTransactionalId(identity, { pid: process.pid }), ...unclaimed };
}
