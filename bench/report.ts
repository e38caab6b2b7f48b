// `npm run bench -- report`: writes docs/performance.md, its charts (docs/performance/*.svg) and the README's figures from the JSON results
// in bench/results, so that no figure in the docs is pasted by hand. For each kind of result (palette, pipeline,
// peers, eos, autoscale, autoscale-replicas, share) it takes the latest file (for the pipeline bench, the latest file that
// ran each stage); every figure names its file, date, machine, command and commit. Deterministic: the same results
// give the same page (test/bench/report.test.ts checks that the committed page is what this writes).
//
//   npm run bench -- report            rewrite docs/performance.md and docs/performance/*.svg
//   npm run bench -- report --check    exit 1 when they are not what this would write
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { AutoscaleFigures, ScaleEvent, TimelinePoint } from './lib/autoscale-report.ts';
import { renderTimelineSvg } from './lib/timeline-svg.ts';
import type { PeerSummary } from './peers/plan.ts';
import { othersCpu, type ShareRun, type ShareSummary } from './share/plan.ts';
import { coord as n, escapeXml as esc } from './lib/svg.ts';

const ROOT = resolve(new URL('..', import.meta.url).pathname);
export const RESULTS_DIR = join(ROOT, 'bench/results');
export const PAGE = 'docs/performance.md';
export const CHART_DIR = 'docs/performance';

/** What every result file has, whatever its bench. */
interface ResultBase {
  bench: string;
  date: string;
  command?: string;
  commit?: string | null;
  machine?: { cpu?: string; cores?: number; memoryGb?: number; node?: string; loadBefore?: number[]; pinned?: boolean };
  options?: Record<string, unknown>;
}

export interface LoadedResult {
  /** The file name in bench/results. */
  file: string;
  /** palette, pipeline, peers, eos, autoscale, autoscale-replicas, ...: the file name before its timestamp. */
  kind: string;
  data: ResultBase & Record<string, any>;
}

/** Every JSON result in `dir`, by kind, oldest first. */
export function loadResults(dir = RESULTS_DIR): Map<string, LoadedResult[]> {
  const byKind = new Map<string, LoadedResult[]>();
  if (!existsSync(dir)) return byKind;
  for (const file of readdirSync(dir).sort()) {
    if (!file.endsWith('.json') || file.endsWith('.tmp.json')) continue;
    const m = /^(.+?)-\d{4}-\d\d-\d\dT[\d-]+Z\.json$/.exec(file);
    if (!m) continue;
    const data = JSON.parse(readFileSync(join(dir, file), 'utf8')) as LoadedResult['data'];
    const list = byKind.get(m[1]!) ?? [];
    list.push({ file, kind: m[1]!, data });
    byKind.set(m[1]!, list);
  }
  for (const list of byKind.values()) list.sort((a, b) => (a.data.date < b.data.date ? -1 : a.data.date > b.data.date ? 1 : a.file < b.file ? -1 : 1));
  return byKind;
}

// ---------------------------------------------------------------------------------------------------------------
// Formatting

const cell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
const f1 = (v: number) => v.toFixed(1);
const int = (v: number) => Math.round(v).toLocaleString('en-US');
const pct = (v: number) => `${Math.round(v * 100)}%`;
const sec = (v: number | null | undefined) => (v === null || v === undefined ? 'never' : `${v.toFixed(1)} s`);

function table(header: string[], rows: string[][]): string[] {
  return [`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`)];
}

function day(r: LoadedResult): string {
  return r.data.date.slice(0, 10);
}

function machine(r: LoadedResult): string {
  const m = r.data.machine ?? {};
  const parts = [`${m.cores ?? '?'} cores (${m.cpu ?? 'unknown CPU'})`];
  if (m.memoryGb) parts.push(`${m.memoryGb} GB`);
  if (m.node) parts.push(`Node ${m.node}`);
  if (m.pinned) parts.push('pinned to one core');
  if (m.loadBefore?.length) parts.push(`load average ${m.loadBefore.map((x) => x.toFixed(1)).join(' ')} at the start`);
  return parts.join(', ');
}

