// Reads whole topics with Apache Kafka's own Java client (TopicDump.java, compiled once per run), so that the accounting does not trust the client Lagless runs on.
import { spawn } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { findJava, provisionKafka } from '../../src/broker/index.ts';
import type { TopicRecord } from './kafka-io.ts';

const SOURCE = fileURLToPath(new URL('./TopicDump.java', import.meta.url));

function run(cmd: string, args: string[], onLine?: (line: string) => void): Promise<{ code: number; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let rest = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (d: string) => {
      const lines = (rest + d).split('\n');
      rest = lines.pop() ?? '';
      for (const l of lines) onLine?.(l);
    });
    child.stderr.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-8000)));
    child.on('error', (err) => resolve({ code: -1, stderr: String(err) }));
    child.on('close', (code) => {
      if (rest) onLine?.(rest);
      resolve({ code: code ?? -1, stderr });
    });
  });
}

export class TopicDumper {
  readonly #java: string;
  readonly #classpath: string;

  private constructor(java: string, classpath: string) {
    this.#java = java;
    this.#classpath = classpath;
  }

  /** Compiles TopicDump.java against the cached Kafka jars into `workDir`. Needs a JDK (javac next to java). */
  static async prepare(workDir: string): Promise<TopicDumper> {
    const java = await findJava();
    const install = await provisionKafka();
    const javac = java.java === 'java' ? 'javac' : join(dirname(java.java), 'javac');
    const out = join(workDir, 'topic-dump-classes');
    await mkdir(out, { recursive: true });
    const libs = join(install.libDir, '*');
    const res = await run(javac, ['-nowarn', '-cp', libs, '-d', out, SOURCE]);
    if (res.code !== 0) throw new Error(`could not compile ${SOURCE} with ${javac} (a JDK is needed): ${res.stderr.trim()}`);
    return new TopicDumper(java.java, `${libs}:${out}`);
  }

  /** Every record of the topics, read from each partition's start to its end offset (last stable offset for read_committed). */
  async dump(brokers: string[], topics: string[], isolation: 'read_committed' | 'read_uncommitted' = 'read_uncommitted'): Promise<Map<string, TopicRecord[]>> {
    const out = new Map<string, TopicRecord[]>(topics.map((t) => [t, []]));
    const res = await run(this.#java, ['-Xmx256m', '-XX:TieredStopAtLevel=1', '-cp', this.#classpath, 'TopicDump', brokers.join(','), isolation, ...topics], (line) => {
      if (!line.startsWith('{')) return;
      const r = JSON.parse(line) as { topic: string; partition: number; offset: number; timestamp: number; key: string | null; value: string | null };
      out.get(r.topic)?.push({ key: r.key, value: r.value ?? '', partition: r.partition, offset: BigInt(r.offset), timestamp: r.timestamp });
    });
    if (res.code !== 0) throw new Error(`TopicDump failed (exit ${res.code}): ${res.stderr.trim().split('\n').slice(-8).join('\n')}`);
    return out;
  }
}
