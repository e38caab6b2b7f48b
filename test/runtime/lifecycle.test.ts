// The transformer's lifecycle without a broker: which states follow which, and what each lets the member do.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Lifecycle, LifecycleStates, type LifecycleState } from '../../src/runtime/lifecycle.ts';

const at = (...path: LifecycleState[]) => {
  const l = new Lifecycle();
  for (const s of path) assert.ok(l.to(s), `${l.state} -> ${s}`);
  return l;
};

test('a graceful stop goes draining, committing, closed; destroy may come at any point and ends everything', () => {
  const l = at('starting', 'running');
  assert.ok(l.accepting && !l.closing && !l.finalCommit);
  l.to('draining');
  assert.ok(!l.accepting && l.closing && !l.finalCommit);
  l.to('committing');
  assert.ok(l.finalCommit);
  l.to('closed');
  assert.ok(l.to('destroyed') && l.destroyed && !l.accepting);
  for (const s of LifecycleStates) assert.equal(l.to(s), false, `nothing follows destroyed (${s})`);
});

test('no state is entered twice and no step is skipped backwards', () => {
  assert.equal(at('starting', 'running').to('starting'), false, 'started twice');
  assert.equal(at('starting', 'running', 'draining').to('running'), false, 'a closing member does not run again');
  assert.equal(at('starting', 'running', 'draining').to('draining'), false, 'close runs once');
  assert.equal(new Lifecycle().to('committing'), false, 'the final commit follows the drain');
  // A close during the start (a signal while joining) is allowed; the start's own move to running is then refused.
  const l = at('starting', 'draining');
  assert.equal(l.to('running'), false);
  assert.equal(l.state, 'draining');
});
