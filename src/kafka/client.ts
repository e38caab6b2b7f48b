// Factories for @platformatic/kafka clients with Lagless's defaults: string keys, durable producers, explicit commits,
// and the connection's TLS and SASL settings (every client Lagless makes comes from here).
import {
  Admin,
  Consumer,
  Producer,
  ProduceAcks,
  stringDeserializer,
  stringDeserializers,
  stringSerializers,
  type ConsumerOptions,
  type Deserializers,
  type Serializers,
  type ProducerOptions,
} from '@platformatic/kafka';
import { subscribe } from 'node:diagnostics_channel';
import { clientSecurityOptions, type KafkaConnection } from './connection.ts';
import { GroupMemberConsumer } from './member-epoch.ts';
import { ReadCommittedConsumer } from './read-committed.ts';

// Every connection of every client gets an 'error' listener, for two reasons:
// - @platformatic/kafka 2.12.1 can emit a connection's 'error' twice when a SASL handshake fails (e.g. SASL against a
//   listener without SASL): the first reaches the waiting request, the second had no listener and crashed the process;
// - a TLS alert that arrives after the handshake (TLS 1.3: "certificate required") reaches the waiting request only as
//   "Connection closed"; the socket's own error is kept here, per client, so checkBrokers can say what happened.
const socketErrors = new Map<number, Error>();
interface ConnectionLike {
  ownerId?: number;
  on(event: 'error', fn: (e: { cause?: unknown }) => void): void;
}
subscribe('plt:kafka:instances', (message) => {
  const m = message as { type?: string; instance?: ConnectionLike };
  const c = m.instance;
  if (m.type !== 'connection' || !c) return;
  c.on('error', (e) => {
    const cause = e?.cause as NodeJS.ErrnoException | undefined;
    if (c.ownerId === undefined || !cause || !/^(ERR_SSL_|EPROTO$)/.test(cause.code ?? '')) return;
    socketErrors.delete(c.ownerId);
    socketErrors.set(c.ownerId, cause);
    if (socketErrors.size > 64) socketErrors.delete(socketErrors.keys().next().value!);
  });
});

/** The last TLS error the sockets of a client saw (e.g. an alert after the handshake), and forgets it. */
export function takeSocketError(client: { instanceId: number }): Error | undefined {
  const e = socketErrors.get(client.instanceId);
  socketErrors.delete(client.instanceId);
  return e;
}

/** A connection (brokers, TLS, SASL) plus per-client settings. */
export interface KafkaConnectionOptions extends KafkaConnection {
  /** Client id shown in broker logs and group descriptions. Default "lagless". */
  clientId?: string;
  /** Per-request timeout in ms. Default 30000. */
  requestTimeoutMs?: number;
  /** TCP connect timeout in ms. Default 5000. */
  connectTimeoutMs?: number;
  /** Retries of a failed request (the client's default: 3, one second apart). */
  retries?: number;
}

export type StringProducer = Producer<string, string, string, string>;
export type StringConsumer = Consumer<string, string, string, string>;

function base(opts: KafkaConnectionOptions) {
  return {
    clientId: opts.clientId ?? 'lagless',
    bootstrapBrokers: opts.brokers,
    timeout: opts.requestTimeoutMs ?? 30_000,
    connectTimeout: opts.connectTimeoutMs ?? 5_000,
    ...(opts.retries !== undefined ? { retries: opts.retries } : {}),
    ...clientSecurityOptions(opts),
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

/**
 * A consumer of string keys and values in a group, with autocommit off: Lagless commits what is done. It reads
 * committed records only (the client's default isolation), with aborted transactions filtered correctly
 * (ReadCommittedConsumer).
 */
export function createConsumer(opts: GroupConsumerOptions): StringConsumer {
  return new ReadCommittedConsumer({
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

/** Bytes of a key, value or header given as a string (UTF-8) or bytes; undefined and null stay absent (null value: a tombstone). */
function toBytes(data?: string | Uint8Array | null): Buffer | undefined {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (data instanceof Uint8Array) return Buffer.isBuffer(data) ? data : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return undefined;
}

/** Jobs' records: keys and headers decoded as UTF-8, values kept as bytes. */
export const recordDeserializers: Deserializers<string, Buffer, string, string> = {
  key: stringDeserializer,
  value: (data?: Buffer) => data,
  headerKey: stringDeserializer,
  headerValue: stringDeserializer,
};

export type OutValue = string | Uint8Array | null;
export const recordSerializers: Serializers<OutValue, OutValue, string, string | Uint8Array> = {
  key: toBytes,
  value: toBytes,
  headerKey: toBytes,
  headerValue: toBytes,
};

export type RecordProducer = Producer<OutValue, OutValue, string, string | Uint8Array>;
/** The runtime's group consumer: read_committed filtering, and the KIP-848 member epoch (GroupMemberConsumer). */
export type RecordConsumer = GroupMemberConsumer<string, Buffer, string, string>;

/** A durable producer (acks=all, idempotent) of string or byte keys, values and headers. */
export function createRecordProducer(opts: KafkaConnectionOptions & { idempotent?: boolean; transactionalId?: string }): RecordProducer {
  return new Producer({
    ...base(opts),
    serializers: recordSerializers,
    idempotent: opts.idempotent ?? true,
    acks: ProduceAcks.ALL,
    ...(opts.transactionalId !== undefined ? { transactionalId: opts.transactionalId } : {}),
  });
}

/**
 * A group consumer of jobs' records (values as bytes), autocommit off. It reads committed records only (the client's
 * default isolation), with aborted transactions filtered correctly (ReadCommittedConsumer).
 */
export function createRecordConsumer(opts: KafkaConnectionOptions & { groupId: string; extra?: Partial<ConsumerOptions<string, Buffer, string, string>> }): RecordConsumer {
  return new GroupMemberConsumer<string, Buffer, string, string>({
    ...base(opts),
    groupId: opts.groupId,
    deserializers: recordDeserializers,
    autocommit: false,
    ...opts.extra,
  });
}
