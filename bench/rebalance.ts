// Records redone per scale event: two `lagless run palette` members share a backlog while one joins, leaves (SIGTERM) or crashes (kill -9); outputs are counted per id.
//
//   npm run bench -- rebalance [--records 3000] [--partitions 8] [--latency 100] [--events up,down,crash]
//                              [--group-protocol classic|consumer] [--brokers host:port] [--out FILE]
//
// Each event runs on its own topics and group: member A works alone (or A and B together), then B joins (up), is
// stopped with SIGTERM (down) or with SIGKILL (crash) while records are in flight; the run waits until the group has
// committed everything, stops the members, reads the output and dead-letter topics and counts the records that came
// out more than once. The members are this checkout's CLI (src/cli/main.ts), so the same file measures an older
// checkout too (--group-protocol is only passed when given: older checkouts do not have it).
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Consumer, stringDeserializers } from '@platformatic/kafka';
import { startImageServer } from '../src/image-server/index.ts';
import { createAdmin, readGroupLag } from '../src/kafka/index.ts';
import { closeEnv, createTopics, openEnv, produceUrls, uniq, type BenchEnv } from './pipeline/env.ts';
import { defaultPipelineBenchOptions } from './pipeline/options.ts';
import { benchLog } from './lib/cli.ts';

const EVENTS = ['up', 'down', 'crash'] as const;
type ScaleEvent = (typeof EVENTS)[number];

