// The KafkaJS contender of the peers bench, as a child process: eachBatch, as the KafkaJS docs teach it.
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { childArgs, runChild } from './child.ts';
import { copyBatch, type BatchPayload } from './each-batch.ts';

const a = childArgs();
const kafka = new Kafka({ clientId: `${a.group}-kafkajs`, brokers: a.brokers, logLevel: logLevel.WARN });
// Idempotence in KafkaJS needs one request in flight; acks=all (-1) is given per send.
const producer = kafka.producer({ idempotent: true, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
// autoCommit stays on (the default): KafkaJS then commits the resolved offsets after each batch, and only those.
const consumer = kafka.consumer({ groupId: a.group });

async function loop(): Promise<void> {
  await producer.connect();
  await consumer.connect();
  await consumer.subscribe({ topics: [a.from], fromBeginning: true });
  const each = copyBatch((messages) => producer.send({ topic: a.to, acks: -1, messages }));
  await consumer.run({ eachBatchAutoResolve: false, eachBatch: (p) => each(p as unknown as BatchPayload) });
}

runChild(loop(), async () => {
  await consumer.disconnect();
  await producer.disconnect();
});
