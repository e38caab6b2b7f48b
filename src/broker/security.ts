// A secure local broker: a CA and certificates made with openssl, SCRAM users created at format time, the broker's
// TLS/SASL settings, and ready client config files (Lagless/kcat/librdkafka, and Java clients).
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { LaglessError } from '../errors/index.ts';

const execFileP = promisify(execFile);

/** plaintext: no TLS, no login. sasl_ssl: TLS + SCRAM-SHA-512 (also SCRAM-SHA-256 and PLAIN). mtls: TLS with a client certificate required. */
export const BrokerSecurityModes = ['plaintext', 'sasl_ssl', 'mtls'] as const;
export type BrokerSecurity = (typeof BrokerSecurityModes)[number];

/** The user the client config files log in as (sasl_ssl), and the CN of the client certificate (mtls). */
export const LOCAL_USER = 'lagless';
/** The broker's own user for its connections to itself (inter-broker listener). */
const BROKER_USER = 'broker';

export interface SecurityFiles {
  dir: string;
  caPem: string;
  caKey: string;
  /** Broker key and certificate chain in one PEM file (Kafka's PEM keystore). */
  brokerPem: string;
  clientCert: string;
  clientKey: string;
  clientP12: string;
  /** For Lagless (--kafka-config), kcat -F, librdkafka and confluent-kafka. */
  clientConfig: string;
  /** For Java clients and Kafka's own tools (--command-config, --consumer.config). */
  javaClientConfig: string;
  credentials: string;
}

export function securityFiles(dataDir: string): SecurityFiles {
  const dir = join(dataDir, 'security');
  return {
    dir,
    caPem: join(dir, 'ca.pem'),
    caKey: join(dir, 'ca.key'),
    brokerPem: join(dir, 'broker.pem'),
    clientCert: join(dir, 'client.crt'),
    clientKey: join(dir, 'client.key'),
    clientP12: join(dir, 'client.p12'),
    clientConfig: join(dataDir, 'client.properties'),
    javaClientConfig: join(dataDir, 'client-java.properties'),
    credentials: join(dir, 'credentials.json'),
  };
}

interface Credentials {
  /** Password of LOCAL_USER (sasl_ssl). */
  user: string;
  /** Password of the broker's own user. */
  broker: string;
  /** Password of client.p12 (mtls). */
  keystore: string;
}

