// Connection settings from a Kafka client properties file (the names kcat -F, librdkafka and Java clients use),
// environment variables and command-line flags, merged by a fixed precedence into one KafkaConnection.
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { createSecureContext } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import { UsageError } from '../errors/index.ts';
import { SaslMechanisms, SecurityProtocols, type KafkaConnection, type SaslMechanism, type SecurityProtocol, type TlsSettings } from './connection.ts';
import { Secret } from './secret.ts';

export const DEFAULT_BOOTSTRAP = '127.0.0.1:9092';

/** The client properties Lagless reads. Any other property in a file is ignored (and reported by name). */
export const ClientProperties = {
  'bootstrap.servers': { secret: false, help: 'host:port,... of one or more brokers' },
  'security.protocol': { secret: false, help: 'PLAINTEXT (default), SSL, SASL_PLAINTEXT or SASL_SSL' },
  'sasl.mechanism': { secret: false, help: 'PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512 (alias sasl.mechanisms)' },
  'sasl.username': { secret: false, help: 'SASL user name' },
  'sasl.password': { secret: true, help: 'SASL password' },
  'sasl.jaas.config': { secret: true, help: 'Java style: ...PlainLoginModule|ScramLoginModule required username="..." password="...";' },
  'ssl.ca.location': { secret: false, help: 'PEM file of the CA certificates to trust (default: the public CAs Node knows)' },
  'ssl.ca.pem': { secret: false, help: 'the CA certificates themselves, PEM' },
  'ssl.certificate.location': { secret: false, help: 'client certificate (PEM) for mutual TLS' },
  'ssl.certificate.pem': { secret: false, help: 'the client certificate itself, PEM' },
  'ssl.key.location': { secret: false, help: 'private key (PEM) of the client certificate' },
  'ssl.key.pem': { secret: true, help: 'the private key itself, PEM' },
  'ssl.key.password': { secret: true, help: 'passphrase of an encrypted private key' },
  'ssl.truststore.location': { secret: false, help: 'Java style CA file; type PEM only (convert JKS/PKCS12 with keytool -list -rfc)' },
  'ssl.truststore.type': { secret: false, help: 'PEM (JKS and PKCS12 are refused with the command that converts them)' },
  'ssl.truststore.certificates': { secret: false, help: 'Java style inline CA certificates, PEM' },
  'ssl.truststore.password': { secret: true, help: 'accepted and unused (PEM truststores have none)' },
  'ssl.keystore.location': { secret: false, help: 'Java style client keystore: PKCS12, or PEM (key and certificate in one file)' },
  'ssl.keystore.type': { secret: false, help: 'PKCS12 or PEM (JKS is refused with the command that converts it)' },
  'ssl.keystore.password': { secret: true, help: 'password of a PKCS12 keystore' },
  'ssl.keystore.key': { secret: true, help: 'Java style inline private key, PEM' },
  'ssl.keystore.certificate.chain': { secret: false, help: 'Java style inline client certificate chain, PEM' },
  'ssl.endpoint.identification.algorithm': { secret: false, help: 'https only: the host name check cannot be turned off' },
  'enable.ssl.certificate.verification': { secret: false, help: 'true only: certificate verification cannot be turned off' },
} as const;

export type ClientProperty = keyof typeof ClientProperties;

/** Other spellings of the same property (librdkafka's). */
const ALIASES: Record<string, ClientProperty> = {
  'sasl.mechanisms': 'sasl.mechanism',
  'metadata.broker.list': 'bootstrap.servers',
};

/** Environment variables: KAFKA_BROKERS for bootstrap.servers, KAFKA_<PROPERTY> for the others (dots as underscores). */
export function envName(p: ClientProperty): string {
  return p === 'bootstrap.servers' ? 'KAFKA_BROKERS' : `KAFKA_${p.toUpperCase().replace(/\./g, '_')}`;
}

/** The environment variable naming a client properties file (below flags and other variables; see resolveConnection). */
export const CONFIG_FILE_ENV = 'KAFKA_CONFIG';

