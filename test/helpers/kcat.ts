// An independent reader for exactly-once checks: kcat (librdkafka) reads a topic to its end with a chosen isolation level.
import { spawn, spawnSync } from 'node:child_process';
import { testBrokers } from './kafka.ts';

/** Whether kcat is installed (`npm test` installs it as root; Debian: apt-get install kcat). */
export const hasKcat = spawnSync('sh', ['-c', 'command -v kcat'], { stdio: 'ignore' }).status === 0;

/** Why a test that needs kcat is skipped, printed so that a skip is never silent. */
export const kcatSkipReason = hasKcat ? undefined : 'kcat is missing (npm test installs it as root; Debian: apt-get install kcat)';

export interface KcatRecord {
  key: string | null;
  value: string | null;
  partition: number;
  offset: number;
}

/**
 * Every record of `topic` from the beginning to the end of each partition, as read with isolation.level `isolation`:
 * read_committed stops at the last stable offset and skips aborted transactions (librdkafka's implementation, not
 * Lagless's). Rejects when kcat fails or takes longer than `timeoutMs`.
 */
export function kcatRead(topic: string, isolation: 'read_committed' | 'read_uncommitted', opts: { brokers?: string[]; timeoutMs?: number } = {}): Promise<KcatRecord[]> {
  const brokers = (opts.brokers ?? testBrokers()).join(',');
  return new Promise((resolve, reject) => {
    const child = spawn('kcat', ['-C', '-b', brokers, '-t', topic, '-X', `isolation.level=${isolation}`, '-o', 'beginning', '-e', '-q', '-J'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code !== 0) {
        reject(new Error(`kcat ${isolation} ${topic} failed (${signal ?? `exit ${code}`}): ${err.trim()}`));
        return;
      }
      const records: KcatRecord[] = [];
      for (const line of out.split('\n')) {
        if (!line.trim()) continue;
        const j = JSON.parse(line) as { key: string | null; payload: string | null; partition: number; offset: number };
        records.push({ key: j.key, value: j.payload, partition: j.partition, offset: j.offset });
      }
      resolve(records);
    });
  });
}

/** How many times each key occurs. */
export function countKeys(records: readonly { key: string | null }[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of records) if (r.key !== null) counts.set(r.key, (counts.get(r.key) ?? 0) + 1);
  return counts;
}
