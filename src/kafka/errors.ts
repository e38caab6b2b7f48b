// Turns @platformatic/kafka errors into LaglessErrors a user can act on: unreachable broker, refused login, TLS trouble
// (untrusted certificate, TLS against a plaintext listener and the reverse), existing topic, ...
import { LaglessError } from '../errors/index.ts';
import { securityProtocol, type KafkaConnection } from './connection.ts';

interface KafkaErrorLike {
  code?: string;
  message?: string;
  apiId?: string;
  errors?: KafkaErrorLike[];
  cause?: unknown;
}

/** The connection, or just its bootstrap servers (plaintext). */
export type ConnectionRef = KafkaConnection | string[];
const asConnection = (c: ConnectionRef): KafkaConnection => (Array.isArray(c) ? { brokers: c } : c);

/** Every node of a (possibly aggregated, possibly chained) error, depth first. */
function* nodes(err: unknown, depth = 0): Generator<KafkaErrorLike> {
  const e = err as KafkaErrorLike | undefined;
  if (!e || typeof e !== 'object' || depth > 20) return;
  yield e;
  for (const x of e.errors ?? []) yield* nodes(x, depth + 1);
  if (e.cause !== undefined) yield* nodes(e.cause, depth + 1);
}

/** Depth-first search of a (possibly aggregated) Kafka client error for a protocol error id such as TOPIC_ALREADY_EXISTS. */
export function findKafkaErrorId(err: unknown, apiId: string): boolean {
  for (const e of nodes(err)) if (e.apiId === apiId) return true;
  return false;
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

/** Node's codes for a server certificate that does not verify against the trusted CAs. */
const UNTRUSTED = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'CERT_UNTRUSTED',
  'CERT_SIGNATURE_FAILURE',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_REVOKED',
  'INVALID_CA',
  'CERT_REJECTED',
]);

/** The first sentence of a Node message (drops advice such as "try running Node.js with --use-system-ca"). */
const sentence = (m: string | undefined) => (m ?? '').split(/; if |; try /)[0]!.trim();

/**
 * A refused login or a TLS failure, with a message that says what to change; undefined for other errors. These are
 * never transient: the CLI fails at once instead of retrying.
 */
