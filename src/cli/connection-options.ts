// The Kafka connection options every command that talks to Kafka shares (--brokers, --kafka-config, TLS and SASL
// flags), and their resolution with the environment and the client properties file into one KafkaConnection.
import { Option, type Command } from 'commander';
import { resolveConnection, SaslMechanisms, SecurityProtocols, type ClientProperty, type KafkaConnection } from '../kafka/index.ts';
import type { CliContext } from './context.ts';
import { choiceArg } from './options.ts';

/** Flag -> client property. Secrets have no flag on purpose: command lines are visible to every user in `ps`. */
const FLAGS = [
  { flag: '--brokers', key: 'brokers', property: 'bootstrap.servers', arg: '<host:port,...>', help: 'Kafka bootstrap servers (bootstrap.servers; default: 127.0.0.1:9092)' },
  { flag: '--security-protocol', key: 'securityProtocol', property: 'security.protocol', arg: '<protocol>', help: `${SecurityProtocols.join(', ')} (security.protocol; default PLAINTEXT)`, choices: SecurityProtocols },
  { flag: '--sasl-mechanism', key: 'saslMechanism', property: 'sasl.mechanism', arg: '<mechanism>', help: `${SaslMechanisms.join(', ')} (sasl.mechanism)`, choices: SaslMechanisms },
  { flag: '--sasl-username', key: 'saslUsername', property: 'sasl.username', arg: '<name>', help: 'SASL user; its password comes from sasl.password in the config file or $KAFKA_SASL_PASSWORD, never from a flag' },
  { flag: '--ssl-ca', key: 'sslCa', property: 'ssl.ca.location', arg: '<file>', help: "PEM file of the CA certificates to trust (ssl.ca.location; default: Node's public CAs)" },
  { flag: '--ssl-cert', key: 'sslCert', property: 'ssl.certificate.location', arg: '<file>', help: 'client certificate (PEM) for mutual TLS (ssl.certificate.location)' },
  { flag: '--ssl-key', key: 'sslKey', property: 'ssl.key.location', arg: '<file>', help: 'private key (PEM) of --ssl-cert (ssl.key.location; passphrase: ssl.key.password or $KAFKA_SSL_KEY_PASSWORD)' },
] as const satisfies readonly { flag: string; key: string; property: ClientProperty; arg: string; help: string; choices?: readonly string[] }[];

export const KAFKA_OPTIONS_HEADING = 'Kafka connection options:';

/** The parsed values of the connection flags (commander's camelCase keys). */
export type KafkaFlags = { kafkaConfig?: string } & { [F in (typeof FLAGS)[number] as F['key']]?: string };

/** Adds the connection options (one help group) to a command. Read them with kafkaConnection(opts, ctx). */
export function addKafkaOptions(cmd: Command): Command {
  cmd.addOption(
    new Option('--kafka-config <file>', 'Kafka client properties file (bootstrap.servers, security.protocol, sasl.*, ssl.*, as kcat -F reads; default: $KAFKA_CONFIG)').helpGroup(
      KAFKA_OPTIONS_HEADING,
    ),
  );
  for (const f of FLAGS) {
    const o = new Option(`${f.flag} ${f.arg}`, f.help).helpGroup(KAFKA_OPTIONS_HEADING);
    cmd.addOption('choices' in f ? o.argParser(choiceArg(f.choices as readonly string[])) : o);
  }
  return cmd;
}

export const KAFKA_OPTIONS_HELP = `
Connection settings, per setting the first of: flags, the --kafka-config file, environment variables
(KAFKA_BROKERS, KAFKA_SECURITY_PROTOCOL, KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME, KAFKA_SASL_PASSWORD,
KAFKA_SSL_CA_LOCATION, ...: KAFKA_ and the property name in capitals with _ for .), the $KAFKA_CONFIG file, defaults.`;

/**
 * The connection of a command: its flags, the --kafka-config file, the environment and the $KAFKA_CONFIG file (in this
 * order of precedence). Properties a file sets that Lagless does not use are named on stderr (names only).
 */
export function kafkaConnection(opts: KafkaFlags, ctx: Pick<CliContext, 'env' | 'stderr'>): KafkaConnection {
  const flags: Partial<Record<ClientProperty, { value: string; flag: string }>> = {};
  for (const f of FLAGS) {
    const v = opts[f.key];
    if (v !== undefined) flags[f.property] = { value: v, flag: f.flag };
  }
  const resolved = resolveConnection({ flags, env: ctx.env, ...(opts.kafkaConfig !== undefined ? { configFile: opts.kafkaConfig } : {}) });
  for (const { file, names } of resolved.ignored) {
    ctx.stderr.write(`note: ${file}: ignoring ${names.length === 1 ? 'a property' : 'properties'} Lagless does not use: ${names.join(', ')}\n`);
  }
  return resolved.connection;
}
