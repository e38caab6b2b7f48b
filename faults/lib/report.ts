// docs/reliability.md, rendered from fault runs' results (docs/reliability.json: the last run of each delivery guarantee and group protocol, merged): the table per scenario, then each scenario's faults, checks and codes.
import { GROUP_PROTOCOLS, type Guarantee, type GroupProtocol, type ScenarioResult } from './scenario.ts';

export interface RunResults {
  /** The command that produced the results, as typed. */
  command: string;
  seed: number;
  startedAt: string;
  elapsedMs: number;
  /** Steady load of the fault scenarios, records per second. */
  rate: number;
  machine: { cpus: number; loadBefore: number[]; node: string };
  cluster: { nodes: number; kafka: string; heap: string; startMs: number; rssBytes: number[]; rssAfterBytes: number[] };
  scenarios: ScenarioResult[];
  /**
   * Later runs of some of the scenarios only (`--scenarios a,b --report`), merged into this run: their results replaced
   * those scenarios' (or were added), and each keeps its own command, seed and machine here.
   */
  parts?: RunPart[];
}

/** A run of some scenarios merged into the run of its combination: what it was, and which scenarios' results it gave. */
export type RunPart = Omit<RunResults, 'scenarios' | 'parts'> & { scenarios: string[] };

/** What docs/reliability.json holds: one run per delivery guarantee and group protocol (at-least-once classic first). */
export interface Report {
  runs: RunResults[];
}

const GUARANTEES: readonly Guarantee[] = ['at-least-once', 'exactly-once'];

/** The guarantee a run's members ran with (every scenario of a run has the same). */
export function runGuarantee(r: RunResults): Guarantee {
  return r.scenarios[0]?.guarantee ?? 'at-least-once';
}

/** The group protocol a run's members ran with (classic for runs from before the option). */
export function runProtocol(r: RunResults): GroupProtocol {
  return r.scenarios[0]?.groupProtocol ?? 'classic';
}

const protocolOf = (s: ScenarioResult): GroupProtocol => s.groupProtocol ?? 'classic';
/** How the report names a group protocol. */
const groupsName = (p: GroupProtocol) => (p === 'classic' ? 'classic' : 'consumer (KIP-848)');
/** The groups a scenario's members ran in: a share group, or consumer groups of the run's protocol. */
const scenarioGroups = (s: ScenarioResult) => (s.groupType === 'share' ? 'share (KIP-932)' : groupsName(protocolOf(s)));

/** "exactly-once, consumer groups": a run's combination, for logs. */
export function runLabel(r: RunResults): string {
  return `${runGuarantee(r)}, ${runProtocol(r)} groups`;
}

const order = (r: RunResults) => GUARANTEES.indexOf(runGuarantee(r)) * GROUP_PROTOCOLS.length + GROUP_PROTOCOLS.indexOf(runProtocol(r));

/**
 * The report with `run` in it: it replaces the earlier run of the same guarantee and group protocol; the runs of the
 * other combinations are kept. A run of only some of that run's scenarios replaces those (and adds the new ones) and
 * keeps the others, as a part of the run. `previous` may be an older docs/reliability.json that held a single run.
 */
export function mergeRun(previous: Report | RunResults | undefined, run: RunResults): Report {
  const earlier = previous === undefined ? [] : 'runs' in previous ? previous.runs : [previous];
  const same = (r: RunResults) => runGuarantee(r) === runGuarantee(run) && runProtocol(r) === runProtocol(run);
  const base = earlier.find(same);
  const names = new Set(run.scenarios.map((s) => s.scenario));
  let merged: RunResults = run;
  if (base && base.scenarios.some((s) => !names.has(s.scenario))) {
    const { scenarios, parts: _, ...meta } = run;
    const kept = base.scenarios.map((s) => scenarios.find((x) => x.scenario === s.scenario) ?? s);
    const added = scenarios.filter((s) => !base.scenarios.some((b) => b.scenario === s.scenario));
    const parts = (base.parts ?? []).map((p) => ({ ...p, scenarios: p.scenarios.filter((n) => !names.has(n)) })).filter((p) => p.scenarios.length > 0);
    merged = { ...base, scenarios: [...kept, ...added], parts: [...parts, { ...meta, scenarios: [...names] }] };
  }
  const runs = [...earlier.filter((r) => !same(r)), merged];
  runs.sort((a, b) => order(a) - order(b));
  return { runs };
}