interface Setting {
  value: string;
  /** Where it came from, for messages: "--sasl-username", "KAFKA_SASL_PASSWORD", "/etc/kafka/client.properties:4". */
  source: string;
}

type Layer = Map<ClientProperty, Setting>;

/** Parses Java properties text: key=value, key: value or key value; # and ! comments; backslash continuations and escapes. */
export function parseProperties(text: string): { key: string; value: string; line: number }[] {
  const out: { key: string; value: string; line: number }[] = [];
  const lines = text.replace(/^\uFEFF/, '').split(/\r\n|\r|\n/);
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    let logical = lines[i]!.replace(/^[ \t\f]+/, '');
    if (logical === '' || logical.startsWith('#') || logical.startsWith('!')) continue;
    // A line ending in an odd number of backslashes continues on the next one (leading blanks there are dropped).
    while (/(^|[^\\])(\\\\)*\\$/.test(logical) && i + 1 < lines.length) {
      logical = logical.slice(0, -1) + lines[++i]!.replace(/^[ \t\f]+/, '');
    }
    let k = 0;
    let key = '';
    while (k < logical.length) {
      const ch = logical[k]!;
      if (ch === '\\' && k + 1 < logical.length) {
        key += logical.slice(k, k + 2);
        k += 2;
        continue;
      }
      if (ch === '=' || ch === ':' || ch === ' ' || ch === '\t' || ch === '\f') break;
      key += ch;
      k++;
    }
    let rest = logical.slice(k).replace(/^[ \t\f]*/, '');
    if (rest.startsWith('=') || rest.startsWith(':')) rest = rest.slice(1).replace(/^[ \t\f]*/, '');
    out.push({ key: unescape(key), value: unescape(rest), line: lineNo });
  }
  return out;
}

function unescape(s: string): string {
  return s.replace(/\\(u[0-9a-fA-F]{4}|.)/g, (_, e: string) => {
    if (e.startsWith('u') && e.length === 5) return String.fromCharCode(parseInt(e.slice(1), 16));
    return ({ t: '\t', n: '\n', r: '\r', f: '\f' } as Record<string, string>)[e] ?? e;
  });
}

function canonical(name: string): ClientProperty | undefined {
  const n = name.trim();
  if (Object.hasOwn(ClientProperties, n)) return n as ClientProperty;
  return ALIASES[n];
}

