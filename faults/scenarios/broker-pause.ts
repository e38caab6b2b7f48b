// Scenario broker-pause: the node leading the most input partitions is frozen with SIGSTOP for longer than the clients' request timeout (30 s), then resumed.
import { setTimeout as sleep } from 'node:timers/promises';
import { runPipelineScenario } from '../lib/pipeline.ts';
import type { Scenario } from '../lib/scenario.ts';

/** The Kafka clients of `lagless run` time requests out after 30 s (src/kafka/client.ts). */
const REQUEST_TIMEOUT_MS = 30_000;
/**
 * The least time between a node back in sync and the next pause: each pause is a fault of its own (with short
 * durations, trials would otherwise follow each other at once and freeze a node for most of the run).
 */
const SETTLE_MS = 15_000;

export const brokerPause: Scenario = {
  name: 'broker-pause',
  title: 'a broker paused (SIGSTOP) past the request timeout, then resumed',
  description:
    'Two members under steady load; the node leading the most input partitions is frozen with SIGSTOP (its connections stay open, nothing answers) for 35–40 s, longer than the 30 s request timeout, then resumed with SIGCONT; the next pause comes at least 15 s after every replica is back in sync.',
  defaults: { trials: 2, durationMs: 150_000 },
  slots: 2,
  run: (h, p, rng) =>
    runPipelineScenario(h, brokerPause, p, { slots: [1, 2], rate: p.rate }, async (run) => {
      const { from, to, dlq } = run.names;
      const window = p.durationMs / p.trials;
      let settled = 0;
      for (let i = 0; i < p.trials; i += 1) {
        await run.until(Math.max(window * (i + rng.between(0.05, 0.2)), settled));
        const { node, partitions } = await h.client.busiestLeader(from);
        const pauseMs = REQUEST_TIMEOUT_MS + rng.between(5000, 10_000);
        run.event('SIGSTOP', `node ${node}`, { note: `leader of input partitions ${partitions.join(',')}, for ${(pauseMs / 1000).toFixed(1)} s` });
        const pausedAt = Date.now();
        await h.signalNode(node, 'pause');
        const moved = await run.waitFor(`new leaders while node ${node} is frozen`, async () => (await h.client.partitions([from])).every((x) => x.leader >= 0 && x.leader !== node), pauseMs - 1000);
        run.check(`trial ${i + 1}: while node ${node} is frozen its input partitions get new leaders`, moved);
        await sleep(Math.max(0, pauseMs - (Date.now() - pausedAt)));
        run.event('SIGCONT', `node ${node}`, { fault: false });
        const resumedAt = Date.now();
        await h.signalNode(node, 'resume');
        await h.client.waitInSync([from, to, dlq], 180_000);
        run.log(`node ${node} back in sync after ${((Date.now() - resumedAt) / 1000).toFixed(1)} s`);
        settled = run.elapsed() + SETTLE_MS;
      }
      await run.until(p.durationMs);
    }),
};