const s1 = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const mib = (b: number) => `${Math.round(b / 2 ** 20)} MiB`;
const cell = (text: string) => text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
const plural = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;
/** A scenario's heading: the at-least-once classic run's keep their plain names (and anchors), exactly-once classic ones their earlier ones. */
const heading = (s: ScenarioResult) => {
  const qualifiers = [...(s.guarantee === 'at-least-once' ? [] : [s.guarantee]), ...(protocolOf(s) === 'classic' ? [] : ['KIP-848'])];
  return qualifiers.length ? `${s.scenario} (${qualifiers.join(', ')})` : s.scenario;
};
const anchor = (s: ScenarioResult) => heading(s).replace(/[(),]/g, '').replace(/ /g, '-').toLowerCase();

export function renderReport(report: Report): string {
  const runs = report.runs;
  const all = runs.flatMap((r) => r.scenarios);
  const out: string[] = [];
  const passed = all.every((s) => s.passed);
  out.push('# Reliability report', '');
  out.push(
    `Generated by the fault runner (\`npm run faults -- ... --report\`) from its results, \`docs/reliability.json\`, which keeps the last run of each delivery guarantee and group protocol; ` +
      `do not edit by hand (\`npm test\` checks that this page is the rendering of that file). ${passed ? 'Every scenario passed.' : '**Some scenarios failed: see below.**'}`,
    '',
  );
  for (const r of runs) {
    out.push(
      `- **${runGuarantee(r)}, ${groupsName(runProtocol(r))} groups**: \`${r.command}\` (seed ${r.seed}), run on ${r.startedAt.slice(0, 10)}, ` +
        `${r.machine.cpus} cores shared with other work (load average ${r.machine.loadBefore.map((l) => l.toFixed(1)).join(', ')} at the start), Node ${r.machine.node}; ` +
        `the whole run took ${Math.round(r.elapsedMs / 60_000)} min.` +
        (r.parts ?? [])
          .map(
            (p) =>
              ` Its ${p.scenarios.join(', ')} ${p.scenarios.length === 1 ? 'row comes' : 'rows come'} from a later run of ${p.scenarios.length === 1 ? 'that scenario' : 'those scenarios'} alone: \`${p.command}\` (seed ${p.seed}), ` +
              `run on ${p.startedAt.slice(0, 10)}, load average ${p.machine.loadBefore.map((l) => l.toFixed(1)).join(', ')} at the start, Node ${p.machine.node}; it took ${Math.round(p.elapsedMs / 60_000)} min.`,
          )
          .join(''),
    );
  }
  for (const g of GUARANTEES) {
    for (const p of GROUP_PROTOCOLS) {
      if (!runs.some((r) => runGuarantee(r) === g && runProtocol(r) === p)) {
        out.push(`- **${g}, ${groupsName(p)} groups**: no run recorded here yet (\`npm run faults -- --guarantee ${g} --group-protocol ${p} ... --report\` adds one).`);
      }
    }
  }
  out.push('');
  out.push('## Results', '');
  out.push('| scenario | guarantee | groups | trials | records | lost | duplicates | longest time without progress | recovery (max / median) | seed | result |');
  out.push('|---|---|---|---:|---:|---:|---:|---:|---:|---:|---|');
  for (const s of all) {
    out.push(
      `| [${s.scenario}](#${anchor(s)}) | ${s.guarantee} | ${scenarioGroups(s)} | ${s.trials} | ${s.records} | ${s.lost} | ${s.duplicates} | ${s1(s.longestStall.ms)} | ` +
        `${s.events.some((e) => e.fault) ? `${s1(s.recovery.maxMs)} / ${s1(s.recovery.medianMs)}` : '–'} | ${s.seed} | ${s.passed ? 'passed' : '**FAILED**'} |`,
    );
  }
  out.push('');
  out.push(
    'Reproduce one row: `npm run faults -- --seed <seed> --scenarios <scenario>`, with `--guarantee exactly-once` for the exactly-once rows and `--group-protocol consumer` for the KIP-848 rows ' +
      '(as root: the runner makes network namespaces; add `--report` to replace that combination\'s run in this page).',
    '',
  );
  out.push('## What the columns mean', '');
  out.push(
    '- **records**: distinct input ids. Every one must end as an output or a dead letter: **lost** counts those that did not (it must be 0).',
    '- **duplicates**: outputs and dead letters beyond one per input record: work redone after a fault (at-least-once allows it, bounded by `--max-in-flight` per member and fault). ' +
      'Exactly-once rows read the outputs and dead letters as a `read_committed` consumer does, and there it must be 0.',
    '- **longest time without progress**: the longest interval during which one input partition had records waiting and none of its records completed (an output or dead letter acknowledged by the brokers; ' +
      'in exactly-once, outputs are produced inside transactions, so a member whose transaction waits for a frozen broker makes no progress on any of its partitions).',
    '- **recovery**: per fault, the time from the fault until every record that had arrived before it was done; max and median over the scenario\'s faults (repairs such as restarts are listed below with their own figure but not counted here).',
    '',
  );
  out.push('## Setup', '');
  for (const r of runs) {
    out.push(
      `- ${runs.length > 1 ? `${runLabel(r)} run: a` : 'A'} local ${r.cluster.nodes}-node cluster, \`lagless kafka start --nodes ${r.cluster.nodes}\` (Kafka ${r.cluster.kafka}; every node a broker and a controller voter; ` +
        `topics with 3 replicas and \`min.insync.replicas=2\`), heap ${r.cluster.heap} per node: started in ${s1(r.cluster.startMs)}, ` +
        `resident memory per node ${r.cluster.rssBytes.map(mib).join(', ')} after start and ${r.cluster.rssAfterBytes.map(mib).join(', ')} at the end.`,
    );
  }
  out.push(
    '- Members: `lagless run palette` processes (`--workers 1 --max-in-flight 200 --session-timeout 6s`, with `--guarantee exactly-once` in the exactly-once runs and `--group-protocol consumer` in the KIP-848 runs, where the brokers set a 10 s session and 1 s heartbeats), each in its own network namespace joined to the brokers\' namespace by a veth pair; ' +
      'the brokers and the image server listen on an address of the runner\'s own namespace, and nothing else is routed.' +
      (all.some((s) => s.groupType === 'share')
        ? ' The share-group members (3, on topics of 2 partitions: more members than partitions) run with `--group-type share` instead of `--session-timeout` (a share group, KIP-932: the brokers set a 10 s session, 1 s heartbeats and a 15 s acquisition lock; at-least-once only, so that scenario has a row in the at-least-once, classic run only).'
        : ''),
    `- Load: ${[...new Set(runs.map((r) => r.rate))].join(' / ')} records/s round-robin over 8 partitions, from the local image server (20–40 ms per request): mostly small generated PNGs (the faults are about Kafka, not CPU), every 10th a photo, every 20th URL a 404 (a dead letter).`,
    '- Kill moments inside commits and rebalances come from a preload in the member processes (`faults/lib/inject.ts`) that watches the Kafka client\'s diagnostics channels and kill -9s its own process right after the request starts. ' +
      'A commit is an OffsetCommit in at-least-once, and the EndTxn that commits a transaction (its outputs and, through TxnOffsetCommit, its offsets) in exactly-once.',
    '',
  );
  out.push('## Scenarios', '');
  for (const s of all) {
    out.push(`### ${heading(s)}`, '');
    out.push(`**${s.title}.** ${s.passed ? 'Passed' : '**Failed**'}: ${s.records} records (${s.outputs} outputs, ${s.deadLetters} dead letters), lost ${s.lost}, duplicates ${s.duplicates}` +
      `${s.inputDuplicates ? `, ${plural(s.inputDuplicates, 'input record', 'input records')} written twice by the load generator's retries` : ''}; ran ${s1(s.elapsedMs)}.`, '');
    const codes = Object.entries(s.codes).sort((a, b) => b[1] - a[1]);
    if (codes.length) out.push(`Dead letters by code: ${codes.map(([c, n]) => `\`${c}\` ${n}`).join(', ')}.`, '');
    out.push(`Longest time without progress: ${s1(s.longestStall.ms)} on partition ${s.longestStall.partition}, from ${s1(s.longestStall.from)} to ${s1(s.longestStall.to)} after the load started.`, '');
    for (const n of s.notes) out.push(`${n[0]!.toUpperCase()}${n.slice(1)}.`, '');
    if (s.events.length) {
      out.push('| at | event | target | recovery | note |', '|---:|---|---|---:|---|');
      for (const e of s.events) {
        out.push(`| ${s1(e.atMs)} | ${e.action}${e.fault ? '' : ' (repair)'} | ${cell(e.target)} | ${e.recoveryMs !== undefined ? s1(e.recoveryMs) : ''} | ${cell(e.note ?? '')} |`);
      }
      out.push('');
    }
    const failed = s.checks.filter((c) => !c.ok);
    out.push(`Checks: ${s.checks.length - failed.length} of ${s.checks.length} passed.`, '');
    for (const c of failed) out.push(`- FAILED: ${c.name}${c.detail ? `: ${cell(c.detail.split('\n')[0]!)}` : ''}`);
    if (failed.length) out.push('');
  }
  return out.join('\n').replace(/\n+$/, '\n');
}
