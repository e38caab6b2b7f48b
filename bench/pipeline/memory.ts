// Stage 4 of the pipeline benchmark: the RSS of `lagless run palette` (a child process) with a large backlog.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startImageServer } from '../../src/image-server/index.ts';
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
  /** VmRSS once a second, MB, from the spawn of the process. */
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

function vmRssMb(pid: number): number | undefined {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : undefined;
  } catch {
    return undefined;
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
  o: { records: number; seconds: number; workers: number; latencyMs: number; partitions: number; log: (l: string) => void },
): Promise<MemoryFigure> {
  const server = await startImageServer({ latencyMs: o.latencyMs });
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
    const t0 = performance.now();
    for (let i = 0; i < o.seconds; i++) {
      const v = vmRssMb(proc.pid!);
      if (v === undefined) throw new Error(`lagless run palette exited early (code ${proc.exitCode}): ${stderr.slice(-2000)}`);
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

