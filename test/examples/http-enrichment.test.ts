// examples/http-enrichment end to end with `lagless run` against a real local JSON API: enriched records, 5xx retried until it works, a 404 dead-lettered with the job's own code after one attempt.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startServer } from '../helpers/http.ts';
import { eventually } from '../helpers/eventually.ts';
import { consumeAll, createTopic, groupLag, produce, uniqueName } from '../helpers/kafka.ts';
import { runCli } from '../helpers/cli.ts';
import { exitedReason, startLagless, stopLagless } from '../helpers/lagless-process.ts';

test('http-enrichment: users come from the API; a 503 is retried, a 404 is UNKNOWN_USER', async (t) => {
  const users: Record<string, { name: string; plan: string }> = { u1: { name: 'Ada', plan: 'pro' }, u2: { name: 'Bob', plan: 'free' }, u3: { name: 'Cy', plan: 'team' } };
  const calls = new Map<string, number>();
  const api = await startServer(t, (req, res) => {
    const id = decodeURIComponent(/^\/users\/(.+)$/.exec(req.url ?? '')?.[1] ?? '');
    const n = (calls.get(id) ?? 0) + 1;
    calls.set(id, n);
    // u2's first two calls fail as an overloaded API would.
    if (id === 'u2' && n <= 2) {
      res.writeHead(503, { 'retry-after': '0' }).end('busy');
      return;
    }
    const user = users[id];
    if (!user) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"no such user"}');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ id, ...user }));
  });
  const from = await createTopic(t, uniqueName('signups'), 2);
  const to = await createTopic(t, uniqueName('signups-enriched'), 2);
  const dlq = await createTopic(t, uniqueName('signups-dlq'), 2);
  const group = uniqueName('signups-group');
  const signups = ['u1', 'u2', 'u3', 'ghost'].map((userId, i) => ({ key: `s${i}`, value: JSON.stringify({ id: `s${i}`, userId }) }));
  await produce(from, signups);
  const run = startLagless(t, ['run', 'examples/http-enrichment/job.ts', '--from', from, '--to', to, '--dlq', dlq, '--group', group, '--retry-base', '50ms', '--attempts', '4', '--status-every', '0'], {
    env: { USERS_API: api.origin },
  });
  const out = await consumeAll(to, { count: 3, timeoutMs: 90_000, headers: true });
  const dead = await consumeAll(dlq, { count: 1 });
  await eventually(async () => (await groupLag(from, 2, group)).lag === 0n, { what: 'every signup committed', timeout: 30_000, failIf: exitedReason(run) });
  const stopped = await stopLagless(run);
  assert.equal(stopped.code, 0, stopped.stderr);

  const enriched = new Map(out.map((o) => [o.key, JSON.parse(o.value) as { id: string; userId: string; user: { name: string; plan: string } }]));
  assert.deepEqual([...enriched.keys()].sort(), ['s0', 's1', 's2']);
  assert.deepEqual(enriched.get('s0')?.user, { id: 'u1', name: 'Ada', plan: 'pro' });
  assert.deepEqual(enriched.get('s1')?.user, { id: 'u2', name: 'Bob', plan: 'free' }, 'the 503s were retried until the API answered');
  assert.equal(out[0]?.headers?.['content-type'], 'application/json');
  assert.equal(calls.get('u2'), 3, 'two 503s, then the answer');
  const letter = JSON.parse(dead[0]!.value) as { id: string; userId: string; error: { code: string }; attempts: number };
  assert.equal(dead[0]!.key, 's3');
  assert.deepEqual([letter.id, letter.userId, letter.error.code, letter.attempts], ['s3', 'ghost', 'UNKNOWN_USER', 1], 'a 404 is not retried');
  assert.equal(calls.get('ghost'), 1);
});

test('http-enrichment without USERS_API: the job\'s setup says what to set; exit 2', async (t) => {
  const from = await createTopic(t, uniqueName('signups'), 1);
  const res = await runCli(['run', 'examples/http-enrichment/job.ts', '--from', from, '--to', `${from}.out`, '--group', uniqueName('signups-group'), '--status-every', '0'], { env: { USERS_API: '' } });
  assert.equal(res.code, 2, res.stderr);
  assert.match(res.stderr, /set USERS_API/);
});
