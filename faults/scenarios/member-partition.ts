// Scenario member-partition: a member's network link is taken down for longer than the session timeout, then restored: its partitions move to the other member, and it rejoins.
import { setTimeout as sleep } from 'node:timers/promises';
import { PARTITIONS, runPipelineScenario, sessionTimeoutMs } from '../lib/pipeline.ts';
import type { Scenario } from '../lib/scenario.ts';

export const memberPartition: Scenario = {
  name: 'member-partition',
  title: 'a member cut off from the brokers (veth link down), then restored',
  description:
    'Two members, each in its own network namespace joined to the brokers by a veth pair; one member\'s link goes down for the session timeout (6 s; 10 s in a KIP-848 group) plus 4–8 s, and at least until the other member holds its partitions (packets vanish, no reset), then comes back up.',
  defaults: { trials: 3, durationMs: 120_000 },
  slots: 2,
  run: (h, p, rng) =>
    runPipelineScenario(h, memberPartition, p, { slots: [1, 2], rate: p.rate }, async (run) => {
      const window = p.durationMs / p.trials;
      for (let i = 0; i < p.trials; i += 1) {
        await run.until(window * (i + rng.between(0.1, 0.3)));
        const v = (i % 2) + 1;
        const victim = run.member(v);
        const other = run.member(3 - v);
        const downMs = sessionTimeoutMs(p) + rng.between(4000, 8000);
        const held = victim.partitions.join(',');
        run.event('link down', victim.name, { note: `held partitions ${held}; down ${(downMs / 1000).toFixed(1)} s` });
        const cutAt = Date.now();
        h.topology.setLink(victim.slot, false);
        // The link stays down until the partitions have moved (a loaded machine may take longer than downMs for the
        // coordinator to expire the session and for the other member's next heartbeat to bring them), at most 30 s more.
        const moved = await run.waitFor(`${other.name} to take every partition`, () => other.partitions.length === PARTITIONS, downMs + 30_000);
        run.check(`trial ${i + 1}: the partitions of the cut-off member move to ${other.name}`, moved, `${other.name} holds [${other.partitions.join(',')}]`);
        await sleep(Math.max(0, downMs - (Date.now() - cutAt)));
        const upAt = Date.now();
        run.event('link up', victim.name, { fault: false });
        h.topology.setLink(victim.slot, true);
        // Rejoined: the coordinator lists the member (its client id ends with its pid) with partitions again, the
        // process never exited, and it completes records again.
        const group = async () => (await h.client.group(run.names.group, run.names.from)).members;
        const owns = (m: typeof victim, members: Awaited<ReturnType<typeof group>>) => members.find((x) => x.clientId.endsWith(`-${m.pid}`))?.partitions ?? [];
        let seen = '';
        const rejoined = await run.waitFor(
          `${victim.name} to rejoin`,
          async () => {
            const members = await group();
            seen = members.map((m) => `${m.clientId} [${m.partitions}]`).join(', ');
            const mine = owns(victim, members);
            const theirs = owns(other, members);
            return mine.length > 0 && theirs.length > 0 && new Set([...mine, ...theirs]).size === PARTITIONS && victim.lastAckAt() > upAt;
          },
          120_000,
        );
        run.check(
          `trial ${i + 1}: ${victim.name} rejoins cleanly: back in the group with partitions, completing records, never restarted`,
          rejoined && victim.running,
          `${victim.running ? '' : 'it exited; '}group members: ${seen}; last acknowledgement ${victim.lastAckAt() > upAt ? 'after' : 'before'} the link came back`,
        );
        run.log(`${victim.name} rejoined: ${seen}`);
      }
      await run.until(p.durationMs);
    }),
};
