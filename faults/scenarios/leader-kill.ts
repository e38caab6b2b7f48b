// Scenario leader-kill: kill -9 of the broker that leads the most input partitions, mid-run; its partitions get new leaders; later it restarts and catches up.
import { killAndRestartNode, runPipelineScenario } from '../lib/pipeline.ts';
import type { Scenario } from '../lib/scenario.ts';

export const leaderKill: Scenario = {
  name: 'leader-kill',
  title: 'kill -9 of the input partitions\' leader, then its restart',
  description:
    'Two members under steady load; at seeded moments the node leading the most input partitions is killed with kill -9, stays down 5–15 s, is restarted, and the run goes on once every replica is back in sync.',
  defaults: { trials: 3, durationMs: 120_000 },
  slots: 2,
  run: (h, p, rng) =>
    runPipelineScenario(h, leaderKill, p, { slots: [1, 2], rate: p.rate }, async (run) => {
      const { from } = run.names;
      const window = p.durationMs / p.trials;
      for (let i = 0; i < p.trials; i += 1) {
        await run.until(window * (i + rng.between(0.1, 0.4)));
        const { node, partitions } = await h.client.busiestLeader(from);
        await killAndRestartNode(run, node, { note: `leader of input partitions ${partitions.join(',')}`, check: `trial ${i + 1}: the input partitions led by node ${node} get new leaders`, downMs: rng.between(5000, 15_000) });
      }
      await run.until(p.durationMs);
    }),
};
