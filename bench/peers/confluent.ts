// The @confluentinc/kafka-javascript contender of the peers bench, as a child process: the KafkaJS loop on its KafkaJS API.
// It is not a dependency of Lagless (a native addon whose install downloads a prebuilt librdkafka binding, or builds
// one): it is loaded from LAGLESS_BENCH_CONFLUENT (a path to the installed package) or else by its name.
// `--probe` only says whether it loads: "ok", or the reason it does not, on stdout.
import { createRequire } from 'node:module';
import { childArgs, runChild } from './child.ts';
import { copyBatch, type BatchPayload } from './each-batch.ts';

const require = createRequire(import.meta.url);

// Untyped: the package is not installed where the project is type-checked.
function load(): any {
  return require(process.env.LAGLESS_BENCH_CONFLUENT || '@confluentinc/kafka-javascript');
}

if (process.argv.includes('--probe')) {
  try {
    if (typeof load().KafkaJS?.Kafka !== 'function') throw new Error('the package has no KafkaJS.Kafka');
    process.stdout.write('ok\n');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = (e instanceof Error ? e.message : String(e)).split('\n')[0];
    const hint = e.code === 'MODULE_NOT_FOUND' ? ' (its install fetches a prebuilt librdkafka binding from GitHub, or builds librdkafka; where it installs, set LAGLESS_BENCH_CONFLUENT to its directory)' : '';
    process.stdout.write(`${why}${hint}\n`);
  }
} else {
  const a = childArgs();
  const { Kafka } = load().KafkaJS;
  const kafka = new Kafka({ kafkaJS: { clientId: `${a.group}-confluent`, brokers: a.brokers, logLevel: load().KafkaJS.logLevel.WARN } });
  // Its KafkaJS API takes acks per producer, not per send; the same one request in flight as the KafkaJS contender.
  const producer = kafka.producer({ kafkaJS: { idempotent: true, acks: -1, maxInFlightRequests: 1 } });
  // autoCommit off: with it on, this API commits on a timer (5 s) instead of after each batch as KafkaJS does, and
  // commitOffsetsIfNecessary() then commits the resolved offsets after each batch.
  const consumer = kafka.consumer({ kafkaJS: { groupId: a.group, fromBeginning: true, autoCommit: false } });
  const loop = async () => {
    await producer.connect();
    await consumer.connect();
    await consumer.subscribe({ topics: [a.from] });
    const each = copyBatch((messages) => producer.send({ topic: a.to, messages }));
    await consumer.run({ eachBatchAutoResolve: false, eachBatch: (p: unknown) => each(p as BatchPayload) });
  };
  runChild(loop(), async () => {
    await consumer.disconnect();
    await producer.disconnect();
  });
}
