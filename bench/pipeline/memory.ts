// Stage 4 of the pipeline benchmark: the RSS of `lagless run palette` (a child process) with a large backlog.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readlinkSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startImageServer } from '../../src/image-server/index.ts';
import { createAdmin } from '../../src/kafka/index.ts';
import { createTopics, procCpuMs, produceUrls, uniq, until, type BenchEnv } from './env.ts';

const ROOT = resolve(new URL('../..', import.meta.url).pathname);
const CLI = join(ROOT, 'bin/lagless.js');

// ---------------------------------------------------------------------------------------------------------------
// Stage 4: RSS of `lagless run palette` (a child process) with a large backlog

export interface MemoryFigure {
  backlog: number;
  produceSeconds: number;
  seconds: number;
  workers: number;
  latencyMs: number;
  /** VmRSS once a second, MB, from the moment the process runs node with the CLI. */
  samplesMb: number[];
  maxMb: number;
  /** Least-squares slope over all samples after the first 10 s, and over the second half, MB per minute. */
  slopeMbPerMin: number;
  slopeSecondHalfMbPerMin: number;
  /** Peak of the last third of the samples minus the peak of the middle third, MB. */
  lateGrowthMb: number;
  /** Outputs the process reported when it stopped, and the rate over the sampling. */
  outputs: number;
  perSecond: number;
  /** Backlog left when sampling ended (the memory was measured with a large backlog throughout). */
  backlogLeft: number;
  exitCode: number | null;
  childCpuMsPerItem: number | null;
}

/**
 * VmRSS of `pid` in MB once it is a started `node` running `script`; 'not-yet' before, 'gone' once it has exited (a
 * zombie has no memory to sample). Before that point nothing is the process to measure: first a fork of this process
 * that has not exec'd, then /usr/bin/env (the binary's shebang), then a node that has just exec'd, a few kB large
 * (which read as 0 MB on some machines). Node starts its own threads before it runs any JavaScript: from then on the
 * runtime is loaded, and a sample is its memory.
 */
export function sampleRss(pid: number, script: string): number | 'not-yet' | 'gone' {
  let status: string;
  let exe: string;
  let argv: string[];
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
    if (/^State:\s+[ZX]/m.test(status)) return 'gone';
    exe = readlinkSync(`/proc/${pid}/exe`);
    argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return 'gone';
  }
  if (!/^node(?:\d+)?$/.test(basename(exe)) || !argv.includes(script)) return 'not-yet';
  if (Number(/^Threads:\s+(\d+)/m.exec(status)?.[1] ?? 0) < 2) return 'not-yet';
  const m = /^VmRSS:\s+(\d+) kB/m.exec(status);
  return m ? Number(m[1]) / 1024 : 'gone';
}

/** Records in a topic so far (sum of its log-end offsets). */
async function recordsIn(env: BenchEnv, topic: string, partitions: number): Promise<number> {
  const admin = createAdmin({ brokers: env.brokers, clientId: 'lagless-bench' });
  try {
    const res = await admin.listOffsets({ topics: [{ name: topic, partitions: Array.from({ length: partitions }, (_, i) => ({ partitionIndex: i, timestamp: -1n })) }] });
    return res.reduce((a, t) => a + t.partitions.reduce((b, p) => b + Number(p.offset), 0), 0);
  } finally {
    await admin.close().catch(() => {});
  }
}

export function slopePerMinute(ys: number[], dtSeconds = 1): number {
  if (ys.length < 2) return 0;
  const n = ys.length;
  const mx = ((n - 1) * dtSeconds) / 2;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  ys.forEach((y, i) => {
    const x = i * dtSeconds - mx;
    num += x * (y - my);
    den += x * x;
  });
  return (num / den) * 60;
}

/** Peak of the last third minus peak of the middle third (0 when there are too few samples). */
export function lateGrowth(samples: number[]): number {
  const third = Math.floor(samples.length / 3);
  if (third === 0) return 0;
  return Math.max(...samples.slice(samples.length - third)) - Math.max(...samples.slice(third, samples.length - third));
}

