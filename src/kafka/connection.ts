// How Lagless reaches a Kafka cluster: bootstrap servers, TLS and SASL. One object, used by every client factory.
import type { ConnectionOptions as TlsConnectOptions } from 'node:tls';
import type { SASLOptions } from '@platformatic/kafka';
import type { Secret } from './secret.ts';

export const SecurityProtocols = ['PLAINTEXT', 'SSL', 'SASL_PLAINTEXT', 'SASL_SSL'] as const;
export type SecurityProtocol = (typeof SecurityProtocols)[number];

/** SASL mechanisms Lagless can log in with. */
export const SaslMechanisms = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'] as const;
export type SaslMechanism = (typeof SaslMechanisms)[number];

export interface TlsSettings {
  /** PEM certificates of the CAs to trust. Undefined: Node's built-in list of public CAs. */
  ca?: string;
  /** Where `ca` came from, for messages: a file, a property, or "Node's built-in public CA list". */
  caSource: string;
  /** Client certificate chain (PEM) for mutual TLS. */
  cert?: string;
  /** The client certificate's private key (PEM). */
  key?: Secret;
  /** Passphrase of an encrypted `key` or of `pfx`. */
  passphrase?: Secret;
  /** A PKCS#12 keystore holding the client certificate and key (instead of cert and key). */
  pfx?: Secret<Buffer>;
  /** Where the client certificate came from, for messages. */
  clientCertSource?: string;
}

export interface SaslSettings {
  mechanism: SaslMechanism;
  username: string;
  password: Secret;
}

/**
 * Everything needed to connect. The server's host name is always checked against its certificate: there is no option
 * to turn that off.
 */
export interface KafkaConnection {
  /** Bootstrap servers, "host:port". */
  brokers: string[];
  /** TLS to the brokers (security.protocol SSL or SASL_SSL). Undefined: plaintext. */
  tls?: TlsSettings;
  /** SASL login (security.protocol SASL_PLAINTEXT or SASL_SSL). */
  sasl?: SaslSettings;
}

export function securityProtocol(c: KafkaConnection): SecurityProtocol {
  if (c.sasl) return c.tls ? 'SASL_SSL' : 'SASL_PLAINTEXT';
  return c.tls ? 'SSL' : 'PLAINTEXT';
}

/** The TLS and SASL options of a @platformatic/kafka client. Secrets stay behind functions until a connection needs them. */
export function clientSecurityOptions(c: KafkaConnection): { tls?: TlsConnectOptions; sasl?: SASLOptions } {
  const out: { tls?: TlsConnectOptions; sasl?: SASLOptions } = {};
  if (c.tls) {
    const t = c.tls;
    out.tls = {
      // Never false: an unverified broker could read every record and password.
      rejectUnauthorized: true,
      ...(t.ca !== undefined ? { ca: t.ca } : {}),
      ...(t.cert !== undefined ? { cert: t.cert } : {}),
      ...(t.key !== undefined ? { key: t.key.reveal() } : {}),
      ...(t.pfx !== undefined ? { pfx: t.pfx.reveal() } : {}),
      ...(t.passphrase !== undefined ? { passphrase: t.passphrase.reveal() } : {}),
    };
  }
  if (c.sasl) {
    const password = c.sasl.password;
    out.sasl = { mechanism: c.sasl.mechanism, username: c.sasl.username, password: () => password.reveal() };
  }
  return out;
}

/** A one-line description safe for logs: protocol, mechanism and user, CA and client certificate sources; never a secret. */
export function describeConnection(c: KafkaConnection): string {
  const parts = [`${c.brokers.join(',')} (${securityProtocol(c)}`];
  if (c.sasl) parts.push(`${c.sasl.mechanism} as "${c.sasl.username}"`);
  if (c.tls) {
    parts.push(`trusting ${c.tls.caSource}`);
    if (c.tls.clientCertSource) parts.push(`client certificate ${c.tls.clientCertSource}`);
  }
  return `${parts.join(', ')})`;
}
