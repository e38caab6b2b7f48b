// The fault runner's network: the brokers' address on this namespace's loopback, and one network namespace per member slot joined to it by a veth pair whose link the runner can cut.
import { spawnSync } from 'node:child_process';

/** Our own private range; nothing in it is routed anywhere but between our namespaces. */
const SUBNET = '10.213';

export interface MemberSlot {
  index: number;
  /** Network namespace of the member processes of this slot. */
  ns: string;
  /** The veth end in the runner's namespace (cut it to cut the member off). */
  hostIf: string;
  memberIf: string;
  hostAddress: string;
  memberAddress: string;
}

export interface Topology {
  /** Where the brokers and the image server listen: an address on the runner namespace's loopback, routed from every slot. */
  readonly brokerAddress: string;
  readonly slots: readonly MemberSlot[];
  /** Takes the slot's link down (silently: no reset, packets vanish), or brings it back up. */
  setLink(slot: MemberSlot, up: boolean): void;
  /** Deletes the namespaces (their veth pairs go with them) and the loopback address. Safe to call twice. */
  close(): void;
}

function ip(args: string[]): void {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')} failed: ${(r.stderr || r.error?.message || '').trim()}`);
}

/** Why this process cannot build the topology (undefined when it can): it needs root and iproute2. */
export function topologyUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return 'the fault runner needs root to create network namespaces and veth pairs';
  const r = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  if (r.status !== 0) return `iproute2 is missing or cannot list network namespaces (${(r.stderr || r.error?.message || '').trim()})`;
  return undefined;
}

/** Creates `members` slots. Names carry this process's pid, so that concurrent runs never collide. */
export function createTopology(members: number): Topology {
  const why = topologyUnavailable();
  if (why) throw new Error(why);
  const tag = `lf${process.pid}`;
  const brokerAddress = `${SUBNET}.0.1`;
  const slots: MemberSlot[] = [];
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    for (const s of slots) spawnSync('ip', ['netns', 'delete', s.ns]);
    spawnSync('ip', ['addr', 'del', `${brokerAddress}/32`, 'dev', 'lo']);
  };
  try {
    ip(['link', 'set', 'lo', 'up']);
    ip(['addr', 'add', `${brokerAddress}/32`, 'dev', 'lo']);
    for (let i = 1; i <= members; i += 1) {
      const slot: MemberSlot = {
        index: i,
        ns: `${tag}m${i}`,
        hostIf: `${tag}h${i}`,
        memberIf: `${tag}v${i}`,
        hostAddress: `${SUBNET}.${i}.1`,
        memberAddress: `${SUBNET}.${i}.2`,
      };
      ip(['netns', 'add', slot.ns]);
      slots.push(slot);
      ip(['-n', slot.ns, 'link', 'set', 'lo', 'up']);
      ip(['link', 'add', slot.hostIf, 'type', 'veth', 'peer', 'name', slot.memberIf]);
      ip(['link', 'set', slot.memberIf, 'netns', slot.ns]);
      ip(['addr', 'add', `${slot.hostAddress}/30`, 'dev', slot.hostIf]);
      ip(['link', 'set', slot.hostIf, 'up']);
      ip(['-n', slot.ns, 'addr', 'add', `${slot.memberAddress}/30`, 'dev', slot.memberIf]);
      ip(['-n', slot.ns, 'link', 'set', slot.memberIf, 'up']);
      // Only the brokers' address is routed: any other address fails at once (no default route, no DNS server).
      ip(['-n', slot.ns, 'route', 'add', `${brokerAddress}/32`, 'via', slot.hostAddress]);
    }
  } catch (err) {
    close();
    throw err;
  }
  return {
    brokerAddress,
    slots,
    setLink: (slot, up) => ip(['link', 'set', slot.hostIf, up ? 'up' : 'down']),
    close,
  };
}
