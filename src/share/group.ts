// The share group as a whole: where a new group starts reading, and its backlog (what the autoscaler and KEDA read).
import { createAdmin, describeKafkaError, shareGroupBacklog } from '../kafka/index.ts';
import { LaglessError } from '../errors/index.ts';
import type { TopicLag } from '../kafka/index.ts';
import type { Admin } from '@platformatic/kafka';
import type { TransformerOptions } from '../runtime/index.ts';

/** What a member needs to know of its share group's configuration. */
export interface ShareGroupSettings {
  /** share.delivery.count.limit: past this many deliveries the broker archives a record (it is never delivered again). */
  deliveryLimit: number;
  /** share.record.lock.duration.ms: how long an acquired record stays locked to its member. */
  lockMs: number;
}

const GROUP_CONFIG_SOURCE = 8;

/**
 * Reads the group's settings, and makes a new group start at the log start. A share group starts at the log end by
 * default (share.auto.offset.reset=latest): records written before its first member joined would never be processed.
 * Lagless sets the group's share.auto.offset.reset to earliest, as its consumer groups start from the earliest offset,
 * unless the group was given a value of its own (then it is kept).
 */
export async function prepareShareGroup(o: Pick<TransformerOptions, 'kafka' | 'clientId' | 'group'>): Promise<ShareGroupSettings> {
  const admin = createAdmin({ ...o.kafka, clientId: `${o.clientId}-setup` });
  try {
    const [described] = await admin.describeConfigs({
      resources: [{ resourceType: 32 /* GROUP */, resourceName: o.group, configurationKeys: ['share.auto.offset.reset', 'share.delivery.count.limit', 'share.record.lock.duration.ms'] }],
    });
    const config = new Map((described?.configs ?? []).map((c) => [c.name, c]));
    const reset = config.get('share.auto.offset.reset');
    if (!reset || reset.configSource !== GROUP_CONFIG_SOURCE) {
      await admin.incrementalAlterConfigs({
        resources: [{ resourceType: 32, resourceName: o.group, configs: [{ name: 'share.auto.offset.reset', configOperation: 0 /* SET */, value: 'earliest' }] }],
      });
    }
    return { deliveryLimit: Number(config.get('share.delivery.count.limit')?.value ?? 5), lockMs: Number(config.get('share.record.lock.duration.ms')?.value ?? 30_000) };
  } catch (err) {
    throw new LaglessError('KAFKA', `preparing share group "${o.group}" failed (share groups need Kafka 4.2 or later): ${describeKafkaError(err)}`, { cause: err });
  } finally {
    await admin.close().catch(() => {});
  }
}

/**
 * The share group's backlog on `topic` as lag: per partition, the records not yet acknowledged by any member (the
 * broker's share-partition lag, else the log end minus the share-partition start offset); `committed` is the start
 * offset (null while the group has no state for the partition). Its log-end sum grows with arrivals, as for a
 * consumer group, so the autoscaler reads both the same way.
 */
export async function readShareBacklog(admin: Admin, group: string, topic: string): Promise<TopicLag> {
  const b = await shareGroupBacklog(admin, group, topic);
  const partitions = b.partitions.map((p) => ({ partition: p.partition, logEnd: p.logEndOffset, committed: p.startOffset >= 0n ? p.startOffset : null, lag: p.backlog }));
  return { topic, partitions, logEnd: partitions.reduce((a, p) => a + p.logEnd, 0n), lag: b.total };
}
