// Where a process's time and allocations went: the top functions by self time of a V8 CPU profile (node --cpu-prof),
// grouped by where their code lives, the GC counts of its --trace-gc lines, and the top allocation sites of its
// allocation profile (bench/lib/alloc-sampler.ts). Used on the profiles `npm run bench -- peers --profile DIR` writes:
//
//   node bench/lib/profile-top.ts DIR/noop-r1 [--top 25] [--records N] [--json]
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

/** What the allocation profile (bench/lib/alloc-sampler.ts) says: sampled bytes by allocation site. */
export interface AllocSummary {
  /** Bytes allocated over the run, as sampled (collected objects included). */
  totalMb: number;
  /** Per record, when the record count is given. */
  bytesPerRecord: number | undefined;
  areas: { area: string; mb: number; share: number }[];
  top: { name: string; where: string; area: string; mb: number; share: number }[];
}

interface HeapNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children?: HeapNode[];
}

/** Sampled allocations by the function that allocated them. */
export function summarizeAllocations(profile: { head: HeapNode }, top = 25, records?: number): AllocSummary {
  const bySite = new Map<string, { name: string; where: string; area: string; mb: number; share: number }>();
  const byArea = new Map<string, number>();
  let total = 0;
  const walk = (n: HeapNode) => {
    if (n.selfSize > 0) {
      const { functionName, url, lineNumber } = n.callFrame;
      const name = functionName || '(anonymous)';
      const where = url ? `${shortUrl(url)}:${lineNumber + 1}` : '';
      const area = areaOf(url, name);
      const e = bySite.get(`${name} ${where}`) ?? { name, where, area, mb: 0, share: 0 };
      e.mb += n.selfSize / 1e6;
      bySite.set(`${name} ${where}`, e);
      byArea.set(area, (byArea.get(area) ?? 0) + n.selfSize / 1e6);
      total += n.selfSize;
    }
    for (const c of n.children ?? []) walk(c);
  };
  walk(profile.head);
  const totalMb = total / 1e6;
  const share = (mb: number) => (totalMb > 0 ? mb / totalMb : 0);
  const sites = [...bySite.values()].sort((a, b) => b.mb - a.mb);
  for (const e of sites) e.share = share(e.mb);
  return {
    totalMb,
    bytesPerRecord: records ? total / records : undefined,
    areas: [...byArea].map(([area, mb]) => ({ area, mb, share: share(mb) })).sort((a, b) => b.mb - a.mb),
    top: sites.slice(0, top),
  };
}

const shortUrl = (url: string) => url.replace(/^file:\/\//, '').replace(/^.*\/node_modules\//, '').replace(/^.*\/(src|bench)\//, '$1/');

export interface ProfileSummary {
  totalMs: number;
  /** Not idle: the time the thread was running something (JS, GC, native). */
  busyMs: number;
  areas: { area: string; selfMs: number; share: number }[];
  top: ProfileEntry[];
  gc: { scavenges: number; markCompacts: number; gcMs: number } | undefined;
  alloc: AllocSummary | undefined;
  /** process.memoryUsage() at the highest RSS sampled (bench/lib/alloc-sampler.ts), bytes. */
  memory: { rss: number; heapTotal: number; heapUsed: number; external: number; arrayBuffers: number } | undefined;
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
export function summarizeProfile(profile: CpuProfile, top = 25): Omit<ProfileSummary, 'gc' | 'alloc' | 'memory'> {
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
    const where = url ? `${shortUrl(url)}:${lineNumber + 1}` : '';
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

/** The summary of the profile in `dir` (the newest *.cpuprofile there), of its gc.txt and alloc.heapprofile if there. */
export function summarizeDir(dir: string, top = 25, records?: number): ProfileSummary {
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
  // The main thread's files (thread 0) of the profiled process.
  const own = (prefix: string, ext: string) => readdirSync(dir).find((f) => f.startsWith(prefix) && f.endsWith(`-0${ext}`));
  let alloc: AllocSummary | undefined;
  const allocFile = own('alloc-', '.heapprofile');
  if (allocFile) alloc = summarizeAllocations(JSON.parse(readFileSync(join(dir, allocFile), 'utf8')) as { head: HeapNode }, top, records);
  const memoryFile = own('memory-', '.json');
  const memory = memoryFile ? (JSON.parse(readFileSync(join(dir, memoryFile), 'utf8')) as ProfileSummary['memory']) : undefined;
  return { ...summarizeProfile(profile, top), gc, alloc, memory };
}

export function formatSummary(label: string, s: ProfileSummary): string[] {
  const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
  const lines = [`${label}: ${(s.busyMs / 1000).toFixed(2)} s busy of ${(s.totalMs / 1000).toFixed(2)} s profiled`];
  if (s.gc) lines.push(`  GC: ${s.gc.scavenges} scavenges, ${s.gc.markCompacts} mark-compacts, ${s.gc.gcMs.toFixed(0)} ms of pauses`);
  if (s.memory) {
    const mb = (b: number) => `${(b / 2 ** 20).toFixed(0)} MB`;
    const m = s.memory;
    // external counts the ArrayBuffers (Buffers) outside the V8 heap; the rest is code, malloc arenas, thread stacks.
    lines.push(`  memory at the highest RSS sampled: ${mb(m.rss)} = V8 heap ${mb(m.heapTotal)} (used ${mb(m.heapUsed)}) + external ${mb(m.external)} (ArrayBuffers ${mb(m.arrayBuffers)}) + other ${mb(Math.max(0, m.rss - m.heapTotal - m.external))}`);
  }
  lines.push('  by area (self time, share of busy):');
  for (const a of s.areas.slice(0, 12)) lines.push(`    ${pct(a.share).padStart(6)}  ${(a.selfMs / 1000).toFixed(2).padStart(6)} s  ${a.area}`);
  lines.push('  top functions:');
  for (const e of s.top) lines.push(`    ${pct(e.share).padStart(6)}  ${e.name}  ${e.where}`);
  if (s.alloc) {
    const a = s.alloc;
    lines.push(`  allocated (sampled, collected objects included): ${a.totalMb.toFixed(0)} MB${a.bytesPerRecord !== undefined ? `, ${a.bytesPerRecord.toFixed(0)} bytes per record` : ''}`);
    for (const x of a.areas.slice(0, 8)) lines.push(`    ${pct(x.share).padStart(6)}  ${x.mb.toFixed(0).padStart(6)} MB  ${x.area}`);
    lines.push('  top allocation sites:');
    for (const e of a.top) lines.push(`    ${pct(e.share).padStart(6)}  ${e.name}  ${e.where}`);
  }
  return lines;
}

if (import.meta.main) {
  const { values: a, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string' }, records: { type: 'string' }, json: { type: 'boolean', default: false } } });
  if (positionals.length === 0) {
    process.stderr.write('usage: node bench/lib/profile-top.ts DIR... [--top N] [--records N] [--json]\n');
    process.exit(2);
  }
  const top = a.top ? Number(a.top) : 25;
  for (const dir of positionals) {
    const s = summarizeDir(dir, top, a.records ? Number(a.records) : undefined);
    process.stdout.write(a.json ? JSON.stringify(s) + '\n' : formatSummary(dir, s).join('\n') + '\n');
  }
}
