// Scenario share-group: members of a share group (KIP-932, `lagless run --group-type share`), more of them than input partitions, under steady load: kill -9 and SIGTERM of members at seeded moments (each restarted at once), and kill -9 of the node leading the most input partitions with its restart.
import { killAndRestartNode, MAX_IN_FLIGHT, runPipelineScenario } from '../lib/pipeline.ts';
import type { FaultEvent, Scenario } from '../lib/scenario.ts';

const SLOTS = [1, 2, 3];
/**
 * Fewer input partitions than members: a share group's point. With more partitions than members the brokers give each
 * member partitions of its own (a killed member's partitions then wait for its session to expire, 10 s), not shares.
 */
const INPUT_PARTITIONS = 2;
type MemberFault = 'kill' | 'sigterm';

/**
 * The most outputs the events can make redone. A member holds at most --max-in-flight records (it takes no more while
 * it holds that many), and a record is done again only when its holder's acknowledgement never took effect:
 * - kill -9 of a member: its held records go back to the group (at once when its connections drop, else when their
 *   lock expires), some of them with outputs already written: at most --max-in-flight;
 * - SIGTERM: it finishes what it holds and accepts each record once its outputs are acknowledged; what the drain
 *   timeout cuts short is released, an output of it may already be written: at most --max-in-flight;
 * - kill -9 of a node: the records every member holds on the partitions it led, or whose acknowledgements it should have
 *   persisted as share coordinator, may be delivered again: at most members × --max-in-flight.
 */
export function shareDuplicateBound(events: readonly FaultEvent[], members: number): { bound: number; rule: string } {
  const nodeFaults = events.filter((e) => e.fault && e.target.startsWith('node ')).length;
  const memberFaults = events.filter((e) => e.fault).length - nodeFaults;
  return {
    bound: Math.max(1, memberFaults + nodeFaults * members) * MAX_IN_FLIGHT,
    rule: '(member kills and SIGTERMs + node kills × members) × --max-in-flight',
  };
}

export const shareGroup: Scenario = {
  name: 'share-group',
  title: 'a share group (KIP-932): kill -9 and SIGTERM of members, kill -9 of a node',
  description:
    'Three members in a share group (`--group-type share`: records are acquired and acknowledged one by one, so members may share a partition) on 2 input partitions under steady load; at seeded moments one member is killed with kill -9 or stopped with SIGTERM, and restarted at once; once mid-run the node leading the most input partitions is killed with kill -9 and restarted 5–15 s later. Catching up means the share backlog is back to 0.',
  defaults: { trials: 12, durationMs: 180_000 },
  slots: SLOTS.length,
  unsupported: (p) =>
    p.guarantee !== 'at-least-once'
      ? 'share groups are at-least-once only (each record is acknowledged on its own: there are no offsets a transaction could commit with the outputs); run it with --guarantee at-least-once'
      : p.groupProtocol !== 'classic'
        ? 'share groups have a protocol of their own (KIP-932): --group-protocol chooses the protocol of consumer groups and does not apply; run it without --group-protocol (its row belongs to the at-least-once, classic run of the report)'
        : undefined,
  run: (h, p, rng) =>
    runPipelineScenario(h, shareGroup, p, { slots: SLOTS, partitions: INPUT_PARTITIONS, rate: p.rate, groupType: 'share', duplicateBound: (events) => shareDuplicateBound(events, SLOTS.length) }, async (run) => {
      const { from, group } = run.names;
      // Two kills for each SIGTERM, in a seeded order; the node kill comes after a seeded one of the middle third.
      const faults: MemberFault[] = Array.from({ length: p.trials }, (_, i) => (i % 3 === 2 ? 'sigterm' : 'kill'));
      for (let i = faults.length - 1; i > 0; i -= 1) {
        const j = rng.int(0, i);
        [faults[i], faults[j]] = [faults[j]!, faults[i]!];
      }
      const nodeAfter = rng.int(Math.floor((p.trials - 1) / 3), Math.floor((2 * (p.trials - 1)) / 3));
      const spacing = p.durationMs / p.trials;
      const counts = { kill: 0, sigterm: 0, node: 0 };
      // A fault that took long (a graceful stop's drain, the node's restart) pushes the later ones back: they keep their
      // spacing instead of coming all at once.
      let shift = 0;
      for (const [i, fault] of faults.entries()) {
        await run.until(shift + spacing * (i + rng.between(0, 0.5)));
        const slot = rng.pick(SLOTS);
        const victim = run.member(slot);
        if (fault === 'kill') {
          run.event('kill -9', victim.name, { note: 'at a random moment; restarted at once' });
          await victim.kill();
          counts.kill += 1;
        } else {
          run.event('SIGTERM', victim.name, { note: 'graceful stop (drain, accept, release the rest); restarted once it exited' });
          const exit = await victim.stop();
          run.check(`member ${victim.name} stops cleanly on SIGTERM`, exit.code === 0 && !exit.timedOut, `code ${exit.code}, signal ${exit.signal}${exit.timedOut ? ', killed after 90 s' : ''}\n${victim.lastLines(10)}`);
          counts.sigterm += 1;
        }
        run.startMember(slot);
        if (i === nodeAfter) {
          await run.until(shift + spacing * (i + 0.75));
          const { node, partitions } = await h.client.busiestLeader(from);
          const coordinator = await h.client.coordinator('group', group).catch(() => undefined);
          await killAndRestartNode(run, node, {
            note: `leader of input partitions ${partitions.join(',')}${coordinator === node ? '; coordinator of the share group' : ''}`,
            check: `the input partitions led by node ${node} get new leaders`,
            downMs: rng.between(5000, 15_000),
          });
          counts.node += 1;
        }
        shift = Math.max(shift, run.elapsed() - spacing * (i + 1));
      }
      run.notes.push(
        `faults: ${counts.kill} kill -9 and ${counts.sigterm} SIGTERM of a member (each restarted at once), ${counts.node} kill -9 of a node; ` +
          `${SLOTS.length} members on ${INPUT_PARTITIONS} input partitions, ${MAX_IN_FLIGHT} records in flight each at most${shift > 0 ? `; the faults ran ${(shift / 1000).toFixed(0)} s longer than planned (drains and the node's restart)` : ''}`,
      );
      run.check('each kind of fault happened (kill -9 and SIGTERM of a member, kill -9 of a node)', p.trials < 3 || (counts.kill > 0 && counts.sigterm > 0 && counts.node > 0), JSON.stringify(counts));
      await run.until(shift + p.durationMs);
    }),
};
