// The pipeline benchmark's environment: the broker (given or started), its topics and cleanup, the URL records, CPU accounting.
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBroker, stopBroker } from '../../src/broker/index.ts';
import { freePort } from '../../src/common/index.ts';
import { checkBrokers, createAdmin, createProducer, ensureTopic } from '../../src/kafka/index.ts';
import type { PipelineBenchOptions } from './options.ts';

// ---------------------------------------------------------------------------------------------------------------
// Environment: the broker, created topics, cleanup

export interface BenchEnv {
  brokers: string[];
  /** Set when this bench started the broker. */
  owned: { port: number; dataDir: string; pid: number } | undefined;
  /** Unique prefix of every topic and group of this run. */
  prefix: string;
  topics: string[];
  cleanups: (() => Promise<void>)[];
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|\[::1\]|::1):\d+$/;

/** This bench floods its broker: it must never point at anything beyond this machine. Checked before any other work. */
export function loopbackBrokers(brokers: string): string[] {
  const list = brokers.split(',').map((b) => b.trim());
  const far = list.filter((b) => !LOOPBACK.test(b));
  if (far.length) throw new Error(`brokers must be on loopback (127.0.0.0/8, localhost, [::1]); refusing ${far.join(', ')}`);
  return list;
}

export async function openEnv(o: Pick<PipelineBenchOptions, 'brokers' | 'log'>): Promise<BenchEnv> {
  const prefix = `bench-pipe-${Date.now().toString(36)}`;
  const env: BenchEnv = { brokers: [], owned: undefined, prefix, topics: [], cleanups: [] };
  if (o.brokers) {
    const list = loopbackBrokers(o.brokers);
    try {
      await checkBrokers({ brokers: list, timeoutMs: 3000 });
      env.brokers = list;
      o.log(`using the broker at ${list.join(',')}`);
      return env;
    } catch {
      o.log(`${list.join(',')} does not answer: starting a broker for this run`);
    }
  }
  const port = await freePort();
  const dataDir = await mkdtemp(join(tmpdir(), 'lagless-bench-kafka-'));
  o.log(`starting a Kafka broker on 127.0.0.1:${port} (data in ${dataDir})`);
  const res = await startBroker({ port, dataDir });
  env.owned = { port, dataDir, pid: res.state.pid };
  env.brokers = [res.bootstrap];
  return env;
}

export async function closeEnv(env: BenchEnv): Promise<void> {
  for (const c of env.cleanups.splice(0).reverse()) await c().catch(() => {});
  if (env.owned) {
    await stopBroker({ port: env.owned.port, dataDir: env.owned.dataDir, timeoutMs: 20_000 }).catch(() => {});
    await rm(env.owned.dataDir, { recursive: true, force: true });
    env.owned = undefined;
  } else if (env.topics.length) {
    const admin = createAdmin({ brokers: env.brokers, clientId: 'lagless-bench' });
    await admin.deleteTopics({ topics: env.topics.splice(0) }).catch(() => {});
    await admin.close().catch(() => {});
  }
}

export async function createTopics(env: BenchEnv, names: string[], partitions: number): Promise<void> {
  const admin = createAdmin({ brokers: env.brokers, clientId: 'lagless-bench' });
  try {
    for (const name of names) {
      await ensureTopic(admin, { name, partitions }, env.brokers);
      env.topics.push(name);
    }
  } finally {
    await admin.close().catch(() => {});
  }
}

/**
 * Produces `count` URL records {"id","url"} keyed by id, one batch at a time (acks=all, idempotent: with batches in
 * flight, @platformatic/kafka 2.12.1 can write a batch twice after a partial failure; see src/sources/produce-records.ts).
 */
export async function produceUrls(env: BenchEnv, topic: string, count: number, urlOf: (i: number, id: string) => string): Promise<number> {
  const producer = createProducer({ brokers: env.brokers, clientId: 'lagless-bench-source' });
  const t0 = performance.now();
  try {
    const batch = 2000;
    for (let i = 0; i < count; i += batch) {
      const messages = [];
      for (let j = i; j < Math.min(count, i + batch); j++) {
        const id = `${topic}-${j}`;
        messages.push({ topic, key: id, value: JSON.stringify({ id, url: urlOf(j, id) }) });
      }
      await producer.send({ messages });
    }
  } finally {
    await producer.close().catch(() => {});
  }
  return performance.now() - t0;
}

// ---------------------------------------------------------------------------------------------------------------
// CPU accounting: this process (all threads) and the broker if we own it

export function procCpuMs(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 (1-based) of the whole line, i.e. 11 and 12 after the ")".
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return undefined;
  }
}

/** CPU time the whole machine spent busy so far (user, nice, system, irq, softirq of /proc/stat, all cores), ms. */
export function machineBusyMs(): number | undefined {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal ...: in USER_HZ (100 a second).
    return ((f[0]! + f[1]! + f[2]! + f[5]! + f[6]!) * 1000) / 100;
  } catch {
    return undefined;
  }
}

export interface CpuMark {
  self: number;
  broker: number | undefined;
}
export function cpuMark(env: BenchEnv): CpuMark {
  const u = process.cpuUsage();
  return { self: (u.user + u.system) / 1000, broker: env.owned ? procCpuMs(env.owned.pid) : undefined };
}
export function cpuSince(env: BenchEnv, m: CpuMark, items: number): { benchCpuMsPerItem: number; brokerCpuMsPerItem: number | null } {
  const now = cpuMark(env);
  return {
    benchCpuMsPerItem: (now.self - m.self) / items,
    brokerCpuMsPerItem: now.broker !== undefined && m.broker !== undefined ? (now.broker - m.broker) / items : null,
  };
}

export const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};


export async function until<T>(p: Promise<T>, ms: number, what: () => string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, rej) => {
    timer = setTimeout(() => rej(new Error(`timed out after ${ms / 1000} s: ${what()}`)), ms);
  });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}


let runCounter = 0;
export const uniq = (env: BenchEnv, what: string) => `${env.prefix}-${what}-${++runCounter}`;

