// The consume → produce → commit loop as the KafkaJS docs teach it (eachBatch), shared by KafkaJS and Confluent's KafkaJS API.

/** The parts of KafkaJS's EachBatchPayload the loop uses (Confluent's KafkaJS API has the same). */
export interface BatchPayload {
  batch: { topic: string; partition: number; messages: { offset: string; key: Buffer | null; value: Buffer | null }[] };
  resolveOffset: (offset: string) => void;
  heartbeat: () => Promise<void>;
  commitOffsetsIfNecessary: () => Promise<void>;
  isRunning: () => boolean;
  isStale: () => boolean;
}

/**
 * The eachBatch handler (run with eachBatchAutoResolve: false): the batch's records copied to `to` in one send, which
 * resolves once the idempotent acks=all producer has them acknowledged; only then is each record's offset resolved and
 * the resolved offsets committed (commitOffsetsIfNecessary), then a heartbeat.
 */
export function copyBatch(send: (messages: { key: Buffer | null; value: Buffer | null }[]) => Promise<unknown>) {
  return async ({ batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isRunning, isStale }: BatchPayload): Promise<void> => {
    if (!isRunning() || isStale() || batch.messages.length === 0) return;
    await send(batch.messages.map((m) => ({ key: m.key, value: m.value })));
    for (const m of batch.messages) resolveOffset(m.offset);
    await commitOffsetsIfNecessary();
    await heartbeat();
  };
}
