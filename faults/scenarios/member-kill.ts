// Scenario member-kill: kill -9 of a member at seeded moments: at random, in the middle of a commit, and in the middle of a rebalance (JoinGroup or SyncGroup); each killed member is restarted at once.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Member } from '../lib/member.ts';
import { runPipelineScenario, type PipelineRun } from '../lib/pipeline.ts';
import type { Scenario } from '../lib/scenario.ts';

type Moment = 'random' | 'commit' | 'rebalance';

/** Waits for a member's own kill (ordered through inject.ts); kills it after `timeoutMs` if the moment never came. */
async function awaitSelfKill(run: PipelineRun, m: Member, what: string, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const exit = await Promise.race([m.exited, new Promise<undefined>((r) => (timer = setTimeout(() => r(undefined), timeoutMs)))]);
  clearTimeout(timer);
  if (!exit) {
    run.check(`${m.name} dies during ${what}`, false, `no ${what} within ${timeoutMs} ms; killed instead`);
    run.event('kill -9', m.name, { note: `fallback: no ${what} came` });
    await m.kill();
    return false;
  }
  const line = m.selfKills.at(-1);
  run.check(`${m.name} dies during ${what}`, exit.signal === 'SIGKILL' && line !== undefined, line ?? `exit ${exit.code}/${exit.signal}`);
  run.event('kill -9', m.name, { at: exit.at, note: line?.replace('fault-inject: SIGKILL ', '') ?? what });
  return true;
}

export const memberKill: Scenario = {
  name: 'member-kill',
  title: 'kill -9 of a member at seeded moments (random, mid-commit, mid-rebalance)',
  description:
    'Two members under steady load; at each seeded moment one of them is killed with kill -9 and restarted at once: at a random instant, right after it sent an offset commit, or inside a rebalance started by the other member leaving (right after its JoinGroup or SyncGroup request in a classic group, right after the heartbeat answer that brings its new assignment in a KIP-848 group).',
  defaults: { trials: 24, durationMs: 240_000 },
  slots: 2,
  run: (h, p, rng) =>
    runPipelineScenario(h, memberKill, p, { slots: [1, 2], rate: p.rate }, async (run) => {
      // Every kind of moment, in a seeded order: random, commit, rebalance in turn, shuffled.
      const moments: Moment[] = Array.from({ length: p.trials }, (_, i) => (['random', 'commit', 'rebalance'] as const)[i % 3]!);
      for (let i = moments.length - 1; i > 0; i -= 1) {
        const j = rng.int(0, i);
        [moments[i], moments[j]] = [moments[j]!, moments[i]!];
      }
      const spacing = p.durationMs / p.trials;
      const counts: Record<Moment, number> = { random: 0, commit: 0, rebalance: 0 };
      for (const [i, moment] of moments.entries()) {
        await run.until(spacing * (i + rng.between(0, 0.6)));
        const slot = rng.int(1, 2);
        const victim = run.member(slot);
        if (moment === 'random') {
          run.event('kill -9', victim.name, { note: 'at a random moment' });
          await victim.kill();
          counts.random += 1;
        } else {
          // Orders go to a member that runs the injector and owns partitions (it commits, it is in the group).
          const ready = await run.waitFor(`${victim.name} to own partitions`, () => victim.partitions.length > 0 && Date.now() - victim.startedAt > 1000, 60_000);
          if (!ready) run.check(`${victim.name} owns partitions before its ${moment} kill`, false);
          if (moment === 'commit') {
            victim.order({ at: 'commit', delayMs: rng.int(0, 2) });
            if (await awaitSelfKill(run, victim, 'a commit', 30_000)) counts.commit += 1;
          } else {
            // Classic groups rebalance through JoinGroup and SyncGroup; KIP-848 groups through heartbeat answers.
            const at = p.groupProtocol === 'consumer' ? ('assignment' as const) : rng.next() < 0.5 ? ('join' as const) : ('sync' as const);
            victim.order({ at, delayMs: rng.int(0, 3) });
            // The other member leaves gracefully and comes back: the group rebalances, the victim rejoins and dies in it.
            const other = run.member(3 - slot);
            run.event('graceful restart', other.name, { fault: false, note: 'its leave starts a rebalance' });
            await other.stop();
            run.startMember(3 - slot);
            if (await awaitSelfKill(run, victim, 'a rebalance', 60_000)) counts.rebalance += 1;
          }
        }
        run.startMember(slot);
        await sleep(rng.between(0, 500));
      }
      const commitKills = run.all.flatMap((m) => m.selfKills).filter((l) => l.includes('a commit'));
      run.notes.push(
        `kills: ${counts.random} at random moments, ${counts.commit} during a commit (${commitKills.filter((l) => l.includes('unanswered')).length} before the broker's answer arrived), ` +
          `${counts.rebalance} during a rebalance`,
      );
      run.check('at least one kill of each kind (random, commit, rebalance)', p.trials < 3 || (counts.random > 0 && counts.commit > 0 && counts.rebalance > 0), JSON.stringify(counts));
      await run.until(p.durationMs);
    }),
};