export async function measureMemory(
  env: BenchEnv,
  o: { records: number; seconds: number; workers: number; latencyMs: number; partitions: number; imagesDir: string; log: (l: string) => void },
): Promise<MemoryFigure> {
  const server = await startImageServer({ latencyMs: o.latencyMs, images: o.imagesDir });
  let child: ChildProcess | undefined;
  const kill = async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await new Promise((r) => child!.once('exit', r));
    }
  };
  env.cleanups.push(kill);
  try {
    const from = uniq(env, 'backlog');
    await createTopics(env, [from, `${from}.out`, `${from}.dlq`], o.partitions);
    const produceMs = await produceUrls(env, from, o.records, (i, id) => server.imageUrl(i, { id }));
    o.log(`  produced a backlog of ${o.records} records in ${(produceMs / 1000).toFixed(1)} s; starting lagless run palette`);
    const argv = [
      CLI, 'run', 'palette',
      '--brokers', env.brokers.join(','),
      '--from', from, '--to', `${from}.out`, '--dlq', `${from}.dlq`, '--group', `${from}-group`,
      '--allow-host', `127.0.0.1:${server.port}`,
      '--workers', String(o.workers),
      '--status-every', '0', '--quiet', '--drain-timeout', '5s',
    ];
    // Started as users start it (the binary's shebang carries its memory flags), with this Node first in PATH.
    const proc = spawn(argv[0]!, argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, KAFKA_BROKERS: env.brokers.join(',') } });
    child = proc;
    let stderr = '';
    proc.stdout!.resume();
    proc.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (stderr.length > 200_000) stderr = stderr.slice(-100_000);
    });
    const exited = new Promise<number | null>((r) => proc.once('exit', (code) => r(code)));
    const samples: number[] = [];
    const early = () => new Error(`lagless run palette exited early (code ${proc.exitCode}): ${stderr.slice(-2000)}`);
    // Sampling starts once the process runs Node with the CLI (a few ms after the spawn).
    for (const spawned = performance.now(); sampleRss(proc.pid!, CLI) === 'not-yet'; await sleep(5)) {
      if (performance.now() - spawned > 30_000) throw new Error(`lagless run palette (pid ${proc.pid}) did not start node within 30 s`);
    }
    const t0 = performance.now();
    // At least o.seconds, and until the process has made an output: a process still loading its modules has no
    // SIGTERM handler yet (the signal would kill it), and its memory says nothing about a backlog.
    for (let i = 0; i < o.seconds || (await recordsIn(env, `${from}.out`, o.partitions)) === 0; i++) {
      if (i >= o.seconds + 120) throw new Error(`lagless run palette made no output within ${i} s: ${stderr.slice(-2000)}`);
      const v = sampleRss(proc.pid!, CLI);
      if (typeof v !== 'number') throw early();
      samples.push(v);
      await sleep(Math.max(0, t0 + (i + 1) * 1000 - performance.now()));
    }
    const cpuMs = procCpuMs(proc.pid!);
    const sampledSeconds = (performance.now() - t0) / 1000;
    proc.kill('SIGTERM');
    const exitCode = await until(exited, 60_000, () => `lagless run palette did not stop after SIGTERM: ${stderr.slice(-2000)}`);
    const m = /stopped after [^:]+: (\d+) output\(s\), (\d+) dead letter/.exec(stderr);
    if (!m) throw new Error(`no summary from lagless run palette (exit ${exitCode}): ${stderr.slice(-2000)}`);
    const outputs = Number(m[1]);
    const warm = samples.slice(Math.min(10, samples.length >> 1));
    return {
      backlog: o.records,
      produceSeconds: produceMs / 1000,
      seconds: sampledSeconds,
      workers: o.workers,
      latencyMs: o.latencyMs,
      samplesMb: samples.map((s) => Math.round(s * 10) / 10),
      maxMb: Math.max(...samples),
      slopeMbPerMin: slopePerMinute(warm),
      slopeSecondHalfMbPerMin: slopePerMinute(samples.slice(samples.length >> 1)),
      lateGrowthMb: lateGrowth(samples),
      outputs,
      perSecond: outputs / sampledSeconds,
      backlogLeft: o.records - outputs,
      exitCode,
      childCpuMsPerItem: cpuMs !== undefined && outputs > 0 ? cpuMs / outputs : null,
    };
  } finally {
    await kill();
    await server.close();
  }
}

