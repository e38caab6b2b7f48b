// Factories for @platformatic/kafka clients with Lagless's defaults: string keys, durable producers, explicit commits.
import {
  Admin,
  Consumer,
  Producer,
  ProduceAcks,
  stringDeserializers,
  stringSerializers,
  type ConsumerOptions,
  type ProducerOptions,
} from '@platformatic/kafka';

export interface KafkaConnectionOptions {
  /** Bootstrap servers, "host:port". */
  brokers: string[];
  /** Client id shown in broker logs and group descriptions. Default "lagless". */
  clientId?: string;
  /** Per-request timeout in ms. Default 30000. */
  requestTimeoutMs?: number;
  /** TCP connect timeout in ms. Default 5000. */
  connectTimeoutMs?: number;
}

export type StringProducer = Producer<string, string, string, string>;
export type StringConsumer = Consumer<string, string, string, string>;

function base(opts: KafkaConnectionOptions) {
  return {
    clientId: opts.clientId ?? 'lagless',
    bootstrapBrokers: opts.brokers,
    timeout: opts.requestTimeoutMs ?? 30_000,
    connectTimeout: opts.connectTimeoutMs ?? 5_000,
  };
}

export interface DurableProducerOptions extends KafkaConnectionOptions {
  /** Idempotent producer (no duplicates from internal retries). Default true. */
  idempotent?: boolean;
  /** Extra @platformatic/kafka producer options. */
  extra?: Partial<ProducerOptions<string, string, string, string>>;
}

/** A producer of string keys and values with acks=all and idempotence: a send resolves only when the record is durable. */
export function createProducer(opts: DurableProducerOptions): StringProducer {
  return new Producer({
    ...base(opts),
    serializers: stringSerializers,
    idempotent: opts.idempotent ?? true,
    acks: ProduceAcks.ALL,
    ...opts.extra,
  });
}

export interface GroupConsumerOptions extends KafkaConnectionOptions {
  groupId: string;
  extra?: Partial<ConsumerOptions<string, string, string, string>>;
}

/** A consumer of string keys and values in a group, with autocommit off: Lagless commits what is done. */
export function createConsumer(opts: GroupConsumerOptions): StringConsumer {
  return new Consumer({
    ...base(opts),
    groupId: opts.groupId,
    deserializers: stringDeserializers,
    autocommit: false,
    ...opts.extra,
  });
}

export function createAdmin(opts: KafkaConnectionOptions): Admin {
  return new Admin(base(opts));
}
