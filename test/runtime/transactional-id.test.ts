// Transactional ids: one slot per live process of an identity, different for processes in different network namespaces
// or on different kernels that share a host name (containers with their own network and PID namespaces all got slot 0
// and one id, and fenced each other's transactions), unambiguous ("lagless-<group>-<host>" read group a-b on host c
// as group a on host b-c), and with LAGLESS_INSTANCE_ID the same wherever the member restarts.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test, type TestContext } from 'node:test';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { claimTransactionalId, encodeIdPart, formatTransactionalId, memberIdentity, systemIdentityInputs, type IdentityInputs, type MemberIdentity, type Slot } from '../../src/runtime/transactional-id.ts';
import { uniqueName } from '../helpers/kafka.ts';

const MODULE = fileURLToPath(new URL('../../src/runtime/transactional-id.ts', import.meta.url));

const BOOT_A = 'a39263a6-794b-4357-b1e5-867c4148cf0d';
const BOOT_B = '0f4d0d52-25a1-4a3e-9f55-2b1c6a0f8e11';
/** The initial network namespace's inode: the same on every machine. */
const INIT_NETNS = '4026531840';

function inputs(over: Partial<IdentityInputs> = {}): IdentityInputs {
  let n = 0;
  return { host: 'worker', bootId: `${BOOT_A}\n`, netns: INIT_NETNS, env: {}, random: (size) => new Uint8Array(size).fill((n += 1)), ...over };
}

const idOf = (group: string, i: IdentityInputs, slot: Slot = 0) => formatTransactionalId(memberIdentity(group, i), slot);

test('the id names the group, the host, a scope for the kernel boot and network namespace, and the slot', () => {
  const id = idOf('palettes', inputs(), 3);
  assert.match(id, /^lagless:palettes:worker:[0-9a-f]{12}:3$/);
  assert.equal(idOf('palettes', inputs(), 3), id, 'the same host, boot and namespace: the same id (a restart keeps it)');
  assert.equal(idOf('palettes', inputs(), { pid: 42 }), id.replace(/:3$/, ':p42'));
  assert.equal(memberIdentity('palettes', inputs()).basis, 'namespace');
});

test('one host name in different network namespaces of one kernel, or on different kernels, gives different ids', () => {
  const here = idOf('g', inputs());
  assert.notEqual(idOf('g', inputs({ netns: '4026532177' })), here, 'another namespace of this kernel (a container)');
  assert.notEqual(idOf('g', inputs({ bootId: BOOT_B })), here, "another machine's initial namespace (VMs named localhost)");
});

test('without a boot id or a network namespace the scope is random: unique, not stable', () => {
  for (const missing of [{ bootId: undefined }, { netns: undefined }, { bootId: '' }]) {
    const i = inputs(missing);
    const a = memberIdentity('g', i);
    const b = memberIdentity('g', i);
    assert.equal(a.basis, 'random');
    assert.notEqual(formatTransactionalId(a, 0), formatTransactionalId(b, 0));
    assert.match(formatTransactionalId(a, 0), /^lagless:g:worker:r[0-9a-f]{12}:0$/);
  }
});

test('group a-b on host c and group a on host b-c get different ids (regression: "lagless-<group>-<host>" was ambiguous)', () => {
  assert.notEqual(idOf('a-b', inputs({ host: 'c' })), idOf('a', inputs({ host: 'b-c' })));
  assert.equal(encodeIdPart('a:b%c~d é'), 'a%3Ab%25c%7Ed%20%C3%A9');
});

test('with LAGLESS_INSTANCE_ID the id is the group, the instance id and the slot, wherever the member runs', () => {
  const env = { LAGLESS_INSTANCE_ID: 'lagless-palette-0' };
  const id = idOf('palettes', inputs({ env }));
  assert.equal(id, 'lagless:palettes:lagless-palette-0:0');
  assert.equal(idOf('palettes', inputs({ env, host: 'other', bootId: BOOT_B, netns: '4026532177' })), id, 'a restart on another host keeps it');
  assert.equal(idOf('palettes', inputs({ env, bootId: undefined })), id, 'no random part');
  assert.equal(memberIdentity('palettes', inputs({ env })).basis, 'instance');
  assert.notEqual(idOf('palettes', inputs({ env: { LAGLESS_INSTANCE_ID: 'lagless-palette-1' } })), id);
  assert.equal(memberIdentity('palettes', inputs({ env: { LAGLESS_INSTANCE_ID: '' } })).basis, 'namespace', 'empty: not set');
  assert.notEqual(idOf('palettes', inputs({ env: { LAGLESS_INSTANCE_ID: 'worker' } })), idOf('palettes', inputs()), 'an instance id equal to a host name');
});

