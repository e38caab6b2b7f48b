// Stage 3 of the pipeline benchmark: the runtime's overhead, the noop job through the Transformer vs a bare @platformatic/kafka loop.
import { Consumer, Producer, ProduceAcks, stringDeserializers, stringSerializers, type Message } from '@platformatic/kafka';
import { createNoopJob } from '../../src/jobs/index.ts';
import { drainWithTransformer } from './drain.ts';
import { cpuMark, cpuSince, createTopics, produceUrls, uniq, until, type BenchEnv } from './env.ts';
// ---------------------------------------------------------------------------------------------------------------
// Stage 3: runtime overhead, noop job through the Transformer vs a bare @platformatic/kafka loop

export interface OverheadRun {
  contender: 'noop' | 'bare';
  records: number;
  seconds: number;
  perSecond: number;
  benchCpuMsPerItem: number;
  brokerCpuMsPerItem: number | null;
}

/** Records per produce request in the bare loop (the Transformer's sink batches up to 500). */
export const BARE_BATCH = 1000;

/**
 * What a competent user writes with @platformatic/kafka for "consume, produce, commit after the ack": a group
 * consumer in flowing mode fills a queue, one send at a time takes everything queued (up to BARE_BATCH) as one
 * produce request to an idempotent acks=all producer, and after each acknowledged batch the next offsets are
 * committed, one commit request at a time with the newest offsets coalesced (commits never block the sends).
 * Resolves when `expected` outputs are acknowledged and their offsets committed.
 */
export async function bareLoop(brokers: string[], from: string, to: string, group: string, expected: number): Promise<{ first: number; last: number }> {
  const consumer = new Consumer({
    clientId: `${group}-bare`,
    bootstrapBrokers: brokers,
    groupId: group,
    deserializers: stringDeserializers,
    autocommit: false,
    maxWaitTime: 500,
  });
  const producer = new Producer({ clientId: `${group}-bare-out`, bootstrapBrokers: brokers, serializers: stringSerializers, idempotent: true, acks: ProduceAcks.ALL });
  let first = 0;
  try {
    const stream = await consumer.consume({ topics: [from], mode: 'committed', fallbackMode: 'earliest', autocommit: false });
    const queue: Message<string, string, string, string>[] = [];
    let wake: (() => void) | undefined;
    let failed: Error | undefined;
    stream.on('data', (m) => {
      if (first === 0) first = performance.now();
      queue.push(m);
      // Bounded memory: stop fetching while a few batches wait.
      if (queue.length >= 4 * BARE_BATCH) stream.pause();
      wake?.();
    });
    stream.on('error', (e) => {
      failed = e;
      wake?.();
    });
    const toCommit = new Map<number, { offset: bigint; leaderEpoch: number }>();
    let committing: Promise<void> | undefined;
    const commitLoop = async () => {
      while (toCommit.size) {
        const offsets = [...toCommit].map(([partition, o]) => ({ topic: from, partition, offset: o.offset, leaderEpoch: o.leaderEpoch }));
        toCommit.clear();
        await consumer.commit({ offsets });
      }
      committing = undefined;
    };
    let acked = 0;
    while (acked < expected) {
      if (failed) throw failed;
      if (queue.length === 0) {
        await new Promise<void>((r) => (wake = r));
        wake = undefined;
        continue;
      }
      const batch = queue.splice(0, BARE_BATCH);
      if (stream.isPaused() && queue.length < 4 * BARE_BATCH) stream.resume();
      await producer.send({ messages: batch.map((m) => ({ topic: to, key: m.key, value: m.value })) });
      acked += batch.length;
      for (const m of batch) toCommit.set(m.partition, { offset: m.offset + 1n, leaderEpoch: m.leaderEpoch });
      committing ??= commitLoop();
    }
    const last = performance.now();
    await committing;
    await stream.close().catch(() => {});
    return { first, last };
  } finally {
    await consumer.close().catch(() => {});
    await producer.close().catch(() => {});
  }
}

export async function measureOverhead(env: BenchEnv, o: { records: number; partitions: number; rounds: number; log: (l: string) => void }): Promise<OverheadRun[]> {
  const from = uniq(env, 'passthrough');
  await createTopics(env, [from], o.partitions);
  // Records shaped like the real input (about 100 bytes), never fetched: the noop job copies them.
  const ms = await produceUrls(env, from, o.records, (i, id) => `http://127.0.0.1:9/images/photo-${i % 10}.jpg?id=${id}`);
  o.log(`  produced ${o.records} records to ${from} (${o.partitions} partitions) in ${(ms / 1000).toFixed(1)} s`);
  const once = async (contender: 'bare' | 'noop', records: number): Promise<OverheadRun> => {
    const to = uniq(env, `out-${contender}`);
    await createTopics(env, [to], o.partitions);
    const group = `${to}-group`;
    const cpu = cpuMark(env);
    let seconds: number;
    if (contender === 'bare') {
      const r = await until(bareLoop(env.brokers, from, to, group, records), 30 * 60_000, () => 'bare loop');
      seconds = (r.last - r.first) / 1000;
    } else {
      const dlq = `${to}.dlq`;
      await createTopics(env, [dlq], o.partitions);
      const r = await drainWithTransformer(env, createNoopJob(), { from, to, dlq, group, ordering: 'unordered' }, records);
      seconds = r.seconds;
    }
    return { contender, records, seconds, perSecond: records / seconds, ...cpuSince(env, cpu, records) };
  };
  // Warm-up, not counted: both code paths compiled, the broker's page cache filled, before anything is timed.
  const warm = Math.min(o.records, 20_000);
  for (const contender of ['bare', 'noop'] as const) await once(contender, warm);
  const runs: OverheadRun[] = [];
  for (let round = 0; round < o.rounds; round++) {
    // Alternated, so that a change of load on the machine hits both contenders alike.
    for (const contender of round % 2 === 0 ? (['bare', 'noop'] as const) : (['noop', 'bare'] as const)) {
      const run = await once(contender, o.records);
      o.log(`  round ${round + 1} ${contender}: ${Math.round(run.perSecond)} msg/s`);
      runs.push(run);
    }
  }
  return runs;
}