/** Reads a properties file into a layer; names Lagless does not use are returned, never their values. */
export function readPropertiesFile(file: string, cwd: string, what: string): { layer: Layer; ignored: string[] } {
  const path = resolve(cwd, file);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new UsageError(`${what}: cannot read the client properties file ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  const layer: Layer = new Map();
  const ignored: string[] = [];
  for (const { key, value, line } of parseProperties(text)) {
    const p = canonical(key);
    if (p) layer.set(p, { value, source: `${path}:${line}` });
    else ignored.push(key);
  }
  return { layer, ignored };
}

export interface ConnectionInput {
  /** Settings from command-line flags, by property name, with the flag for messages. Highest precedence. */
  flags?: Partial<Record<ClientProperty, { value: string; flag: string }>>;
  /** A client properties file named on the command line (--kafka-config). */
  configFile?: string;
  env?: NodeJS.ProcessEnv;
  /** Base of relative paths. Default process.cwd(). */
  cwd?: string;
}

export interface ResolvedConnection {
  connection: KafkaConnection;
  /** Properties in files that Lagless does not use (names only: values are never reported). */
  ignored: { file: string; names: string[] }[];
}

/**
 * Merges the connection settings. Per property, the first of these that sets it wins:
 *   1. command-line flags (--brokers, --security-protocol, --sasl-mechanism, --sasl-username, --ssl-ca, ...),
 *   2. the file named by --kafka-config,
 *   3. environment variables (KAFKA_BROKERS, KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_PASSWORD, ...),
 *   4. the file named by $KAFKA_CONFIG,
 *   5. defaults: bootstrap.servers=127.0.0.1:9092, security.protocol=PLAINTEXT.
 * The command line beats the environment; within each, a single setting beats a file.
 * Throws UsageError naming the property and where it was set; messages never contain a secret's value.
 */
export function resolveConnection(input: ConnectionInput = {}): ResolvedConnection {
  const env = input.env ?? process.env;
  const cwd = input.cwd ?? process.cwd();
  const layers: Layer[] = [];
  const ignored: ResolvedConnection['ignored'] = [];

  const flags: Layer = new Map();
  for (const [p, f] of Object.entries(input.flags ?? {}) as [ClientProperty, { value: string; flag: string } | undefined][]) {
    if (f !== undefined) flags.set(p, { value: f.value, source: f.flag });
  }
  layers.push(flags);
  if (input.configFile !== undefined) {
    const r = readPropertiesFile(input.configFile, cwd, 'option --kafka-config');
    layers.push(r.layer);
    if (r.ignored.length) ignored.push({ file: resolve(cwd, input.configFile), names: r.ignored });
  }
  const fromEnv: Layer = new Map();
  for (const p of Object.keys(ClientProperties) as ClientProperty[]) {
    const v = env[envName(p)];
    if (v !== undefined && v !== '') fromEnv.set(p, { value: v, source: envName(p) });
  }
  layers.push(fromEnv);
  const envFile = env[CONFIG_FILE_ENV];
  if (envFile) {
    const r = readPropertiesFile(envFile, cwd, CONFIG_FILE_ENV);
    layers.push(r.layer);
    if (r.ignored.length) ignored.push({ file: resolve(cwd, envFile), names: r.ignored });
  }

  const get = (p: ClientProperty): Setting | undefined => {
    for (const l of layers) {
      const s = l.get(p);
      if (s !== undefined) return s;
    }
    return undefined;
  };
  return { connection: interpret(get, cwd), ignored };
}

const where = (s: Setting) => `(set by ${s.source})`;

function interpret(get: (p: ClientProperty) => Setting | undefined, cwd: string): KafkaConnection {
  const bootstrap = get('bootstrap.servers');
  const brokers = (bootstrap?.value ?? DEFAULT_BOOTSTRAP)
    .split(',')
    .map((s) => s.trim().replace(/^[a-zA-Z_]+:\/\//, ''))
    .filter(Boolean);
  if (brokers.length === 0) throw new UsageError(`bootstrap.servers is empty ${where(bootstrap!)}: give host:port of at least one broker`);
  for (const b of brokers) {
    if (!/^(\[[0-9a-fA-F:.]+\]|[^:\s]+):\d{1,5}$/.test(b)) {
      throw new UsageError(`bootstrap.servers: "${b}" is not host:port ${bootstrap ? where(bootstrap) : ''}`.trim());
    }
  }

  const protoSetting = get('security.protocol');
  const protocol = (protoSetting?.value.trim().toUpperCase() ?? 'PLAINTEXT') as SecurityProtocol;
  if (!SecurityProtocols.includes(protocol)) {
    throw new UsageError(`security.protocol "${protoSetting!.value}" ${where(protoSetting!)} is not one of ${SecurityProtocols.join(', ')}`);
  }
  const tlsOn = protocol === 'SSL' || protocol === 'SASL_SSL';
  const saslOn = protocol === 'SASL_PLAINTEXT' || protocol === 'SASL_SSL';

  // The host name check and certificate verification are always on; say so instead of silently ignoring a request to turn them off.
  const algo = get('ssl.endpoint.identification.algorithm');
  if (algo && algo.value.trim().toLowerCase() !== 'https') {
    throw new UsageError(
      `ssl.endpoint.identification.algorithm "${algo.value}" ${where(algo)}: Lagless always checks the broker's host name against its certificate. ` +
        `Remove the setting (or set it to https); if the certificate does not name the host you connect to, connect by a name it has.`,
    );
  }
  const verify = get('enable.ssl.certificate.verification');
  if (verify && verify.value.trim().toLowerCase() !== 'true') {
    throw new UsageError(`enable.ssl.certificate.verification ${where(verify)}: Lagless always verifies the broker's certificate; remove the setting, and give the broker's CA with ssl.ca.location`);
  }

  const present = (prefix: string) =>
    (Object.keys(ClientProperties) as ClientProperty[]).filter(
      (p) => p.startsWith(prefix) && p !== 'ssl.endpoint.identification.algorithm' && p !== 'enable.ssl.certificate.verification' && get(p) !== undefined,
    );
  if (!tlsOn) {
    const ssl = present('ssl.');
    if (ssl.length) {
      const s = get(ssl[0]!)!;
      throw new UsageError(`${ssl[0]} is set ${where(s)} but security.protocol is ${protocol}, which does not use TLS: set security.protocol to SSL or SASL_SSL (--security-protocol), or remove the ssl.* settings`);
    }
  }
  if (!saslOn) {
    const sasl = present('sasl.');
    if (sasl.length) {
      const s = get(sasl[0]!)!;
      throw new UsageError(`${sasl[0]} is set ${where(s)} but security.protocol is ${protocol}, which does not use SASL: set security.protocol to SASL_SSL or SASL_PLAINTEXT (--security-protocol), or remove the sasl.* settings`);
    }
  }

  const connection: KafkaConnection = { brokers };
  if (tlsOn) connection.tls = tlsSettings(get, cwd);
  if (saslOn) connection.sasl = saslSettings(get);
  return connection;
}