async function openssl(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<void> {
  try {
    await execFileP('openssl', args, { env });
  } catch (err) {
    const e = err as NodeJS.ErrnoException & { stderr?: string };
    if (e.code === 'ENOENT') {
      throw new LaglessError('MISSING_DEPENDENCY', 'openssl is needed to make the certificates of a secure local broker (--security). Install it (Debian: apt-get install openssl).', { cause: err });
    }
    throw new LaglessError('IO', `openssl ${args[0]} failed: ${(e.stderr ?? e.message).trim().split('\n').slice(-3).join(' | ')}`, { cause: err });
  }
}

async function writePrivate(path: string, text: string): Promise<void> {
  await writeFile(path, text, { mode: 0o600 });
  await chmod(path, 0o600);
}

/**
 * Makes (once per data directory) a CA, a broker certificate for 127.0.0.1 and localhost, a client certificate with
 * CN=lagless, and passwords. Later starts reuse them, so client config files stay valid across restarts.
 */
export async function ensureSecurityFiles(dataDir: string): Promise<{ files: SecurityFiles; credentials: Credentials; created: boolean }> {
  const f = securityFiles(dataDir);
  await mkdir(f.dir, { recursive: true, mode: 0o700 });
  if (existsSync(f.credentials) && existsSync(f.brokerPem) && existsSync(f.caPem) && existsSync(f.clientP12)) {
    return { files: f, credentials: JSON.parse(await readFile(f.credentials, 'utf8')) as Credentials, created: false };
  }
  const pw = () => randomBytes(18).toString('base64url');
  const credentials: Credentials = { user: pw(), broker: pw(), keystore: pw() };
  const days = '825';
  const tag = randomBytes(3).toString('hex');
  await openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', f.caKey, '-out', f.caPem, '-days', '3650', '-subj', `/CN=Lagless local CA ${tag}`,
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  const leaf = async (name: string, subject: string, ext: string): Promise<{ key: string; crt: string }> => {
    const key = join(f.dir, `${name}.key`);
    const csr = join(f.dir, `${name}.csr`);
    const crt = join(f.dir, `${name}.crt`);
    const extFile = join(f.dir, `${name}.ext`);
    await writeFile(extFile, ext);
    await openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', csr, '-subj', subject]);
    await openssl(['x509', '-req', '-in', csr, '-CA', f.caPem, '-CAkey', f.caKey, '-CAcreateserial', '-out', crt, '-days', days, '-sha256', '-extfile', extFile]);
    await chmod(key, 0o600);
    return { key, crt };
  };
  // The broker's certificate serves clients and its own inter-broker connections (hence clientAuth too).
  const broker = await leaf('broker', '/CN=localhost', 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth,clientAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n');
  await writePrivate(f.brokerPem, (await readFile(broker.key, 'utf8')) + (await readFile(broker.crt, 'utf8')));
  await leaf('client', `/CN=${LOCAL_USER}`, 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n');
  // The keystore password goes through the environment, not the command line (visible in ps).
  await openssl(['pkcs12', '-export', '-in', f.clientCert, '-inkey', f.clientKey, '-out', f.clientP12, '-name', LOCAL_USER, '-passout', 'env:LAGLESS_P12_PASSWORD'], { ...process.env, LAGLESS_P12_PASSWORD: credentials.keystore });
  await chmod(f.clientP12, 0o600);
  await writePrivate(f.credentials, JSON.stringify(credentials, null, 2) + '\n');
  return { files: f, credentials, created: true };
}

const jaas = (module: 'scram.ScramLoginModule' | 'plain.PlainLoginModule', user: string, password: string, extra = '') =>
  `org.apache.kafka.common.security.${module} required username="${user}" password="${password}"${extra};`;

/** Broker settings for the client listener (its name is the protocol: SASL_SSL or SSL) and the inter-broker traffic. */
export function brokerSecurityProperties(mode: Exclude<BrokerSecurity, 'plaintext'>, f: SecurityFiles, c: Credentials): Record<string, string> {
  const tls = {
    'ssl.keystore.type': 'PEM',
    'ssl.keystore.location': f.brokerPem,
    'ssl.truststore.type': 'PEM',
    'ssl.truststore.location': f.caPem,
    'ssl.endpoint.identification.algorithm': 'https',
  };
  if (mode === 'mtls') return { ...tls, 'ssl.client.auth': 'required' };
  const l = 'listener.name.sasl_ssl';
  return {
    ...tls,
    'ssl.client.auth': 'none',
    'sasl.enabled.mechanisms': 'SCRAM-SHA-512,SCRAM-SHA-256,PLAIN',
    'sasl.mechanism.inter.broker.protocol': 'SCRAM-SHA-512',
    [`${l}.scram-sha-512.sasl.jaas.config`]: jaas('scram.ScramLoginModule', BROKER_USER, c.broker),
    [`${l}.scram-sha-256.sasl.jaas.config`]: jaas('scram.ScramLoginModule', BROKER_USER, c.broker),
    // PLAIN checks against the users listed here (user_<name>="<password>").
    [`${l}.plain.sasl.jaas.config`]: jaas('plain.PlainLoginModule', BROKER_USER, c.broker, ` user_${BROKER_USER}="${c.broker}" user_${LOCAL_USER}="${c.user}"`),
  };
}

/** Arguments of `kafka-storage format` that create the SCRAM users (only possible when the directory is formatted). */
export function scramFormatArgs(c: Credentials): string[] {
  const out: string[] = [];
  for (const mech of ['SCRAM-SHA-512', 'SCRAM-SHA-256']) {
    out.push('--add-scram', `${mech}=[name=${LOCAL_USER},password=${c.user}]`, '--add-scram', `${mech}=[name=${BROKER_USER},password=${c.broker}]`);
  }
  return out;
}

/** Writes client.properties (librdkafka names) and client-java.properties (Java names) for the running broker. */
export async function writeClientConfigs(mode: Exclude<BrokerSecurity, 'plaintext'>, bootstrap: string, f: SecurityFiles, c: Credentials): Promise<void> {
  const head = (who: string) =>
    `# Written by "lagless kafka start --security ${mode}" for the local broker at ${bootstrap}; ${who}.\n` +
    `# Holds ${mode === 'sasl_ssl' ? 'a password' : 'the path of a private key'}: keep it private (mode 600).\n`;
  const common = [`bootstrap.servers=${bootstrap}`, `security.protocol=${mode === 'mtls' ? 'SSL' : 'SASL_SSL'}`];
  const rd =
    mode === 'sasl_ssl'
      ? [...common, 'sasl.mechanism=SCRAM-SHA-512', `sasl.username=${LOCAL_USER}`, `sasl.password=${c.user}`, `ssl.ca.location=${f.caPem}`]
      : [...common, `ssl.ca.location=${f.caPem}`, `ssl.certificate.location=${f.clientCert}`, `ssl.key.location=${f.clientKey}`];
  const java =
    mode === 'sasl_ssl'
      ? [...common, 'sasl.mechanism=SCRAM-SHA-512', `sasl.jaas.config=${jaas('scram.ScramLoginModule', LOCAL_USER, c.user)}`, 'ssl.truststore.type=PEM', `ssl.truststore.location=${f.caPem}`]
      : [...common, 'ssl.truststore.type=PEM', `ssl.truststore.location=${f.caPem}`, 'ssl.keystore.type=PKCS12', `ssl.keystore.location=${f.clientP12}`, `ssl.keystore.password=${c.keystore}`];
  await writePrivate(f.clientConfig, head('for Lagless (--kafka-config), kcat -F, librdkafka and confluent-kafka') + rd.join('\n') + '\n');
  await writePrivate(f.javaClientConfig, head("for Java clients and Kafka's tools (--command-config); Lagless reads it too") + java.join('\n') + '\n');
}
