// Scenario leader-kill: kill -9 of the broker that leads the most input partitions, mid-run; its partitions get new leaders; later it restarts and catches up.
import { setTimeout as sleep } from 'node:timers/promises';
import { runPipelineScenario } from '../lib/pipeline.ts';
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
      const { from, to, dlq } = run.names;
      const window = p.durationMs / p.trials;
      for (let i = 0; i < p.trials; i += 1) {
        await run.until(window * (i + rng.between(0.1, 0.4)));
        const { node, partitions } = await h.client.busiestLeader(from);
        run.event('kill -9', `node ${node}`, { note: `leader of input partitions ${partitions.join(',')}` });
        await h.signalNode(node, 'kill');
        const moved = await run.waitFor(`new leaders for the partitions of node ${node}`, async () => (await h.client.partitions([from])).every((x) => x.leader >= 0 && x.leader !== node), 60_000);
        run.check(`trial ${i + 1}: the input partitions led by node ${node} get new leaders`, moved);
        await sleep(rng.between(5000, 15_000));
        run.event('restart', `node ${node}`, { fault: false });
        const restartedAt = Date.now();
        await h.restartNode(node);
        run.log(`node ${node} answers again after ${((Date.now() - restartedAt) / 1000).toFixed(1)} s`);
        await h.client.waitInSync([from, to, dlq], 180_000);
        run.log(`node ${node} back in sync after ${((Date.now() - restartedAt) / 1000).toFixed(1)} s`);
      }
      await run.until(p.durationMs);
    }),
};
