// Where a process's time went: the top functions by self time of a V8 CPU profile (node --cpu-prof), grouped by
// where their code lives, and the GC counts of its --trace-gc lines. Used on the profiles `npm run bench -- peers
// --profile DIR` writes:
//
//   node bench/lib/profile-top.ts DIR/noop-r1 [--top 25] [--json]
//
// Self time is the time the sampled stack had the function on top; "(idle)" is time spent waiting for I/O.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface ProfileEntry {
  name: string;
  where: string;
  area: string;
  selfMs: number;
  share: number;
}

export interface ProfileSummary {
  totalMs: number;
  /** Not idle: the time the thread was running something (JS, GC, native). */
  busyMs: number;
  areas: { area: string; selfMs: number; share: number }[];
  top: ProfileEntry[];
  gc: { scavenges: number; markCompacts: number; gcMs: number } | undefined;
}

/** Where a function's code lives, in a few buckets. */
export function areaOf(url: string, name: string): string {
  if (!url) return name.startsWith('(') ? name : 'native';
  if (url.includes('@platformatic/kafka')) return 'client (@platformatic/kafka)';
  if (url.includes('/node_modules/kafkajs/')) return 'client (kafkajs)';
  if (url.includes('/node_modules/')) return `dependency (${/node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1] ?? '?'})`;
  if (url.startsWith('node:')) return 'node internals';
  const src = /\/(src|bench)\/([^/]+)\//.exec(url);
  if (src) return `${src[1]}/${src[2]}`;
  return 'other';
}

/** Self time per function of one profile. Sample times come from timeDeltas (hitCount is not set by --cpu-prof). */
export function summarizeProfile(profile: CpuProfile, top = 25): Omit<ProfileSummary, 'gc'> {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  // A sample's time is the delta to the next sample.
  for (let i = 0; i < samples.length; i++) selfUs.set(samples[i]!, (selfUs.get(samples[i]!) ?? 0) + (deltas[i + 1] ?? 0));
  const byFn = new Map<string, ProfileEntry>();
  const byArea = new Map<string, number>();
  let totalUs = 0;
  let idleUs = 0;
  for (const [id, us] of selfUs) {
    const n = byId.get(id)!;
    const { functionName, url, lineNumber } = n.callFrame;
    const name = functionName || '(anonymous)';
    const file = url.replace(/^file:\/\//, '').replace(/^.*\/node_modules\//, '').replace(/^.*\/(src|bench)\//, '$1/');
    const where = url ? `${file}:${lineNumber + 1}` : '';
    const area = areaOf(url, name);
    totalUs += us;
    if (name === '(idle)') idleUs += us;
    const key = `${name} ${where}`;
    const e = byFn.get(key) ?? { name, where, area, selfMs: 0, share: 0 };
    e.selfMs += us / 1000;
    byFn.set(key, e);
    byArea.set(area, (byArea.get(area) ?? 0) + us / 1000);
  }
  const busyMs = (totalUs - idleUs) / 1000;
  const share = (ms: number) => (busyMs > 0 ? ms / busyMs : 0);
  const entries = [...byFn.values()].filter((e) => e.name !== '(idle)').sort((a, b) => b.selfMs - a.selfMs);
  for (const e of entries) e.share = share(e.selfMs);
  const areas = [...byArea]
    .filter(([a]) => a !== '(idle)')
    .map(([area, selfMs]) => ({ area, selfMs, share: share(selfMs) }))
    .sort((a, b) => b.selfMs - a.selfMs);
  return { totalMs: totalUs / 1000, busyMs, areas, top: entries.slice(0, top) };
}

/** Counts of --trace-gc lines: "Scavenge" and "Mark-Compact" (also "Mark-Compact (reduce)"), and their summed pause. */
export function summarizeGc(text: string): { scavenges: number; markCompacts: number; gcMs: number } {
  let scavenges = 0;
  let markCompacts = 0;
  let gcMs = 0;
  for (const line of text.split('\n')) {
    const kind = /\d ms: (Scavenge|Mark-Compact|Minor Mark-Sweep|Mark-Sweep)\b/.exec(line)?.[1];
    if (!kind) continue;
    if (kind === 'Scavenge' || kind === 'Minor Mark-Sweep') scavenges += 1;
    else markCompacts += 1;
    // "... MB, 1.2 / 0.0 ms" : the pause is the first number before " / ".
    const ms = /, ([\d.]+) \/ [\d.]+ ms/.exec(line)?.[1];
    if (ms) gcMs += Number(ms);
  }
  return { scavenges, markCompacts, gcMs };
}

/** The summary of the profile in `dir` (the newest *.cpuprofile there) and of its gc.txt if there is one. */
export function summarizeDir(dir: string, top = 25): ProfileSummary {
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => join(dir, f))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  if (files.length === 0) throw new Error(`no .cpuprofile in ${dir}`);
  const profile = JSON.parse(readFileSync(files[0]!, 'utf8')) as CpuProfile;
  let gc: ProfileSummary['gc'];
  try {
    gc = summarizeGc(readFileSync(join(dir, 'gc.txt'), 'utf8'));
  } catch {
    gc = undefined;
  }
  return { ...summarizeProfile(profile, top), gc };
}

export function formatSummary(label: string, s: ProfileSummary): string[] {
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  const lines = [`${label}: ${(s.busyMs / 1000).toFixed(2)} s busy of ${(s.totalMs / 1000).toFixed(2)} s profiled`];
  if (s.gc) lines.push(`  GC: ${s.gc.scavenges} scavenges, ${s.gc.markCompacts} mark-compacts, ${s.gc.gcMs.toFixed(0)} ms of pauses`);
  lines.push('  by area (self time, share of busy):');
  for (const a of s.areas.slice(0, 12)) lines.push(`    ${pct(a.share).padStart(6)}  ${(a.selfMs / 1000).toFixed(2).padStart(6)} s  ${a.area}`);
  lines.push('  top functions:');
  for (const e of s.top) lines.push(`    ${pct(e.share).padStart(6)}  ${e.name}  ${e.where}`);
  return lines;
}

if (import.meta.main) {
  const { values: a, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string' }, json: { type: 'boolean', default: false } } });
  if (positionals.length === 0) {
    process.stderr.write('usage: node bench/lib/profile-top.ts DIR... [--top N] [--json]\n');
    process.exit(2);
  }
  const top = a.top ? Number(a.top) : 25;
  for (const dir of positionals) {
    const s = summarizeDir(dir, top);
    process.stdout.write(a.json ? JSON.stringify(s) + '\n' : formatSummary(dir, s).join('\n') + '\n');
  }
}
