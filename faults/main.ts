// `npm run faults`: the fault runner. Starts a 3-node cluster and member namespaces inside a network namespace of its own, runs the chosen scenarios against a real pipeline, writes the results and (with --report) docs/reliability.md.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { parseDuration } from '../src/common/index.ts';
import { runFaults, type RunFaultsOptions } from './lib/run.ts';
import { mergeRun, renderReport, runLabel, type Report, type RunResults } from './lib/report.ts';
import { GROUP_PROTOCOLS, type Guarantee, type GroupProtocol } from './lib/scenario.ts';
import { topologyUnavailable } from './lib/topology.ts';
import { findScenario, SCENARIOS } from './scenarios/index.ts';
import { createLoopbackNamespace, reexecInNamespace } from '../scripts/netns.ts';

/** The repository: the report is written to its docs/. */
const ROOT = new URL('..', import.meta.url);
const USAGE = `usage: npm run faults -- [options]     (as root: the runner creates network namespaces)

  --seed <n>              seed of every random choice (default: a new one, printed)
  --duration <d>          steady-load time of each fault scenario, e.g. 2m (default: each scenario's own)
  --scenarios <a,b,...>   which scenarios (default: all): ${SCENARIOS.map((s) => s.name).join(', ')}
  --trials <n>            trials of each chosen scenario (records for the fuzz scenarios; default: each scenario's own)
  --guarantee <g>         at-least-once (default) or exactly-once (members run with --guarantee exactly-once)
  --group-protocol <p>    classic (default) or consumer (members run with --group-protocol consumer: KIP-848 groups)
  --rate <n>              steady load of the fault scenarios, records per second (default 10)
  --heap <size>           JVM heap of each Kafka node (default 384m)
  --report                write docs/reliability.json and docs/reliability.md: this run replaces the last run of
                          its guarantee and group protocol there, the runs of the other combinations are kept
                          (one report holds all four); a run of some scenarios (--scenarios) replaces only their
                          rows in its combination's run, the other rows are kept
  --keep                  keep the work directory (member logs, acknowledgement logs)
  --render-only           run nothing: render docs/reliability.md again from docs/reliability.json (after a change
                          of the renderer)
  --merge <file>          run nothing: merge a run's results file (faults/results/faults-*.json, written by every run)
                          into the report as --report does at the end of that run

Scenarios:
${SCENARIOS.map((s) => `  ${s.name.padEnd(17)} ${s.description}`).join('\n')}
`;

function usage(message: string): never {
  process.stderr.write(`error: ${message}\n\n${USAGE}`);
  process.exit(2);
}