/** The command that wrote the file, or what is known of it (older results did not record it). */
function command(r: LoadedResult): string {
  if (r.data.command) return `\`${r.data.command}\``;
  const opts = r.data.options ?? {};
  const shown = Object.entries(opts)
    .filter(([k, v]) => (typeof v === 'number' || typeof v === 'boolean' || (typeof v === 'string' && !v.startsWith('/')) || Array.isArray(v)) && k !== 'images')
    .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(',') : String(v)}`);
  return `\`npm run bench -- ${r.data.bench}\` (flags not recorded; options: ${shown.join(' ')})`;
}

function commit(r: LoadedResult): string {
  return r.data.commit ? `\`${r.data.commit.slice(0, 12)}${r.data.commit.endsWith('+dirty') ? '+dirty' : ''}\`` : 'not recorded';
}

/** The provenance table of the results a section uses. */
function sources(results: LoadedResult[]): string[] {
  const seen = [...new Map(results.map((r) => [r.file, r])).values()];
  return table(
    ['result', 'date', 'machine', 'command', 'commit'],
    seen.map((r) => [`\`bench/results/${r.file}\``, day(r), machine(r), command(r), commit(r)]),
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Sections, one per kind of result

export interface Headline {
  /** Anchor of its section in docs/performance.md. */
  anchor: string;
  figure: string;
  value: string;
  /** The target it is held to, with "missed" when it is; '' when none. */
  target: string;
}

interface Section {
  lines: string[];
  headlines: Headline[];
  charts: Map<string, string>;
}

function paletteSection(r: LoadedResult): Section {
  const d = r.data;
  const t = d.totals;
  const q = d.ratios;
  const g = d.targets;
  const rows = [
    ['Python colorthief 0.2.1 (the blog post\'s library)', f1(t.python), '', ''],
    ['npm colorthief v3', f1(t.colorthiefV3), '', ''],
    ['Lagless fast', f1(t.fast), `${q.fastVsPython.toFixed(1)}× faster than Python; ${q.fastVsFloor.toFixed(2)}× the downscaled-decode floor`, `≥ ${g.fastVsPython}×; ≤ ${g.fastVsFloor}×`],
    ['Lagless exact', f1(t.exact), `${q.exactVsPython.toFixed(1)}× faster than Python; ${q.exactVsFullDecode.toFixed(2)}× the full-decode floor`, `≥ ${g.exactVsPython}×; ≤ ${g.exactVsFullDecode}×`],
  ];
  const equal = (d.images as { exactEqualsPython: boolean }[]).filter((i) => i.exactEqualsPython).length;
  return {
    lines: [
      '## Palette engine',
      '',
      `One core, ${d.images.length} real photos, ${d.options?.runs ?? '?'} runs each (medians); total milliseconds over all photos.`,
      '',
      ...table(['engine', 'total (ms)', 'ratio', 'target'], rows),
      '',
      `Exact equals Python on ${equal}/${d.images.length} photos; fast is a mean CIEDE2000 of ${d.meanFastVsExactCiede2000.toFixed(2)} from exact.`,
      '',
      ...sources([r]),
    ],
    headlines: [
      { anchor: 'palette-engine', figure: 'palette, fast mode, vs Python colorthief', value: `${q.fastVsPython.toFixed(1)}× faster`, target: `≥ ${g.fastVsPython}×${q.fastVsPython >= g.fastVsPython ? '' : ': missed'}` },
      { anchor: 'palette-engine', figure: 'palette, exact mode (bit for bit), vs Python colorthief', value: `${q.exactVsPython.toFixed(1)}× faster`, target: `≥ ${g.exactVsPython}×${q.exactVsPython >= g.exactVsPython ? '' : ': missed'}` },
    ],
    charts: new Map(),
  };
}

/** The pipeline bench runs stages; each row comes from the latest result that ran its stage. */
function pipelineSection(all: LoadedResult[]): Section {
  const latest = (key: string) => [...all].reverse().find((r) => r.data[key] !== undefined && r.data[key] !== null);
  const rows: string[][] = [];
  const used: LoadedResult[] = [];
  const headlines: Headline[] = [];
  const images = (r: LoadedResult) => (r.data.options?.images === 'shipped' || (r.data.options?.images === undefined && !r.data.images) ? 'shipped photos' : 'photo-stream mix');
  const add = (r: LoadedResult, row: string[]) => {
    if (!used.includes(r)) used.push(r);
    rows.push([...row, `${day(r)}, \`${r.file}\``]);
  };
  const engine = latest('engine');
  if (engine) add(engine, [`palette engine alone, ${engine.data.options?.workers} workers, no Kafka, no HTTP (${images(engine)})`, `${f1(engine.data.engine.perSecond)} images/s`, '']);
  const pool = latest('pool');
  if (pool && !engine) add(pool, [`raw worker pool, ${pool.data.pool.workers} workers, no Kafka (${images(pool)})`, `${f1(pool.data.pool.perSecond)} images/s`, '']);
  const p = latest('pipeline');
  if (p) {
    const x = p.data.pipeline;
    add(p, [`pipeline, 0 ms per download (CPU-bound; ${images(p)})`, `${f1(x.cpuBoundPerSecond)} images/s`, '']);
    add(p, [`pipeline, ${p.data.options?.latencyMs} ms per download`, `${f1(x.latencyPerSecond)} images/s: ${pct(x.latencyVsCpuBound)} of CPU-bound`, `≥ ${pct(p.data.targets.latencyHidden)}`]);
    if (x.cpuBoundVsEngine != null) add(p, ['pipeline vs the palette engine alone', pct(x.cpuBoundVsEngine), p.data.targets.vsEngine ? `≥ ${pct(p.data.targets.vsEngine)}` : '']);
    headlines.push({ anchor: 'pipeline', figure: `pipeline with ${p.data.options?.latencyMs} ms per download, vs CPU-bound`, value: pct(x.latencyVsCpuBound), target: `≥ ${pct(p.data.targets.latencyHidden)}${x.latencyVsCpuBound >= p.data.targets.latencyHidden ? '' : ': missed'}` });
  }
  const part = latest('partition');
  if (part) {
    const x = part.data.partition;
    add(part, [`\`--ordering partition\` (one in flight per partition, as the blog post), ${part.data.options?.latencyMs} ms per download`, `${f1(x.run.steadyPerSecond ?? x.run.perSecond)} images/s: per-message parallelism is ${x.unorderedGain.toFixed(1)}× faster`, '']);
    headlines.push({ anchor: 'pipeline', figure: 'per-message parallelism vs one record in flight per partition', value: `${x.unorderedGain.toFixed(1)}× faster`, target: '' });
  }
  const o = latest('overhead');
  if (o) {
    const x = o.data.overhead;
    const target = `≥ ${pct(o.data.targets.overhead)}${x.noopVsBare >= o.data.targets.overhead ? '' : ': missed'}`;
    add(o, [`noop job vs a bare @platformatic/kafka consume→produce→commit loop (batch ${x.bareBatch})`, `${int(x.noopPerSecond)} vs ${int(x.barePerSecond)} msg/s: ${pct(x.noopVsBare)}`, target]);
    headlines.push({ anchor: 'pipeline', figure: 'no-op job vs a bare @platformatic/kafka loop (pipeline bench)', value: `${pct(x.noopVsBare)} of its msg/s`, target });
  }
  const m = latest('memory');
  if (m) {
    const x = m.data.memory;
    const flat = m.data.verdicts?.find((v: { name: string }) => v.name.startsWith('RSS growth'));
    const target = `< ${m.data.targets.maxRssMb} MB${x.maxMb < m.data.targets.maxRssMb ? '' : ': missed'}`;
    add(m, [`RSS of \`lagless run palette\` with a ${int(x.backlog)}-record backlog, ${Math.round(x.seconds)} s (${images(m)})`, `${f1(x.maxMb)} MB max${flat ? `; ${flat.ok ? 'flat' : 'not flat'} (${flat.miss || `${pct(flat.value)} growth`})` : ''}`, target]);
    headlines.push({ anchor: 'pipeline', figure: `memory (RSS) of the palette job with a ${int(x.backlog)}-record backlog`, value: `${f1(x.maxMb)} MB`, target });
  }
  return {
    lines: [
      '## Pipeline',
      '',
      'A real broker, the real image server, 2 CPU workers, 8 partitions. Each row comes from the latest result that ran its',
      'stage; the method is in [Pipeline benchmark method](./pipeline-bench.md). A target shown is the one the bench',
      'compared against when it ran.',
      '',
      ...table(['figure', 'value', 'target', 'from'], rows),
      '',
      ...sources(used),
    ],
    headlines,
    charts: new Map(),
  };
}

/** A horizontal bar chart of msg/s per contender, with the min–max range of its runs. */
function peersChart(summary: PeerSummary[], title: string): string {
  const rows = summary.filter((s) => s.runs > 0);
  const W = 760;
  const LEFT = 110;
  const RIGHT = 150;
  const BAR = 26;
  const GAP = 14;
  const TOP = 54;
  const H = TOP + rows.length * (BAR + GAP) + 40;
  const max = Math.max(1, ...rows.map((s) => s.perSecond.max));
  const x = (v: number) => LEFT + (v / max) * (W - LEFT - RIGHT);
  const body = rows.map((s, i) => {
    const y = TOP + i * (BAR + GAP);
    const label = `${int(s.perSecond.median)} msg/s${s.vsBare !== null ? ` (${(s.vsBare * 100).toFixed(0)}% of bare)` : ''}`;
    return [
      `<text x="${LEFT - 8}" y="${n(y + BAR / 2 + 4)}" class="name" text-anchor="end">${esc(s.contender)}</text>`,
      `<rect x="${LEFT}" y="${y}" width="${n(x(s.perSecond.median) - LEFT)}" height="${BAR}" class="${s.contender === 'noop' ? 'bar lagless' : 'bar'}"/>`,
      `<line x1="${n(x(s.perSecond.min))}" x2="${n(x(s.perSecond.max))}" y1="${n(y + BAR / 2)}" y2="${n(y + BAR / 2)}" class="range"/>`,
      `<text x="${n(x(s.perSecond.median) + 6)}" y="${n(y + BAR / 2 + 4)}" class="value">${esc(label)}</text>`,
    ].join('\n');
  });
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="system-ui, -apple-system, Segoe UI, sans-serif">
<style>
.title { font-size: 15px; font-weight: 600; fill: #202124 }
.name, .value { font-size: 12px; fill: #3c4043 }
.bar { fill: #9aa0a6 }
.lagless { fill: #1a73e8 }
.range { stroke: #202124; stroke-width: 1.5 }
.note { font-size: 11px; fill: #5f6368 }
</style>
<rect width="100%" height="100%" fill="#ffffff"/>
<text x="16" y="28" class="title">${esc(title)}</text>
${body.join('\n')}
<text x="16" y="${H - 14}" class="note">bar: median msg/s over the rounds; line: the range of the runs</text>
</svg>
`;
}

function peersSection(r: LoadedResult): Section {
  const d = r.data;
  const summary = d.summary as PeerSummary[];
  const rows = summary.map((s) => {
    const why = d.unavailable?.[s.contender];
    if (why) return [s.contender, 'not available here', '', '', '', why];
    if (s.runs === 0) return [s.contender, '-', '-', '-', '-', `${s.failed} failed`];
    return [
      s.contender,
      int(s.perSecond.median),
      `${int(s.perSecond.min)}–${int(s.perSecond.max)}`,
      s.vsBare === null ? '-' : `${(s.vsBare * 100).toFixed(1)}%`,
      `${s.peakRssMb.median.toFixed(0)}${s.rssMinusBareMb === null ? '' : ` (${s.rssMinusBareMb >= 0 ? '+' : ''}${s.rssMinusBareMb.toFixed(0)} vs bare)`}`,
      `${s.runs} run(s)${s.failed ? `, ${s.failed} failed` : ''}; ${d.contenders?.[s.contender] ?? ''}`,
    ];
  });
  const chart = 'peers.svg';
  const noop = summary.find((s) => s.contender === 'noop' && s.runs > 0);
  const o = d.options ?? {};
  return {
    lines: [
      '## Against other clients',
      '',
      `Each contender drains the same backlog of ${int(Number(o.records ?? 0))} records (${o.partitions} partitions) in a child process, consuming,`,
      'producing each record with an idempotent acks=all producer and committing only acknowledged offsets; the order',
      `rotates every round (${o.rounds} round(s)). msg/s runs from the group seen stable to its commits seen at the log end;`,
      'peak RSS is the child\'s VmHWM. The method in full is in `bench/peers.ts`.',
      '',
      ...table(['contender', 'msg/s median', 'range', '% of bare', 'peak RSS MB', 'runs'], rows),
      '',
      `![msg/s per contender](./performance/${chart})`,
      '',
      ...sources([r]),
    ],
    headlines: noop?.vsBare != null ? [{ anchor: 'against-other-clients', figure: 'no-op job vs a bare @platformatic/kafka loop (peers bench)', value: `${(noop.vsBare * 100).toFixed(0)}% of its msg/s`, target: `≥ 90%${noop.vsBare >= 0.9 ? '' : ': missed'}` }] : [],
    charts: new Map([[chart, peersChart(summary, `No-op drain of ${int(Number(o.records ?? 0))} records, ${o.partitions} partitions, ${o.rounds} round(s)`)]]),
  };
}

function eosSection(r: LoadedResult): Section {
  const d = r.data;
  const runs = d.runs as { job: string; guarantee: string; throughput: { steadyPerSecond: number }; latency: { rate: number; p50Ms: number; p99Ms: number }; kill?: { duplicates: number; readCommitted: number } | null }[];
  const base = (job: string) => runs.find((x) => x.job === job && x.guarantee === 'at-least-once')?.throughput.steadyPerSecond;
  const order = (x: (typeof runs)[number]) => `${x.job}/${x.guarantee === 'at-least-once' ? 0 : 1}`;
  const rows = [...runs].sort((a, b) => (order(a) < order(b) ? -1 : 1)).map((x) => {
    const b = base(x.job);
    return [
      x.job,
      x.guarantee,
      f1(x.throughput.steadyPerSecond),
      b ? pct(x.throughput.steadyPerSecond / b) : '-',
      `${Math.round(x.latency.p50Ms)} ms`,
      `${Math.round(x.latency.p99Ms)} ms`,
      `${x.latency.rate}/s`,
      x.kill ? `${x.kill.duplicates} of ${x.kill.readCommitted}` : '',
    ];
  });
  const pal = runs.find((x) => x.job === 'palette' && x.guarantee === 'exactly-once');
  const palBase = base('palette');
  return {
    lines: [
      '## Exactly-once',
      '',
      'Throughput over a backlog and latency at a paced input, timed at a kcat reader with `isolation.level=read_committed`;',
      `the last column is a kill -9 of a \`noop\` member after a third of ${d.options?.killRecords ?? '?'} records, then a restart.`,
      '',
      ...table(['job', 'guarantee', 'records/s', 'vs at-least-once', 'latency p50', 'latency p99', 'paced at', 'duplicates after kill -9'], rows),
      '',
      ...sources([r]),
    ],
    headlines: pal && palBase ? [{ anchor: 'exactly-once', figure: 'palette job, exactly-once vs at-least-once throughput', value: pct(pal.throughput.steadyPerSecond / palBase), target: `≥ 90%${pal.throughput.steadyPerSecond / palBase >= 0.9 ? '' : ': missed'}` }] : [],
    charts: new Map(),
  };
}

/** The autoscale bench's chart, drawn again from its JSON as the bench draws it. */
function autoscaleChart(d: Record<string, any>): string {
  const replicas = d.options?.unit === 'replicas';
  const unitName = replicas ? 'replicas' : 'workers';
  const unitOne = replicas ? 'replica' : 'worker';
  const f = d.figures as AutoscaleFigures;
  const s = (v: number | null) => (v === null ? 'never' : `${v.toFixed(1)} s`);
  const maxUnits = Number(d.options?.maxUnits ?? d.options?.maxWorkers);
  const minUnits = Number(d.options?.minWorkers);
  const atMax = d.capacity?.atMaxWorkers as { rate: number } | null | undefined;
  const p = d.profile;
  const backToMinTarget = d.targets.backToMinWithinS;
  return renderTimelineSvg({
    title: `Lagless ${unitOne} autoscaling: step ${p.low} → ${p.high} → ${p.low} images/s → 0 (${d.options?.latencyMs} ms per download)`,
    subtitle: [
      `one ${unitOne} ${Number(d.capacity.perWorker).toFixed(0)} images/s alone${atMax ? `, ${maxUnits} ${unitName} ${atMax.rate.toFixed(0)} images/s` : ''} · ${unitName} ${minUnits}..${maxUnits} · idle timeout ${Number(d.options?.idleTimeoutMs) / 1000} s · catch-up 10 s`,
      `peak lag ${f.peakLag} records (${f.peakLagSeconds.toFixed(1)} s of arrivals) · lag under 2 s of arrivals ${f.lagBackUnderAfterS === 0 ? 'throughout' : `${s(f.lagBackUnderAfterS)} after the step${f.lagRecoveredAfterS === null ? ' (above again later)' : ''}`}`,
      `back at the minimum ${s(f.backToMinAfterS)} after the load stopped · ${unitOne}-seconds ${f.ratios.vsOracle.toFixed(2)}× the oracle, ${f.ratios.vsFixedMax.toFixed(2)}× a fixed maximum`,
    ],
    points: d.timeline as TimelinePoint[],
    events: d.events as ScaleEvent[],
    marks: [
      { t: p.stepAt, label: 'step up' },
      { t: p.stepEnd, label: 'step down' },
      { t: p.stopAt, label: 'load stops' },
      { t: p.stopAt + backToMinTarget, label: 'target: min' },
    ],
    maxWorkers: maxUnits,
    unit: replicas ? 'replicas' : 'workers',
  });
}

function autoscaleSection(r: LoadedResult, heading: string, anchor: string): Section {
  const d = r.data;
  const f = d.figures as AutoscaleFigures;
  const g = d.targets;
  const replicas = d.options?.unit === 'replicas';
  const unit = replicas ? 'replicas' : 'workers';
  const chart = `${r.kind}.svg`;
  const rows = [
    [`${unit} at the step's need`, f.scaledUpAfterS === null ? 'never' : `${f.scaledUpAfterS.toFixed(1)} s after the step`, ''],
    ['peak lag', `${f.peakLag} records = ${f.peakLagSeconds.toFixed(1)} s of arrivals`, ''],
    ['lag back under 2 s of arrivals', f.lagBackUnderAfterS === 0 ? 'never above' : `${sec(f.lagBackUnderAfterS)} after the step`, `≤ ${g.lagRecoveredWithinS} s${f.lagBackUnderAfterS !== null && f.lagBackUnderAfterS <= g.lagRecoveredWithinS ? '' : ': missed'}`],
    ['back at the minimum after the load stopped', sec(f.backToMinAfterS), `≤ idle timeout + ${g.backToMinSlackS} s = ${g.backToMinWithinS} s${f.backToMinAfterS !== null && f.backToMinAfterS <= g.backToMinWithinS ? '' : ': missed'}`],
    [`${replicas ? 'replica' : 'worker'}-seconds`, `${Math.round(f.workerSeconds.autoscaled)}: ${f.ratios.vsOracle.toFixed(2)}× an oracle that knew the load, ${f.ratios.vsFixedMax.toFixed(2)}× a fixed maximum`, `≤ ${g.workerSecondsVsOracle}× the oracle${f.ratios.vsOracle <= g.workerSecondsVsOracle ? '' : ': missed'}`],
  ];
  const o = d.options ?? {};
  return {
    lines: [
      `## ${heading}`,
      '',
      `\`lagless run palette\` with ${unit} ${o.minWorkers}..${o.maxUnits ?? o.maxWorkers}${o.standby ? ` and ${o.standby} standby` : ''}, ${o.partitions} partitions, ${o.latencyMs} ms per download, idle timeout ${Number(o.idleTimeoutMs) / 1000} s,`,
      `under the step load ${d.profile.describe} (one ${replicas ? 'replica' : 'worker'} does ${Number(d.capacity.perWorker).toFixed(0)} images/s here). How the policy decides: [Autoscaling policy](./autoscaling.md).`,
      '',
      `![${unit} autoscaling under a step load](./performance/${chart})`,
      '',
      ...table(['figure', 'value', 'target'], rows),
      '',
      ...sources([r]),
    ],
    headlines:
      anchor === 'autoscaling'
        ? [{ anchor, figure: 'worker autoscaling: lag after a step load', value: f.lagBackUnderAfterS === 0 ? `never above 2 s of arrivals (peak ${f.peakLagSeconds.toFixed(1)} s)` : `back under 2 s of arrivals ${sec(f.lagBackUnderAfterS)} after the step`, target: `within ${g.lagRecoveredWithinS} s${f.lagBackUnderAfterS !== null && f.lagBackUnderAfterS <= g.lagRecoveredWithinS ? '' : ': missed'}` }]
        : [],
    charts: new Map([[chart, autoscaleChart(d)]]),
  };
}

/** The share bench: replicas as a share group and as a consumer group, per job and topic, and the warnings they logged. */
function shareSection(r: LoadedResult): Section {
  const d = r.data;
  const o = d.options ?? {};
  const summary = d.summary as ShareSummary[];
  const jobName = (job: string) => (job === 'io' ? `I/O (${o.ioMs} ms wait)` : `CPU (~${o.cpuMs} ms)`);
  const rate = (s: ShareSummary['share']) => (s ? `${f1(s.median)} (${f1(s.min)}–${f1(s.max)})` : '-');
  const ratio = (x: number | null) => (x === null ? '-' : `${x.toFixed(2)}×`);
  const failed = (s: ShareSummary) => [s.failed.share ? `${s.failed.share} share` : '', s.failed.consumer ? `${s.failed.consumer} consumer` : ''].filter(Boolean).join(', ');
  const rows = summary.map((s) => [jobName(s.job), String(s.partitions), String(s.replicas), rate(s.share), rate(s.consumer), ratio(s.ratio) + (failed(s) ? ` (failed runs: ${failed(s)})` : ''), ratio(s.steady?.ratio ?? null)]);
  const warned = (['share', 'consumer'] as const).map((g) => {
    const codes = Object.entries((d.warnings?.[g] ?? {}) as Record<string, { lines: number; runs: number }>);
    return `${g} group: ${codes.length ? codes.map(([code, v]) => `\`${code}\` (${v.lines} line${v.lines === 1 ? '' : 's'} in ${v.runs} run${v.runs === 1 ? '' : 's'})`).join(', ') : 'none'}`;
  });
  const key = summary.find((s) => s.job === 'io' && s.partitions === 1 && s.replicas === 2 && s.ratio !== null);
  const others = othersCpu((d.runs ?? []) as ShareRun[]);
  return {
    lines: [
      '## Share groups',
      '',
      `The same \`lagless run\` replicas (separate processes) as a share group (\`--group-type share\`) and as a consumer group drain one`,
      `backlog of ${int(Number(o.records ?? 0))} records; a consumer group gives a partition to one member at a time, a share group gives every member`,
      `records of every partition. The I/O job waits ${o.ioMs} ms per record with ${o.maxConcurrency} at once per member (about ${int((Number(o.maxConcurrency) * 1000) / Number(o.ioMs))} records/s each);`,
      `the CPU job hashes for about ${o.cpuMs} ms of main-thread CPU per record. msg/s runs from the first output to the last (the output`,
      `topic's log ends polled every 50 ms), so it includes the later members joining and the rebalances they cause; "steady" is the`,
      'same ratio of the rates from the last assignment a replica logged (every member in) to the last output. Medians (and',
      `ranges) of ${o.rounds} round(s); share and consumer of the same replicas run side by side and alternate which goes first. The`,
      'method in full is in `bench/share.ts`.',
      '',
      ...table(['job', 'partitions', 'replicas', 'share msg/s', 'consumer msg/s', 'share/consumer', 'steady share/consumer'], rows),
      '',
      ...(others ? [`Other processes on the machine used ${pct(others.median)} of its CPU during a run (median; ${pct(others.min)}–${pct(others.max)}): the CPU job's rates depend on it, the I/O job's hardly.`, ''] : []),
      `Warnings the replicas logged: ${warned.join('; ')}.`,
      '',
      ...sources([r]),
    ],
    headlines: key ? [{ anchor: 'share-groups', figure: `share group vs consumer group, 2 replicas on 1 partition, ${o.ioMs} ms of I/O per record`, value: `${key.ratio!.toFixed(1)}× the msg/s`, target: '' }] : [],
    charts: new Map(),
  };
}

function otherSection(kinds: [string, LoadedResult[]][]): Section {
  return {
    lines: [
      '## Other results',
      '',
      'Results of a kind this report does not render yet: the latest of each.',
      '',
      ...table(['kind', 'result', 'date', 'command', 'commit'], kinds.map(([kind, list]) => [kind, `\`bench/results/${list.at(-1)!.file}\``, day(list.at(-1)!), command(list.at(-1)!), commit(list.at(-1)!)])),
    ],
    headlines: [],
    charts: new Map(),
  };
}

// ---------------------------------------------------------------------------------------------------------------

export const README = 'README.md';
const BEGIN = '<!-- figures:begin (written by npm run bench -- report) -->';
const END = '<!-- figures:end -->';

/** README.md with its figures block (between the two markers) written from the headlines. */
export function renderReadme(readme: string, headlines: readonly Headline[]): string {
  const a = readme.indexOf(BEGIN);
  const b = readme.indexOf(END);
  if (a < 0 || b < a) throw new Error(`README.md has no figures block (${BEGIN} ... ${END})`);
  const lines = headlines.map((h) => `- **${h.value}**: ${h.figure}${h.target ? ` (target ${h.target})` : ''}; [how measured](docs/performance.md#${h.anchor})`);
  return readme.slice(0, a + BEGIN.length) + '\n' + lines.join('\n') + '\n' + readme.slice(b);
}

export interface Rendered {
  markdown: string;
  /** docs/performance/NAME.svg -> content. */
  charts: Map<string, string>;
  headlines: Headline[];
}

export function renderPerformance(dir = RESULTS_DIR): Rendered {
  const byKind = loadResults(dir);
  const sections: Section[] = [];
  const last = (k: string) => byKind.get(k)?.at(-1);
  const done = new Set<string>();
  const take = (k: string, f: (r: LoadedResult) => Section) => {
    const r = last(k);
    done.add(k);
    if (r) sections.push(f(r));
  };
  take('palette', paletteSection);
  if (byKind.get('pipeline')) sections.push(pipelineSection(byKind.get('pipeline')!));
  done.add('pipeline');
  take('peers', peersSection);
  take('eos', eosSection);
  take('autoscale', (r) => autoscaleSection(r, 'Autoscaling', 'autoscaling'));
  take('autoscale-replicas', (r) => autoscaleSection(r, 'Autoscaling replicas', 'autoscaling-replicas'));
  take('share', shareSection);
  const others = [...byKind.entries()].filter(([k]) => !done.has(k));
  if (others.length) sections.push(otherSection(others));
  const headlines = sections.flatMap((s) => s.headlines);
  const charts = new Map<string, string>();
  for (const s of sections) for (const [name, svg] of s.charts) charts.set(`${CHART_DIR}/${name}`, svg);
  const markdown = [
    '# Performance',
    '',
    '<!-- Generated by `npm run bench -- report` from bench/results/*.json; do not edit by hand (npm test checks it). -->',
    '',
    'Every figure here comes from a JSON result of a benchmark in `bench/results`, the latest of each kind, and names the',
    'file, the date, the machine, the command and the commit that produced it. Each benchmark measures the things it',
    'compares side by side in one run, on the same machine: the ratios are the figures to read, not the absolute rates,',
    'which depend on the machine and on what else it was doing. Rerun the command to check; then `npm run bench -- report`',
    'rewrites this page. No test asserts a duration. Earlier figures and the fixes between them are in the changelog',
    '(`CHANGELOG.md`).',
    '',
    '## Headline figures',
    '',
    ...table(['figure', 'value', 'target', 'section'], headlines.map((h) => [h.figure, h.value, h.target, `[${h.anchor}](#${h.anchor})`])),
    '',
    ...sections.flatMap((s) => [...s.lines, '']),
  ].join('\n');
  return { markdown: markdown.replace(/\n+$/, '\n'), charts, headlines };
}

if (import.meta.main) {
  if (process.argv.includes('--help') || process.argv.includes('-h')) {
    const head = readFileSync(new URL(import.meta.url), 'utf8').split('\n');
    process.stdout.write(head.slice(0, head.findIndex((l) => !l.startsWith('//'))).join('\n') + '\n');
    process.exit(0);
  }
  const check = process.argv.includes('--check');
  const { markdown, charts } = renderPerformance();
  const { headlines } = renderPerformance();
  const want = new Map([[PAGE, markdown], ...charts, [README, renderReadme(readFileSync(join(ROOT, README), 'utf8'), headlines)]]);
  const chartDir = join(ROOT, CHART_DIR);
  const present = existsSync(chartDir) ? readdirSync(chartDir).filter((f) => f.endsWith('.svg')).map((f) => `${CHART_DIR}/${f}`) : [];
  if (check) {
    const stale = [...want].filter(([path, text]) => !existsSync(join(ROOT, path)) || readFileSync(join(ROOT, path), 'utf8') !== text).map(([p]) => p);
    const extra = present.filter((p) => !want.has(p));
    for (const p of stale) process.stderr.write(`${p} is not what npm run bench -- report writes\n`);
    for (const p of extra) process.stderr.write(`${p} is not written by npm run bench -- report (left from an earlier report?)\n`);
    process.exit(stale.length || extra.length ? 1 : 0);
  }
  mkdirSync(chartDir, { recursive: true });
  for (const p of present) if (!want.has(p)) rmSync(join(ROOT, p));
  for (const [path, text] of want) writeFileSync(join(ROOT, path), text);
  process.stdout.write(`wrote ${[...want.keys()].join(', ')}\n`);
}