test('a long part keeps a readable prefix and a hash of the whole', () => {
  const long = `orders-${'x'.repeat(200)}`;
  const part = encodeIdPart(long);
  assert.ok(part.length <= 49, part);
  assert.match(part, /^orders-x+~[0-9a-f]{16}$/);
  assert.notEqual(encodeIdPart(`${long}y`), part);
  assert.ok(!encodeIdPart('é'.repeat(40)).replace(/~.*$/, '').match(/%[0-9A-F]?$/), 'never ends inside an escape');
});

// Parts made of what matters to an encoding ('-', the separator ':', '%', an escape's text '%3A', '~', multi-byte
// characters), short enough that near-collisions are common, and sometimes long enough to be shortened (with a shared
// prefix, so that only the hash tells them apart). Each run takes small pools of parts, scopes and slots and formats
// every combination, so that a bad encoding meets its colliding pair: this finds a collision of
// "lagless-<group>-<host>-<slot>", of an encoding that escapes ':' but not '%', of parts joined by '-', and of long
// parts cut without their hash, within a few runs.
const small = fc.string({ unit: fc.constantFrom('a', '-', ':', '%', '%3A', '~'), maxLength: 4 });
const tricky = fc.string({ unit: fc.constantFrom('a', '-', ':', '%', '3', 'A', '~', '.', 'é', '😀'), maxLength: 6 });
const long = fc.tuple(fc.constantFrom('a'.repeat(40), ':'.repeat(20), 'é'.repeat(30)), small).map(([prefix, tail]) => prefix + tail);
const part = fc.oneof({ weight: 5, arbitrary: small }, { weight: 4, arbitrary: tricky }, { weight: 1, arbitrary: long });
const scope = fc.stringMatching(/^r?[0-9a-f]{12}$/);
const SLOTS: Slot[] = [0, 1, { pid: 1 }];
/** What must tell two ids apart (not the basis itself: namespace and random scopes differ anyway). */
const key = (i: MemberIdentity, s: Slot) => JSON.stringify(i.basis === 'instance' ? ['instance', i.group, i.instanceId, s] : ['host', i.group, i.host, i.scope, s]);

test('distinct (group, identity, slot) never give the same id (property)', () => {
  const pools = fc.record({ parts: fc.uniqueArray(part, { minLength: 2, maxLength: 6 }), scopes: fc.uniqueArray(scope, { minLength: 1, maxLength: 2 }) });
  fc.assert(
    fc.property(pools, ({ parts, scopes }) => {
      const identities: MemberIdentity[] = [];
      for (const group of parts) {
        for (const other of parts) {
          identities.push({ basis: 'instance', group, instanceId: other });
          for (const sc of scopes) identities.push({ basis: sc.startsWith('r') ? 'random' : 'namespace', group, host: other, scope: sc });
        }
      }
      const byId = new Map<string, string>();
      for (const i of identities) {
        for (const s of SLOTS) {
          const id = formatTransactionalId(i, s);
          const k = key(i, s);
          const seen = byId.get(id);
          if (seen !== undefined && seen !== k) throw new Error(`${seen} and ${k} both give ${id}`);
          byId.set(id, k);
          assert.doesNotMatch(id, /[^A-Za-z0-9._%~:-]/);
        }
      }
    }),
    { numRuns: 300 },
  );
});

test('two live claims of one group get different slots; a released slot is claimed again', async () => {
  const group = uniqueName('txn-id');
  const a = await claimTransactionalId(group);
  const b = await claimTransactionalId(group);
  assert.notEqual(a.transactionalId, b.transactionalId);
  assert.deepEqual([a.slot, b.slot], [0, 1]);
  a.release();
  const c = await claimTransactionalId(group);
  assert.equal(c.transactionalId, a.transactionalId, 'a restart gets the id of the one it replaces');
  b.release();
  c.release();
});

/** `node -e` code that prints the id a new process claims for `group`. */
const claimCode = (group: string) =>
  `const { claimTransactionalId } = await import(${JSON.stringify(MODULE)}); process.stdout.write((await claimTransactionalId(${JSON.stringify(group)})).transactionalId);`;

