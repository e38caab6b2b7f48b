// What a fault scenario is and what it reports: parameters (seed, duration, trials, delivery guarantee) in, the full accounting and named checks out.
import type { Harness } from './harness.ts';
import type { Rng } from './rng.ts';
import type { Stall } from './accounting.ts';

/** The delivery guarantee the members run with (`lagless run --guarantee`). exactly-once also reads the outputs read_committed and expects 0 duplicates. */
export type Guarantee = 'at-least-once' | 'exactly-once';

/** The group protocol the members run with (`lagless run --group-protocol`): classic groups, or KIP-848 consumer groups. */
export type GroupProtocol = 'classic' | 'consumer';
export const GROUP_PROTOCOLS: readonly GroupProtocol[] = ['classic', 'consumer'];

/** A scenario whose members run in a share group (`lagless run --group-type share`, KIP-932) instead of a consumer group. */
export type GroupType = 'share';

export interface ScenarioParams {
  seed: number;
  /** Steady-load time; the trials are spread over it (a scenario runs longer when its trials need it). */
  durationMs: number;
  trials: number;
  guarantee: Guarantee;
  groupProtocol: GroupProtocol;
  /** Steady load, records per second over all partitions. */
  rate: number;
}

export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

export interface FaultEvent {
  /** ms since the scenario's load started. */
  atMs: number;
  action: string;
  target: string;
  /** A fault (kill, pause, cut); false for a repair (restart, resume, link up). */
  fault: boolean;
  /** Until every record that arrived before it was done (ms). */
  recoveryMs?: number;
  note?: string;
}

export interface ScenarioResult {
  scenario: string;
  title: string;
  seed: number;
  guarantee: Guarantee;
  /** Absent in results from before the option existed: classic. */
  groupProtocol?: GroupProtocol;
  /** Set when the members ran in a share group (the group protocol then does not apply to them). */
  groupType?: GroupType;
  trials: number;
  /** Wall time of the scenario, load start to accounting (ms). */
  elapsedMs: number;
  records: number;
  inputDuplicates: number;
  outputs: number;
  deadLetters: number;
  lost: number;
  duplicates: number;
  codes: Record<string, number>;
  longestStall: Stall;
  /** Over the faults (not the repairs): until every record that arrived before the fault was done. */
  recovery: { maxMs: number; medianMs: number };
  events: FaultEvent[];
  checks: Check[];
  passed: boolean;
  /** Set when the scenario could not finish (the checks then say what was seen). */
  error?: string;
  notes: string[];
}

export interface Scenario {
  name: string;
  title: string;
  /** One sentence for the report. */
  description: string;
  defaults: { trials: number; durationMs: number };
  /** Member slots (namespaces) it needs. */
  slots: number;
  /**
   * Why the scenario cannot run with this guarantee and group protocol (undefined: it can). A run that chose it by
   * name is refused with this reason; a run of every scenario leaves it out and says so.
   */
  unsupported?(p: Pick<ScenarioParams, 'guarantee' | 'groupProtocol'>): string | undefined;
  run(h: Harness, p: ScenarioParams, rng: Rng): Promise<ScenarioResult>;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return 0;
  const s = [...values].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}
