// Turns @platformatic/kafka errors into LaglessErrors a user can act on (unreachable broker, existing topic, ...).
import { LaglessError } from '../errors/index.ts';

interface KafkaErrorLike {
  code?: string;
  message?: string;
  apiId?: string;
  errors?: KafkaErrorLike[];
  cause?: unknown;
}

/** Depth-first search of a (possibly aggregated) Kafka client error for a protocol error id such as TOPIC_ALREADY_EXISTS. */
export function findKafkaErrorId(err: unknown, apiId: string): boolean {
  const e = err as KafkaErrorLike | undefined;
  if (!e || typeof e !== 'object') return false;
  if (e.apiId === apiId) return true;
  return (e.errors ?? []).some((x) => findKafkaErrorId(x, apiId)) || (e.cause !== undefined && findKafkaErrorId(e.cause, apiId));
}

/** True when the error means that no broker could be reached (network level). */
export function isUnreachable(err: unknown): boolean {
  const e = err as KafkaErrorLike | undefined;
  if (!e || typeof e !== 'object') return false;
  if (e.code === 'PLT_KFK_NETWORK' || e.code === 'PLT_KFK_TIMEOUT') return true;
  if (typeof e.message === 'string' && e.message.startsWith('Cannot connect to any broker')) return true;
  return (e.errors ?? []).some(isUnreachable);
}

/** The distinct innermost messages of a (possibly aggregated) client error, e.g. "Connection to 127.0.0.1:1 failed.". */
export function describeKafkaError(err: unknown): string {
  const leaves = new Set<string>();
  const walk = (x: unknown) => {
    const e = x as KafkaErrorLike | undefined;
    if (!e || typeof e !== 'object') {
      if (x !== undefined) leaves.add(String(x));
      return;
    }
    if (e.errors?.length) e.errors.forEach(walk);
    else leaves.add(e.apiId ? `${e.apiId}: ${e.message ?? ''}` : (e.message ?? String(e)));
  };
  walk(err);
  return [...leaves].join('; ');
}

export function unreachableError(brokers: string[], cause: unknown): LaglessError {
  return new LaglessError(
    'BROKER_UNREACHABLE',
    `no Kafka broker answered at ${brokers.join(',')} (${describeKafkaError(cause)}). ` +
      `Start a local one with "lagless kafka start", or pass --brokers / set KAFKA_BROKERS to a running cluster.`,
    { cause },
  );
}

/** Wraps any Kafka client failure: unreachable brokers get the dedicated code and advice. */
export function toLaglessError(err: unknown, brokers: string[], doing: string): LaglessError {
  if (err instanceof LaglessError) return err;
  if (isUnreachable(err)) return unreachableError(brokers, err);
  return new LaglessError('KAFKA', `${doing} failed: ${describeKafkaError(err)}`, { cause: err });
}
