// Runs chosen scenarios one after the other on one harness (cluster, namespaces, image server) and gathers their results.
import { Harness } from './harness.ts';
import type { RunResults } from './report.ts';
import { createRng } from './rng.ts';
import type { Guarantee, GroupProtocol, ScenarioParams, ScenarioResult } from './scenario.ts';
import { findScenario } from '../scenarios/index.ts';

export interface RunFaultsOptions {
  seed: number;
  scenarios: string[];
  /** Overrides every scenario's default. */
  durationMs?: number;
  trials?: number;
  /** Per-scenario overrides (the short subset of `npm test`). */
  perScenario?: Record<string, Partial<Pick<ScenarioParams, 'trials' | 'durationMs'>>>;
  guarantee: Guarantee;
  groupProtocol: GroupProtocol;
  /** Steady load of the fault scenarios, records per second. */
  rate: number;
  heap: string;
  workDir: string;
  log: (line: string) => void;
  command: string;
}

export async function runFaults(o: RunFaultsOptions): Promise<RunResults> {
  const chosen = o.scenarios.map((n) => {
    const s = findScenario(n);
    if (!s) throw new Error(`no scenario "${n}"`);
    const why = s.unsupported?.({ guarantee: o.guarantee, groupProtocol: o.groupProtocol });
    if (why) throw new Error(`scenario ${n} cannot run with --guarantee ${o.guarantee} --group-protocol ${o.groupProtocol}: ${why}`);
    return s;
  });
  const started = Date.now();
  const rng = createRng(o.seed);
  const h = await Harness.start({ workDir: o.workDir, slots: Math.max(...chosen.map((s) => s.slots)), heap: o.heap, log: o.log });
  const scenarios: ScenarioResult[] = [];
  let rssAfterBytes: number[] = [];
  try {
    for (const s of chosen) {
      const params: ScenarioParams = {
        seed: o.seed,
        durationMs: o.perScenario?.[s.name]?.durationMs ?? o.durationMs ?? s.defaults.durationMs,
        trials: o.perScenario?.[s.name]?.trials ?? o.trials ?? s.defaults.trials,
        guarantee: o.guarantee,
        groupProtocol: o.groupProtocol,
        rate: o.rate,
      };
      o.log(`scenario ${s.name} (${o.guarantee}, ${o.groupProtocol} groups): ${s.title} (${params.trials} trials${params.durationMs ? `, ${Math.round(params.durationMs / 1000)} s of load` : ''})`);
      const result = await s.run(h, params, rng.fork(s.name));
      scenarios.push(result);
    }
  } finally {
    rssAfterBytes = await h.nodeMemory().catch(() => []);
    await h.close();
  }
  return {
    command: o.command,
    seed: o.seed,
    startedAt: new Date(started).toISOString(),
    elapsedMs: Date.now() - started,
    machine: { cpus: 0, loadBefore: [], node: process.version },
    rate: o.rate,
    cluster: { nodes: 3, kafka: h.kafkaVersion, heap: o.heap, startMs: h.startup.startMs, rssBytes: h.startup.rssBytes, rssAfterBytes },
    scenarios,
  };
}