function run(cmd: string, args: string[], env: Record<string, string> = {}): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: { ...process.env, ...env } });
  assert.equal(r.status, 0, `${cmd} ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** `node -e claimCode(group)` after `hostname <host>`, inside `prefix` (which must unshare the UTS namespace). */
const claimWithHostname = (prefix: string[], group: string, host: string, env: Record<string, string> = {}) =>
  run(prefix[0]!, [...prefix.slice(1), 'sh', '-c', 'hostname "$0" && exec "$@"', host, process.execPath, '--input-type=module', '-e', claimCode(group)], env);

const isRoot = process.getuid?.() === 0;
const canUnshare = isRoot && spawnSync('unshare', ['--net', 'true']).status === 0;
/** Namespaces like a container's: network, UTS and PID of its own, PID 1 in its network namespace. */
const CONTAINER = ['unshare', '--net', '--uts', '--pid', '--fork', '--mount-proc'];
const canContainer = canUnshare && spawnSync(CONTAINER[0]!, [...CONTAINER.slice(1), 'true']).status === 0;
const canNamedNetns = isRoot && spawnSync('ip', ['netns', 'list']).status === 0 && spawnSync('unshare', ['--uts', 'true']).status === 0;

test('processes with one LAGLESS_INSTANCE_ID side by side (--replicas inherits the environment) get different slots', async () => {
  const group = uniqueName('txn-id-inst');
  const withInstance = { ...systemIdentityInputs(), env: { LAGLESS_INSTANCE_ID: 'pod-0' } };
  const a = await claimTransactionalId(group, withInstance);
  const b = await claimTransactionalId(group, withInstance);
  assert.deepEqual([a.transactionalId, b.transactionalId], [`lagless:${group}:pod-0:0`, `lagless:${group}:pod-0:1`]);
  assert.equal(a.basis, 'instance');
  a.release();
  b.release();
});

test('a process in another network namespace of this host does not get the id a live process holds', { skip: canUnshare ? false : 'SKIPPED LOUDLY: needs root and unshare --net' }, async () => {
  const group = uniqueName('txn-id-ns');
  const held = await claimTransactionalId(group);
  try {
    const node = [process.execPath, '--input-type=module', '-e', claimCode(group)];
    assert.equal(run(node[0]!, node.slice(1)), held.transactionalId.replace(/:0$/, ':1'), 'same namespace: the next slot');
    const other = run('unshare', ['--net', ...node]);
    assert.notEqual(other, held.transactionalId, `another namespace: another id (${other})`);
    assert.match(other, /:0$/);
  } finally {
    held.release();
  }
});

test('two containers with the same host name get different ids (regression: both claimed slot 0 of their own namespace and fenced each other)', { skip: canContainer ? false : 'SKIPPED LOUDLY: needs root and unshare --net --uts --pid --mount-proc' }, () => {
  const group = uniqueName('txn-id-ct');
  assert.notEqual(claimWithHostname(CONTAINER, group, 'worker'), claimWithHostname(CONTAINER, group, 'worker'));
});

test('group a-b on host c and group a on host b-c, in containers, get different ids (regression)', { skip: canContainer ? false : 'SKIPPED LOUDLY: needs root and unshare --net --uts --pid --mount-proc' }, () => {
  const base = uniqueName('txn-id-amb');
  assert.notEqual(claimWithHostname(CONTAINER, `${base}-a-b`, 'c'), claimWithHostname(CONTAINER, `${base}-a`, 'b-c'));
});

/** A named network namespace (`ip netns add`), deleted after the test. */
function namedNetns(t: TestContext): string {
  const ns = uniqueName('lagless-txn');
  run('ip', ['netns', 'add', ns]);
  t.after(() => spawnSync('ip', ['netns', 'delete', ns]));
  return ns;
}

test('two network namespaces with one host name get different ids; a restart in the same namespace gets the same id', { skip: canNamedNetns ? false : 'SKIPPED LOUDLY: needs root, ip netns and unshare --uts' }, (t) => {
  const group = uniqueName('txn-id-netns');
  const inNs = (ns: string) => claimWithHostname(['ip', 'netns', 'exec', ns, 'unshare', '--uts'], group, 'same-host');
  const [a, b] = [namedNetns(t), namedNetns(t)];
  const first = inNs(a);
  assert.match(first, /^lagless:txn-id-netns-[^:]+:same-host:[0-9a-f]{12}:0$/);
  assert.notEqual(inNs(b), first, 'another namespace, the same host name: another id');
  assert.equal(inNs(a), first, 'a restart in the same namespace: the same id');
});

test('with LAGLESS_INSTANCE_ID a restart in another network namespace with another host name gets the same id', { skip: canNamedNetns ? false : 'SKIPPED LOUDLY: needs root, ip netns and unshare --uts' }, (t) => {
  const group = uniqueName('txn-id-inst-ns');
  const env = { LAGLESS_INSTANCE_ID: 'lagless-palette-0' };
  const first = claimWithHostname(['ip', 'netns', 'exec', namedNetns(t), 'unshare', '--uts'], group, 'node-a', env);
  assert.equal(first, `lagless:${group}:lagless-palette-0:0`);
  assert.equal(claimWithHostname(['ip', 'netns', 'exec', namedNetns(t), 'unshare', '--uts'], group, 'node-b', env), first);
});