function readFile(s: Setting, property: string, cwd: string): Buffer {
  const path = resolve(cwd, s.value.trim());
  try {
    return readFileSync(path);
  } catch (err) {
    throw new UsageError(`${property} ${where(s)}: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
}

const isPem = (b: Buffer) => b.subarray(0, 4096).toString('latin1').includes('-----BEGIN ');

/** A short name for a CA bundle, for TLS error messages: the file and the subject of its first certificate. */
function caLabel(pem: string, from: string): string {
  try {
    const subject = new X509Certificate(pem).subject.split('\n').find((l) => l.startsWith('CN='));
    return subject ? `${from} (${subject})` : from;
  } catch {
    return from;
  }
}

function tlsSettings(get: (p: ClientProperty) => Setting | undefined, cwd: string): TlsSettings {
  // Trusted CAs: exactly one source.
  const caSources = (['ssl.ca.location', 'ssl.ca.pem', 'ssl.truststore.location', 'ssl.truststore.certificates'] as const).filter((p) => get(p) !== undefined);
  if (caSources.length > 1) {
    throw new UsageError(`the CA to trust is set twice: ${caSources.map((p) => `${p} ${where(get(p)!)}`).join(' and ')}; keep one`);
  }
  let tls: TlsSettings = { caSource: "Node's built-in list of public CAs" };
  const caProp = caSources[0];
  if (caProp) {
    const s = get(caProp)!;
    let pem: string | undefined;
    let from: string;
    if (caProp === 'ssl.ca.location') {
      if (s.value.trim() === 'probe') {
        from = "Node's built-in list of public CAs";
      } else {
        const b = readFile(s, caProp, cwd);
        if (!isPem(b)) throw new UsageError(`ssl.ca.location ${where(s)}: ${resolve(cwd, s.value.trim())} is not a PEM file (expected -----BEGIN CERTIFICATE-----)`);
        pem = b.toString('utf8');
        from = resolve(cwd, s.value.trim());
      }
    } else if (caProp === 'ssl.truststore.location') {
      const type = (get('ssl.truststore.type')?.value.trim().toUpperCase() || undefined) as string | undefined;
      const b = readFile(s, caProp, cwd);
      const path = resolve(cwd, s.value.trim());
      if ((type !== undefined && type !== 'PEM') || !isPem(b)) {
        throw new UsageError(
          `ssl.truststore.location ${where(s)}: ${path} is a ${type ?? 'JKS or PKCS12'} truststore; Lagless (Node.js TLS) reads CA certificates as PEM only. ` +
            `Convert it once with: keytool -list -rfc -keystore ${path} -storepass <password> | sed -n '/BEGIN/,/END/p' > ca.pem, then set ssl.ca.location=ca.pem`,
        );
      }
      pem = b.toString('utf8');
      from = path;
    } else {
      pem = s.value;
      from = `${caProp} ${where(s)}`;
    }
    if (pem !== undefined) {
      try {
        createSecureContext({ ca: pem });
      } catch (err) {
        throw new UsageError(`${caProp} ${where(s)}: the CA certificates cannot be read (${(err as Error).message})`);
      }
      tls = { ca: pem, caSource: caLabel(pem, from) };
    } else {
      tls = { caSource: from! };
    }
  }

  // Client certificate (mutual TLS): PEM certificate + key, or a keystore.
  const certS = get('ssl.certificate.location') ?? get('ssl.certificate.pem');
  const keyS = get('ssl.key.location') ?? get('ssl.key.pem');
  const keyPass = get('ssl.key.password');
  const ksS = get('ssl.keystore.location');
  const ksKey = get('ssl.keystore.key');
  const ksChain = get('ssl.keystore.certificate.chain');
  const styles = [certS || keyS ? 'ssl.certificate.*/ssl.key.*' : '', ksS ? 'ssl.keystore.location' : '', ksKey || ksChain ? 'ssl.keystore.key/certificate.chain' : ''].filter(Boolean);
  if (styles.length > 1) throw new UsageError(`the client certificate is set twice (${styles.join(' and ')}); keep one`);

  const pemPair = (cert: ClientProperty, key: ClientProperty) => {
    const c = get(cert);
    const k = get(key);
    if (!c || !k) {
      const [hasProp, missing] = c ? [cert, key] : [key, cert];
      throw new UsageError(`${hasProp} is set ${where((c ?? k)!)} but ${missing} is not: mutual TLS needs both the client certificate and its private key`);
    }
    const read = (p: ClientProperty, s: Setting) => (p.endsWith('.location') ? readFile(s, p, cwd).toString('utf8') : s.value);
    tls.cert = read(cert, c);
    tls.key = new Secret(read(key, k));
    if (keyPass) tls.passphrase = new Secret(keyPass.value);
    tls.clientCertSource = cert.endsWith('.location') ? resolve(cwd, c.value.trim()) : cert;
  };
  if (certS || keyS) {
    const pick = (location: ClientProperty, inline: ClientProperty) => (get(inline) && !get(location) ? inline : location);
    pemPair(pick('ssl.certificate.location', 'ssl.certificate.pem'), pick('ssl.key.location', 'ssl.key.pem'));
  } else if (ksKey || ksChain) {
    pemPair('ssl.keystore.certificate.chain', 'ssl.keystore.key');
  } else if (ksS) {
    const path = resolve(cwd, ksS.value.trim());
    const b = readFile(ksS, 'ssl.keystore.location', cwd);
    const type = get('ssl.keystore.type')?.value.trim().toUpperCase() ?? (isPem(b) ? 'PEM' : 'PKCS12');
    if (type === 'PEM') {
      // One file with the private key and the certificate chain (Kafka's PEM keystore).
      const text = b.toString('utf8');
      tls.cert = text;
      tls.key = new Secret(text);
      if (keyPass) tls.passphrase = new Secret(keyPass.value);
    } else if (type === 'PKCS12') {
      tls.pfx = new Secret(b);
      const pw = get('ssl.keystore.password') ?? keyPass;
      if (pw) tls.passphrase = new Secret(pw.value);
    } else {
      throw new UsageError(
        `ssl.keystore.location ${where(ksS)}: ${path} is a ${type} keystore; Lagless reads PKCS12 or PEM. ` +
          `Convert it once with: keytool -importkeystore -srckeystore ${path} -destkeystore client.p12 -deststoretype PKCS12, then set ssl.keystore.location=client.p12 and ssl.keystore.type=PKCS12`,
      );
    }
    tls.clientCertSource = path;
  }
  if (tls.cert !== undefined || tls.pfx !== undefined) {
    try {
      createSecureContext({
        ...(tls.cert !== undefined ? { cert: tls.cert } : {}),
        ...(tls.key !== undefined ? { key: tls.key.reveal() } : {}),
        ...(tls.pfx !== undefined ? { pfx: tls.pfx.reveal() } : {}),
        ...(tls.passphrase !== undefined ? { passphrase: tls.passphrase.reveal() } : {}),
      });
    } catch (err) {
      // OpenSSL's messages name no secret ("bad decrypt", "key values mismatch").
      throw new UsageError(`the client certificate ${tls.clientCertSource} and its key cannot be used (${(err as Error).message}); check the key, the certificate and ssl.key.password / ssl.keystore.password`);
    }
  }
  return tls;
}

/** username and password from a Java sasl.jaas.config line. */
export function parseJaasConfig(text: string): { module: string; options: Record<string, string> } | undefined {
  const m = /^\s*([\w.$]+)\s+(required|requisite|sufficient|optional)\s*(.*?)\s*;?\s*$/s.exec(text);
  if (!m) return undefined;
  const options: Record<string, string> = {};
  const re = /([\w.-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s;]+))/g;
  for (const o of m[3]!.matchAll(re)) options[o[1]!] = o[2] !== undefined ? o[2].replace(/\\(.)/g, '$1') : o[3]!;
  return { module: m[1]!, options };
}

function saslSettings(get: (p: ClientProperty) => Setting | undefined) {
  const mechS = get('sasl.mechanism');
  if (!mechS) {
    throw new UsageError(`security.protocol is SASL_* but sasl.mechanism is not set: set it to ${SaslMechanisms.join(', ')} (in the properties file, KAFKA_SASL_MECHANISM or --sasl-mechanism)`);
  }
  const asked = mechS.value.trim().toUpperCase();
  const mechanism = asked as SaslMechanism;
  if (!SaslMechanisms.includes(mechanism)) {
    const why = asked === 'GSSAPI' ? 'Kerberos is not supported' : asked === 'OAUTHBEARER' ? 'OAUTHBEARER is not supported yet' : 'unknown mechanism';
    throw new UsageError(`sasl.mechanism "${mechS.value}" ${where(mechS)}: ${why}; use one of ${SaslMechanisms.join(', ')}`);
  }
  let username = get('sasl.username');
  let password = get('sasl.password');
  const jaas = get('sasl.jaas.config');
  if (jaas && (!username || !password)) {
    const parsed = parseJaasConfig(jaas.value);
    // Never quote the line: it holds the password.
    if (!parsed) throw new UsageError(`sasl.jaas.config ${where(jaas)} cannot be read: expected <LoginModule> required username="..." password="...";`);
    const module = parsed.module.split('.').pop()!;
    const expected = mechanism === 'PLAIN' ? 'PlainLoginModule' : 'ScramLoginModule';
    if (module !== expected) {
      throw new UsageError(`sasl.jaas.config ${where(jaas)} uses ${module}, but sasl.mechanism is ${mechanism}, which needs ${expected}`);
    }
    if (!username && parsed.options.username !== undefined) username = { value: parsed.options.username, source: jaas.source };
    if (!password && parsed.options.password !== undefined) password = { value: parsed.options.password, source: jaas.source };
  }
  if (!username) {
    throw new UsageError(`sasl.mechanism is ${mechanism} but no user name is set: set sasl.username (or sasl.jaas.config) in the properties file, KAFKA_SASL_USERNAME or --sasl-username`);
  }
  if (!password) {
    throw new UsageError(
      `sasl.mechanism is ${mechanism} but no password is set for user "${username.value}": set sasl.password (or sasl.jaas.config) in the properties file, ` +
        `or the environment variable KAFKA_SASL_PASSWORD. There is no password flag: command lines are visible to every user in ps.`,
    );
  }
  return { mechanism, username: username.value, password: new Secret(password.value) };
}
