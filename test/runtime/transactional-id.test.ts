// Transactional ids: stable per host and group, one slot per live process, and different for processes in different network namespaces of one host (abstract Unix sockets, which hold the slots, are per namespace: the fault runner's members, each in a namespace of its own, all got slot 0 and one id, and fenced each other's transactions).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { claimTransactionalId } from '../../src/runtime/transactional-id.ts';
import { uniqueName } from '../helpers/kafka.ts';

const MODULE = fileURLToPath(new URL('../../src/runtime/transactional-id.ts', import.meta.url));

/** The id a new process claims for `group`, in a new network namespace (`unshare --net`) or in this one. */
function claimInChild(group: string, newNamespace: boolean): string {
  const code = `const { claimTransactionalId } = await import(${JSON.stringify(MODULE)}); process.stdout.write((await claimTransactionalId(${JSON.stringify(group)})).transactionalId);`;
  const node = [process.execPath, '--input-type=module', '-e', code];
  const r = newNamespace ? spawnSync('unshare', ['--net', ...node], { encoding: 'utf8' }) : spawnSync(node[0]!, node.slice(1), { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout;
}

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

const canUnshare = process.getuid?.() === 0 && spawnSync('unshare', ['--net', 'true']).status === 0;

test('a process in another network namespace of this host does not get the id a live process holds', { skip: canUnshare ? false : 'SKIPPED LOUDLY: needs root and unshare --net' }, async () => {
  const group = uniqueName('txn-id-ns');
  const held = await claimTransactionalId(group);
  try {
    assert.equal(claimInChild(group, false), `${held.transactionalId.replace(/-0$/, '')}-1`, 'same namespace: the next slot');
    const other = claimInChild(group, true);
    assert.notEqual(other, held.transactionalId, `another namespace: another id (${other})`);
    assert.match(other, /-net\d+-0$/);
  } finally {
    held.release();
  }
});
