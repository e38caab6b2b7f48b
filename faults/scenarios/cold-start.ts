// Scenario cold-start: faults before any partition has a committed offset: partitions move between members, and come back to a member that fetched them before, with nothing committed yet.
import { setTimeout as sleep } from 'node:timers/promises';
import { loadUrl, PARTITIONS, runPipelineScenario, sessionTimeoutMs } from '../lib/pipeline.ts';
import type { Scenario } from '../lib/scenario.ts';

/** The first records of the load take this long (a slow image server, below the 15 s headers timeout): nothing can be committed before them. */
const SLOW_MS = 12_000;
/** How many of the first records are slow: the first SLOW_SECONDS of load. */
const SLOW_SECONDS = 8;

export const coldStart: Scenario = {
  name: 'cold-start',
  title: 'faults before any partition has a committed offset',
  description:
    `Two members join a new group (\`--drain-timeout 1s\`) and the load starts with records that take ${SLOW_MS / 1000} s each, so no partition has a committed offset when the faults begin: the second member leaves gracefully and comes back (partitions move with nothing committed, and some come back to the member that fetched them first), then it is killed with kill -9 (its partitions go back to the first member after the session timeout) and restarted, then the first member is killed and restarted; the load goes on.`,
  defaults: { trials: 3, durationMs: 90_000 },
  slots: 2,
  run: (h, p, rng) =>
    runPipelineScenario(
      h,
      coldStart,
      p,
      {
        slots: [1, 2],
        rate: p.rate,
        warm: false,
        memberArgs: ['--drain-timeout', '1s'],
        value: (id, n) => JSON.stringify({ id, url: n < p.rate * SLOW_SECONDS ? `${h.images.url}/slow/${SLOW_MS}/${h.images.images[n % h.images.images.length]}` : loadUrl(h.images, id, n) }),
      },
      async (run) => {
        const { group, from } = run.names;
        // Nothing done and committed yet: no committed offset, or (at-least-once) the log start of the new topic, which a
        // member commits when it releases a partition that has none.
        const uncommitted = async () => (await h.client.committed(group, from, PARTITIONS)).every((c) => c <= 0n);
        await run.until(rng.between(500, 1500));
        run.check('the first fault comes before any record is committed', await uncommitted());
        // 1. m2 leaves gracefully (its partitions go to m1) and comes back (m1 gives some back): nothing is committed.
        const m2 = run.member(2);
        run.event('graceful restart', m2.name, { note: 'partitions move with no committed offset, and come back' });
        await m2.stop();
        const back = run.startMember(2);
        await run.waitFor(`${back.name} to get partitions`, () => back.partitions.length > 0, 60_000);
        // 2. m2 killed: its partitions, fetched by m1 before, go back to m1 after the session timeout.
        if (p.trials >= 2) {
          await sleep(rng.between(500, 1500));
          const none = await uncommitted();
          const victim = run.member(2);
          run.event('kill -9', victim.name, { note: `holding ${victim.partitions.join(',')}; ${none ? 'no record committed yet' : 'some records committed'}` });
          await victim.kill();
          const m1 = run.member(1);
          await run.waitFor(`${m1.name} to take every partition`, () => m1.partitions.length === PARTITIONS, sessionTimeoutMs(p) + 30_000);
          run.startMember(2);
        }
        // 3. m1 killed while the slow records are still running.
        if (p.trials >= 3) {
          await sleep(rng.between(500, 1500));
          const victim = run.member(1);
          run.event('kill -9', victim.name, { note: `holding ${victim.partitions.join(',')}` });
          await victim.kill();
          run.startMember(1);
        }
        await run.until(p.durationMs);
      },
    ),
};