const { values: a } = parseArgs({
  options: {
    records: { type: 'string', default: '3000' },
    partitions: { type: 'string', default: '8' },
    latency: { type: 'string', default: '100' },
    events: { type: 'string', default: EVENTS.join(',') },
    'group-protocol': { type: 'string' },
    brokers: { type: 'string', default: process.env.KAFKA_BROKERS },
    out: { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  },
});
if (a.help) {
  process.stdout.write('usage: npm run bench -- rebalance [--records 3000] [--partitions 8] [--latency 100] [--events up,down,crash] [--group-protocol classic|consumer] [--brokers host:port] [--out FILE]\n');
  process.exit(0);
}
const records = Number(a.records);
const partitions = Number(a.partitions);
const latencyMs = Number(a.latency);
const events = a.events.split(',').map((e) => e.trim()) as ScaleEvent[];
for (const e of events) if (!EVENTS.includes(e)) throw new Error(`--events: unknown event "${e}" (up, down, crash)`);
const log = benchLog;
const cli = new URL('../src/cli/main.ts', import.meta.url).pathname;

interface Member {
  child: ChildProcess;
  stderr: string;
  exited: Promise<number | null>;
}

function member(env: BenchEnv, args: string[]): Member {
  const child = spawn(process.execPath, [cli, ...args, '--brokers', env.brokers.join(','), '--status-every', '0', '--status-interval', '1s'], { stdio: ['ignore', 'ignore', 'pipe'] });
  const m: Member = { child, stderr: '', exited: new Promise((r) => child.once('exit', (code) => r(code))) };
  child.stderr!.on('data', (d: Buffer) => (m.stderr += d.toString()));
  return m;
}

async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs = 300_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms: ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function lagOf(env: BenchEnv, group: string, topic: string): Promise<number> {
  const admin = createAdmin({ brokers: env.brokers, clientId: 'lagless-bench' });
  try {
    const l = (await readGroupLag(admin, group, new Map([[topic, partitions]]))).get(topic);
    return l ? Number(l.lag) : records;
  } finally {
    await admin.close().catch(() => {});
  }
}

/** Every record of the topics (read to their end offsets), as ids. */
async function readIds(env: BenchEnv, topics: string[]): Promise<string[]> {
  const admin = createAdmin({ brokers: env.brokers, clientId: 'lagless-bench' });
  let total = 0;
  try {
    const res = await admin.listOffsets({ topics: topics.map((name) => ({ name, partitions: Array.from({ length: partitions }, (_, i) => ({ partitionIndex: i, timestamp: -1n })) })) });
    for (const t of res) for (const p of t.partitions) total += Number(p.offset);
  } finally {
    await admin.close().catch(() => {});
  }
  const ids: string[] = [];
  if (total === 0) return ids;
  const consumer = new Consumer({ groupId: `${topics[0]}-reader-${Date.now()}`, bootstrapBrokers: env.brokers, clientId: 'lagless-bench', deserializers: stringDeserializers });
  try {
    const stream = await consumer.consume({ topics, mode: 'earliest', autocommit: false });
    for await (const m of stream) {
      let id = m.key ?? '';
      try {
        const v = JSON.parse(m.value ?? '{}') as { id?: string; original?: string };
        id = v.id ?? (v.original ? ((JSON.parse(v.original) as { id?: string }).id ?? id) : id);
      } catch {
        /* keep the key */
      }
      ids.push(id);
      if (ids.length >= total) break;
    }
    await stream.close().catch(() => {});
  } finally {
    await consumer.close(true).catch(() => {});
  }
  return ids;
}

interface EventFigure {
  event: ScaleEvent;
  records: number;
  outputs: number;
  redone: number;
  missing: number;
  /** Records whose work was thrown away at a rebalance or a stop (the members' final lines; a killed member prints none). */
  abandoned: number;
  /** Records left uncommitted when the group stopped making progress (0: everything was committed). */
  stalled: number;
  seconds: number;
}

async function runEvent(env: BenchEnv, event: ScaleEvent, imageUrl: (i: number, id: string) => string, host: string): Promise<EventFigure> {
  const from = uniq(env, `rebal-${event}`);
  const to = `${from}.out`;
  const dlq = `${from}.dlq`;
  const group = `${from}-group`;
  await createTopics(env, [from, to, dlq], partitions);
  await produceUrls(env, from, records, imageUrl);
  const args = ['run', 'palette', '--from', from, '--to', to, '--dlq', dlq, '--group', group, '--allow-host', host, '--workers', '1', '--no-create-topics'];
  if (a['group-protocol']) args.push('--group-protocol', a['group-protocol']);
  const t0 = performance.now();
  const assigned = (m: Member) => /assignment \(generation \d+\): partitions \[\d/.test(m.stderr.split('\n').filter((l) => l.includes('assignment (')).at(-1) ?? '');
  const A = member(env, args);
  await waitFor('member A working', async () => assigned(A) && (await lagOf(env, group, from)) < records * 0.9);
  const B = member(env, args);
  await waitFor('member B has partitions', () => assigned(B));
  if (event !== 'up') {
    // Both work for a moment, then B goes while it has records in flight.
    const lagNow = await lagOf(env, group, from);
    await waitFor('both members working', async () => (await lagOf(env, group, from)) < lagNow - records * 0.1);
    B.child.kill(event === 'down' ? 'SIGTERM' : 'SIGKILL');
    await B.exited;
  }
  // Committed to the end, or stalled: the lag has not moved for 60 s (reported, not waited for).
  let stalled = 0;
  let last = { lag: -1, at: Date.now() };
  await waitFor('everything committed, or a stall', async () => {
    const lag = await lagOf(env, group, from);
    if (lag !== last.lag) last = { lag, at: Date.now() };
    if (lag > 0 && Date.now() - last.at > 60_000) stalled = lag;
    return lag === 0 || stalled > 0;
  }, 900_000);
  const seconds = (performance.now() - t0) / 1000;
  for (const m of [A, B]) if (m.child.exitCode === null && m.child.signalCode === null) m.child.kill('SIGTERM');
  await Promise.all([A.exited, B.exited]);
  const ids = await readIds(env, [to, dlq]);
  const distinct = new Set(ids);
  const abandoned = [A, B].reduce((n, m) => n + Number(/stopped after [^\n]*?(\d+) abandoned/.exec(m.stderr)?.[1] ?? 0), 0);
  return { event, records, outputs: ids.length, redone: ids.length - distinct.size, missing: records - distinct.size, abandoned, stalled, seconds };
}

const env = await openEnv({ ...defaultPipelineBenchOptions(), brokers: a.brokers, log });
const server = await startImageServer({ latencyMs });
const figures: EventFigure[] = [];
try {
  for (const event of events) {
    log(`event ${event}: ${records} records, ${partitions} partitions, ${latencyMs} ms per download, group protocol ${a['group-protocol'] ?? '(the checkout\'s default)'}`);
    const f = await runEvent(env, event, (i, id) => server.imageUrl(i, { id }), `127.0.0.1:${server.port}`);
    log(`  ${f.outputs} outputs for ${f.records} records: ${f.redone} redone, ${f.missing} missing, ${f.abandoned} abandoned${f.stalled ? `, STALLED with ${f.stalled} records uncommitted` : ''} (${f.seconds.toFixed(1)} s)`);
    figures.push(f);
  }
} finally {
  await server.close();
  await closeEnv(env);
}
process.stdout.write(`\n| scale event | records | outputs + dead letters | redone | missing | abandoned (work thrown away) | stalled (records never committed) |\n|---|---|---|---|---|---|---|\n`);
for (const f of figures) process.stdout.write(`| ${f.event === 'up' ? 'B joins A (scale up)' : f.event === 'down' ? 'B leaves (SIGTERM, scale down)' : 'B crashes (kill -9)'} | ${f.records} | ${f.outputs} | ${f.redone} | ${f.missing} | ${f.abandoned} | ${f.stalled} |\n`);
if (a.out) writeFileSync(a.out, JSON.stringify({ groupProtocol: a['group-protocol'] ?? null, latencyMs, partitions, figures }, null, 2));
