// Every scenario of the fault runner, in the order a full run takes them.
import type { Scenario } from '../lib/scenario.ts';
import { brokerPause } from './broker-pause.ts';
import { coldStart } from './cold-start.ts';
import { coordinatorFaults } from './coordinator-faults.ts';
import { hostileJob } from './hostile-job.ts';
import { fuzzImages, fuzzRecords } from './fuzz.ts';
import { leaderKill } from './leader-kill.ts';
import { memberKill } from './member-kill.ts';
import { memberPartition } from './member-partition.ts';
import { shareGroup } from './share-group.ts';

export const SCENARIOS: readonly Scenario[] = [leaderKill, memberKill, memberPartition, brokerPause, coordinatorFaults, coldStart, hostileJob, fuzzRecords, fuzzImages, shareGroup];

export function findScenario(name: string): Scenario | undefined {
  return SCENARIOS.find((s) => s.name === name);
}
