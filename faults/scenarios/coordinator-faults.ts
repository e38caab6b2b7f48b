// Scenario coordinator-faults: kill -9 and SIGSTOP aimed at the group coordinator and at the members' transaction coordinator, not at partition leaders.
import { setTimeout as sleep } from 'node:timers/promises';
import { runPipelineScenario } from '../lib/pipeline.ts';
import type { Scenario } from '../lib/scenario.ts';

/** The Kafka clients of `lagless run` time requests out after 30 s (src/kafka/client.ts): a pause must outlast it. */
const REQUEST_TIMEOUT_MS = 30_000;

type Target = 'group' | 'transaction';
type Action = 'kill' | 'pause';

export const coordinatorFaults: Scenario = {
  name: 'coordinator-faults',
  title: 'kill -9 and SIGSTOP of the group coordinator and of the transaction coordinator',
  description:
    'Two members under steady load; in turn, the node that coordinates the group is killed with kill -9 (restarted 5–15 s after its role moved to another node), the node that coordinates a member\'s transactional id is killed, the group coordinator is frozen with SIGSTOP past the 30 s request timeout, and the transaction coordinator is frozen; each time the run goes on once every replica is back in sync. At-least-once members have no transaction coordinator: those trials aim at the group coordinator.',
  defaults: { trials: 4, durationMs: 240_000 },
  slots: 2,
  run: (h, p, rng) =>
    runPipelineScenario(h, coordinatorFaults, p, { slots: [1, 2], rate: p.rate }, async (run) => {
      const { from, to, dlq, group } = run.names;
      const plan: [Target, Action][] = [['group', 'kill'], ['transaction', 'kill'], ['group', 'pause'], ['transaction', 'pause']];
      const window = p.durationMs / Math.max(1, p.trials);
      const internal = ['__consumer_offsets', ...(p.guarantee === 'exactly-once' ? ['__transaction_state'] : [])];
      for (let i = 0; i < p.trials; i += 1) {
        await run.until(window * (i + rng.between(0.1, 0.3)));
        const [wanted, action] = plan[i % plan.length]!;
        const member = run.member(rng.int(1, 2));
        const txnId = member.transactionalId;
        const target: Target = wanted === 'transaction' && p.guarantee === 'exactly-once' && txnId ? 'transaction' : 'group';
        const node = await h.client.coordinator(target, target === 'group' ? group : txnId!);
        const what = target === 'group' ? `coordinator of group ${group}` : `transaction coordinator of ${member.name} (${txnId})`;
        // A killed node stays down until its coordinator role has moved (the controller notices it after its broker
        // session, about 9 s), then 5–15 s more; a frozen one stays frozen past the request timeout.
        const extraMs = action === 'kill' ? rng.between(5000, 15_000) : REQUEST_TIMEOUT_MS + rng.between(5000, 10_000);
        run.event(action === 'kill' ? 'kill -9' : 'SIGSTOP', `node ${node}`, { note: `${what}; ${action === 'kill' ? `down until it moves and ${(extraMs / 1000).toFixed(1)} s more` : `frozen ${(extraMs / 1000).toFixed(1)} s`}` });
        const started = Date.now();
        await h.signalNode(node, action);
        const moved = await run.waitFor(
          `a new ${target} coordinator while node ${node} is ${action === 'kill' ? 'down' : 'frozen'}`,
          async () => (await h.client.coordinator(target, target === 'group' ? group : txnId!, node)) !== node,
          action === 'kill' ? 60_000 : extraMs - 1000,
        );
        run.check(`trial ${i + 1}: the ${target} coordinator moves off node ${node}`, moved);
        await sleep(action === 'kill' ? extraMs : Math.max(0, extraMs - (Date.now() - started)));
        run.event(action === 'kill' ? 'restart' : 'SIGCONT', `node ${node}`, { fault: false });
        if (action === 'kill') await h.restartNode(node);
        else await h.signalNode(node, 'resume');
        await h.client.waitInSync([from, to, dlq], 180_000);
        run.log(`node ${node} back in sync after ${((Date.now() - started) / 1000).toFixed(1)} s (internal topics: ${internal.join(', ')})`);
      }
      await run.until(p.durationMs);
    }),
};