export function securityError(err: unknown, ref: ConnectionRef): LaglessError | undefined {
  const c = asConnection(ref);
  const at = c.brokers.join(',');
  const protocol = securityProtocol(c);
  for (const e of nodes(err)) {
    const code = e.code ?? '';
    const msg = e.message ?? '';
    if (code === 'PLT_KFK_AUTHENTICATION' || e.apiId === 'SASL_AUTHENTICATION_FAILED') {
      const who = c.sasl ? `user "${c.sasl.username}" with ${c.sasl.mechanism}` : 'this client';
      if (/suitable SASL mechanism/.test(msg)) {
        return new LaglessError(
          'KAFKA_AUTH_FAILED',
          `the broker at ${at} does not accept ${c.sasl?.mechanism ?? 'this'} SASL logins on this listener (${describeKafkaError(e)}). ` +
            `Check sasl.mechanism, and that this port is the broker's SASL listener.`,
          { cause: err },
        );
      }
      return new LaglessError(
        'KAFKA_AUTH_FAILED',
        `the broker at ${at} refused the SASL login of ${who}: wrong user name or password, or no such ${c.sasl?.mechanism ?? 'SASL'} user. ` +
          `Check sasl.username and sasl.password (or KAFKA_SASL_PASSWORD) and sasl.mechanism.`,
        { cause: err },
      );
    }
    if (msg === 'Broker requires TLS.') {
      return new LaglessError(
        'KAFKA_TLS_FAILED',
        `the broker at ${at} speaks TLS, but security.protocol is ${protocol} (plaintext). ` +
          `Set security.protocol=${c.sasl ? 'SASL_SSL' : 'SSL'} (--security-protocol), and ssl.ca.location (--ssl-ca) if its CA is not a public one.`,
        { cause: err },
      );
    }
    if (msg.startsWith('TLS handshake failed')) {
      return new LaglessError(
        'KAFKA_TLS_FAILED',
        `the broker at ${at} did not answer the TLS handshake: it looks like a plaintext listener, but security.protocol is ${protocol}. ` +
          `Set security.protocol=${c.sasl ? 'SASL_PLAINTEXT' : 'PLAINTEXT'}, or connect to the broker's TLS port.`,
        { cause: err },
      );
    }
    if (UNTRUSTED.has(code)) {
      return new LaglessError(
        'KAFKA_TLS_FAILED',
        `the certificate of the broker at ${at} is not trusted: ${sentence(msg)} (${code}). CA used: ${c.tls?.caSource ?? 'none'}. ` +
          `Give the CA that signed the broker's certificate with ssl.ca.location (--ssl-ca).`,
        { cause: err },
      );
    }
    if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') {
      return new LaglessError(
        'KAFKA_TLS_FAILED',
        `the certificate of the broker at ${at} does not name the host connected to: ${sentence(msg)} (${code}). CA used: ${c.tls?.caSource ?? 'none'}. ` +
          `Connect by a host name or address the certificate lists; the check is always on.`,
        { cause: err },
      );
    }
    if (/^ERR_SSL_.*ALERT_CERTIFICATE_REQUIRED$/.test(code)) {
      return new LaglessError(
        'KAFKA_TLS_FAILED',
        `the broker at ${at} requires a client certificate (mutual TLS) and none was given: set ssl.certificate.location and ssl.key.location (--ssl-cert, --ssl-key) (${code}).`,
        { cause: err },
      );
    }
    if (/^ERR_SSL_.*ALERT_(BAD_CERTIFICATE|UNKNOWN_CA|CERTIFICATE_UNKNOWN|UNSUPPORTED_CERTIFICATE|CERTIFICATE_EXPIRED|CERTIFICATE_REVOKED|ACCESS_DENIED|HANDSHAKE_FAILURE)$/.test(code)) {
      const cert = c.tls?.clientCertSource;
      return new LaglessError(
        'KAFKA_TLS_FAILED',
        cert
          ? `the broker at ${at} refused the client certificate ${cert} (${code}): it must be signed by a CA the broker trusts, and be valid now.`
          : `the broker at ${at} refused the TLS connection (${code}): it probably requires a client certificate (mutual TLS). ` +
              `Set ssl.certificate.location and ssl.key.location (--ssl-cert, --ssl-key).`,
        { cause: err },
      );
    }
    if (code.startsWith('ERR_SSL_') || code === 'EPROTO') {
      return new LaglessError('KAFKA_TLS_FAILED', `the TLS connection to the broker at ${at} failed: ${sentence(msg)} (${code}). CA used: ${c.tls?.caSource ?? 'none'}.`, { cause: err });
    }
  }
  // The broker took the connection (and the TLS handshake) and hung up at the first real request: that is how a SASL
  // listener treats a client that does not log in.
  if (!c.sasl && leaves(err).length > 0 && leaves(err).every((m) => m === 'Connection closed')) {
    return new LaglessError(
      'KAFKA_AUTH_FAILED',
      `the broker at ${at} accepted the connection, then closed it at the first request: it probably requires a SASL login, and security.protocol is ${protocol}. ` +
        `Set security.protocol=${c.tls ? 'SASL_SSL' : 'SASL_PLAINTEXT'}, sasl.mechanism, sasl.username and sasl.password.`,
      { cause: err },
    );
  }
  return undefined;
}

function leaves(err: unknown): string[] {
  const out: string[] = [];
  for (const e of nodes(err)) if (!e.errors?.length && e.cause === undefined) out.push(e.message ?? '');
  return out;
}

export function unreachableError(conn: ConnectionRef, cause: unknown): LaglessError {
  const c = asConnection(conn);
  const brokers = c.brokers;
  return new LaglessError(
    'BROKER_UNREACHABLE',
    `no Kafka broker answered at ${brokers.join(',')} (${describeKafkaError(cause)}). ` +
      `Start a local one with "lagless kafka start", or pass --brokers / set KAFKA_BROKERS to a running cluster.`,
    { cause },
  );
}

/** Wraps any Kafka client failure: refused logins, TLS failures and unreachable brokers get their own codes and advice. */
export function toLaglessError(err: unknown, conn: ConnectionRef, doing: string): LaglessError {
  if (err instanceof LaglessError) return err;
  const security = securityError(err, conn);
  if (security) return security;
  if (isUnreachable(err)) return unreachableError(conn, err);
  return new LaglessError('KAFKA', `${doing} failed: ${describeKafkaError(err)}`, { cause: err });
}
