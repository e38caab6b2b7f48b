// The share group as a whole: where a new group starts reading, and its backlog (what the autoscaler and KEDA read).
import { createAdmin, describeKafkaError } from '../kafka/index.ts';
import { LaglessError } from '../errors/index.ts';
import type { TopicLag } from '../kafka/index.ts';
import type { Admin } from '@platformatic/kafka';
import type { TransformerOptions } from '../runtime/index.ts';

/**
 * A new share group starts at the log end by default (share.auto.offset.reset=latest): records written before its
 * first member joined would never be processed. Lagless sets the group's share.auto.offset.reset to earliest, as its
 * consumer groups start from the earliest offset. It only matters for a group without a share-partition state yet.
 */
export async function startFromEarliest(o: Pick<TransformerOptions, 'kafka' | 'clientId' | 'group'>): Promise<void> {
  const admin = createAdmin({ ...o.kafka, clientId: `${o.clientId}-setup` });
  try {
    await admin.incrementalAlterConfigs({
      resources: [{ resourceType: 32 /* GROUP */, resourceName: o.group, configs: [{ name: 'share.auto.offset.reset', configOperation: 0 /* SET */, value: 'earliest' }] }],
    });
  } catch (err) {
    throw new LaglessError('KAFKA', `setting share.auto.offset.reset=earliest on share group "${o.group}" failed (does the broker support share groups? Kafka 4.2 or later): ${describeKafkaError(err)}`, { cause: err });
  } finally {
    await admin.close().catch(() => {});
  }
}

export async function readShareBacklog(_admin: Admin, group: string, topic: string): Promise<TopicLag> {
  throw new LaglessError('KAFKA', `share group backlog of "${group}" on "${topic}": not readable yet`);
}