let args;
try {
  args = parseArgs({
    args: process.argv.slice(2),
    options: {
      seed: { type: 'string' },
      duration: { type: 'string' },
      scenarios: { type: 'string' },
      trials: { type: 'string' },
      guarantee: { type: 'string', default: 'at-least-once' },
      'group-protocol': { type: 'string', default: 'classic' },
      rate: { type: 'string', default: '10' },
      heap: { type: 'string', default: '384m' },
      report: { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
      'render-only': { type: 'boolean', default: false },
      merge: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  }).values;
} catch (err) {
  usage((err as Error).message);
}
if (args.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}
if (args['render-only']) {
  const json = JSON.parse(await readFile(new URL('docs/reliability.json', ROOT), 'utf8')) as Report | RunResults;
  const report: Report = 'runs' in json ? json : { runs: [json] };
  await writeFile(new URL('docs/reliability.json', ROOT), JSON.stringify(report, null, 2) + '\n');
  await writeFile(new URL('docs/reliability.md', ROOT), renderReport(report));
  process.stderr.write('rendered docs/reliability.md from docs/reliability.json\n');
  process.exit(0);
}
/** This run replaces the run of its guarantee and group protocol (or, of some scenarios, their rows in it) in docs/reliability.json, and the page is rendered again. */
async function writeReport(results: RunResults): Promise<Report> {
  const jsonUrl = new URL('docs/reliability.json', ROOT);
  const previous = await readFile(jsonUrl, 'utf8').then((t) => JSON.parse(t) as Report | RunResults, () => undefined);
  const report = mergeRun(previous, results);
  await writeFile(jsonUrl, JSON.stringify(report, null, 2) + '\n');
  await writeFile(new URL('docs/reliability.md', ROOT), renderReport(report));
  return report;
}
if (args.merge !== undefined) {
  const results = JSON.parse(await readFile(args.merge, 'utf8').catch((err: Error) => usage(`option --merge: ${err.message}`))) as RunResults;
  if (!Array.isArray(results.scenarios) || results.scenarios.length === 0) usage(`option --merge: ${args.merge} is not the results file of a run`);
  const report = await writeReport(results);
  process.stderr.write(`merged ${args.merge} (${runLabel(results)}) into docs/reliability.json and docs/reliability.md (runs: ${report.runs.map(runLabel).join(', ')})\n`);
  process.exit(0);
}
const seed = args.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(args.seed);
if (!Number.isSafeInteger(seed) || seed < 0) usage(`option --seed: expected a non-negative integer, got "${args.seed}"`);
let durationMs: number | undefined;
if (args.duration !== undefined) {
  try {
    durationMs = parseDuration(args.duration);
  } catch (err) {
    usage(`option --duration: ${(err as Error).message}`);
  }
}
const names = args.scenarios ? args.scenarios.split(',').map((s) => s.trim()).filter(Boolean) : SCENARIOS.map((s) => s.name);
for (const n of names) if (!SCENARIOS.some((s) => s.name === n)) usage(`option --scenarios: no scenario "${n}" (there are ${SCENARIOS.map((s) => s.name).join(', ')})`);
const trials = args.trials === undefined ? undefined : Number(args.trials);
if (trials !== undefined && (!Number.isSafeInteger(trials) || trials < 1)) usage(`option --trials: expected a positive integer, got "${args.trials}"`);
if (args.guarantee !== 'at-least-once' && args.guarantee !== 'exactly-once') usage(`option --guarantee: expected at-least-once or exactly-once, got "${args.guarantee}"`);
if (!(GROUP_PROTOCOLS as readonly string[]).includes(args['group-protocol']!)) usage(`option --group-protocol: expected ${GROUP_PROTOCOLS.join(' or ')}, got "${args['group-protocol']}"`);
const rate = Number(args.rate);
if (!(rate > 0 && rate <= 10_000)) usage(`option --rate: expected records per second from 1 to 10000, got "${args.rate}"`);
if (!/^\d+[mg]$/i.test(args.heap!)) usage(`option --heap: expected a JVM size such as 384m or 1g, got "${args.heap}"`);
// A scenario that cannot run with this guarantee and group protocol (share-group: at-least-once only) is refused when
// named, and left out of a run of every scenario.
const combination = { guarantee: args.guarantee as Guarantee, groupProtocol: args['group-protocol'] as GroupProtocol };
const leftOut: string[] = [];
for (const n of [...names]) {
  const why = findScenario(n)!.unsupported?.(combination);
  if (!why) continue;
  if (args.scenarios) usage(`option --scenarios: scenario ${n} cannot run with --guarantee ${combination.guarantee} --group-protocol ${combination.groupProtocol}: ${why}`);
  names.splice(names.indexOf(n), 1);
  leftOut.push(`${n} (${why})`);
}

// Everything happens inside a network namespace of the runner's own: the cluster, the image server and the member
// namespaces hang off it, and none of their traffic can leave the machine.
const why = topologyUnavailable();
if (why) {
  process.stderr.write(`error: ${why}. Run it as root (for example in the project's container or VM).\n`);
  process.exit(1);
}
if (!process.env.LAGLESS_FAULTS_NETNS) {
  const ns = `lagless-faults-${process.pid}`;
  if (!createLoopbackNamespace(ns)) {
    process.stderr.write(`error: could not create the network namespace ${ns}\n`);
    process.exit(1);
  }
  const command = `npm run faults -- ${process.argv.slice(2).join(' ')}`.trim();
  const argv = [...process.argv.slice(2), ...(args.seed === undefined ? ['--seed', String(seed)] : [])];
  await reexecInNamespace(ns, new URL(import.meta.url).pathname, argv, { ...process.env, LAGLESS_FAULTS_NETNS: ns, LAGLESS_FAULTS_COMMAND: command });
}

const workDir = await mkdtemp(join(tmpdir(), 'lagless-faults-'));
const log = (line: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);
log(`fault runner: seed ${seed}, scenarios ${names.join(', ')}, guarantee ${args.guarantee}, ${args['group-protocol']} groups; work directory ${workDir}`);
for (const l of leftOut) log(`left out: ${l}`);
const options: RunFaultsOptions = {
  seed,
  scenarios: names,
  ...(durationMs !== undefined ? { durationMs } : {}),
  ...(trials !== undefined ? { trials } : {}),
  guarantee: args.guarantee as Guarantee,
  groupProtocol: args['group-protocol'] as GroupProtocol,
  rate,
  heap: args.heap!,
  workDir,
  log,
  command: process.env.LAGLESS_FAULTS_COMMAND ?? `npm run faults -- --seed ${seed}`,
};
const loadBefore = loadavg();
let results;
try {
  results = await runFaults(options);
} finally {
  if (!args.keep) await rm(workDir, { recursive: true, force: true });
}
results.machine = { cpus: availableParallelism(), loadBefore, node: process.version };
const resultsDir = new URL('results/', import.meta.url);
await mkdir(resultsDir, { recursive: true });
const file = new URL(`faults-${results.startedAt.replace(/[:.]/g, '-')}.json`, resultsDir);
await writeFile(file, JSON.stringify(results, null, 2) + '\n');
log(`results: ${file.pathname}`);
if (args.report) {
  const report = await writeReport(results);
  log(`wrote docs/reliability.json and docs/reliability.md (runs: ${report.runs.map(runLabel).join(', ')})`);
}
process.stdout.write(renderReport({ runs: [results] }).split('## What the columns mean')[0]!);
process.exit(results.scenarios.every((s) => s.passed) ? 0 : 1);
