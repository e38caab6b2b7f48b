// `lagless kafka start|stop|status`: the local single-node Kafka broker for development, tests and the demo.
import { Command } from 'commander';
import { BrokerSecurityModes, brokerStatus, defaultBrokerOptions, startBroker, stopBroker, type BrokerSecurity } from '../../broker/index.ts';
import { formatDuration } from '../../common/index.ts';
import { LaglessError } from '../../errors/index.ts';
import { choiceArg, intArg } from '../options.ts';
import type { RegisterCommand } from '../context.ts';

export const register: RegisterCommand = (program, ctx) => {
  const kafka = new Command('kafka')
    .description('Run a local single-node Apache Kafka 4.x broker (KRaft), provisioned from Maven Central and run with Java 17+')
    .addHelpText(
      'after',
      `
The first start downloads Kafka's jars with Maven (about 45 MB) into ~/.lagless/cache (or $LAGLESS_HOME/cache);
later starts use the cache and need no network. The broker listens on 127.0.0.1 only.

--security sasl_ssl: TLS + SASL (SCRAM-SHA-512, also SCRAM-SHA-256 and PLAIN) for user "lagless";
--security mtls: TLS with a client certificate (CN=lagless) required. Either way the first start makes a CA and
certificates with openssl in <data-dir>/security, and every start writes ready client config files:
  <data-dir>/client.properties       for Lagless (--kafka-config), kcat -F, librdkafka, confluent-kafka
  <data-dir>/client-java.properties  for Java clients and Kafka's own tools
They hold a password or a key path: they are readable by you only.

Examples:
  $ lagless kafka start                 # 127.0.0.1:9092, data in ~/.lagless/kafka/9092
  $ lagless kafka start --port 19092 --data-dir /tmp/kafka-test
  $ lagless kafka start --port 19093 --security sasl_ssl
  $ lagless topics list --kafka-config ~/.lagless/kafka/19093/client.properties
  $ lagless kafka status
  $ lagless kafka stop`,
    );

  kafka
    .command('start')
    .description('Start the broker (harmless if it already runs) and print its bootstrap address')
    .option('--port <port>', 'client port on 127.0.0.1', intArg(1, 65535), defaultBrokerOptions.port)
    .option('--data-dir <dir>', 'data directory (default: ~/.lagless/kafka/<port>)')
    .option('--heap <size>', 'maximum JVM heap, e.g. 512m or 2g (default: $LAGLESS_KAFKA_HEAP or 1g)')
    .option('--security <mode>', `client listener: ${BrokerSecurityModes.join(', ')}`, choiceArg(BrokerSecurityModes), defaultBrokerOptions.security)
    .action(async (opts: { port: number; dataDir?: string; heap?: string; security: BrokerSecurity }) => {
      const res = await startBroker({
        port: opts.port,
        security: opts.security,
        ...(opts.dataDir ? { dataDir: opts.dataDir } : {}),
        ...(opts.heap ? { heap: opts.heap } : {}),
        env: ctx.env,
        onProgress: (m) => ctx.stderr.write(`${m}\n`),
      });
      if (res.alreadyRunning) {
        ctx.stderr.write(`Kafka ${res.state.version} is already running (pid ${res.state.pid}, data ${res.state.dataDir}).\n`);
      } else {
        ctx.stderr.write(
          `Kafka ${res.state.version} started in ${formatDuration(res.startMs)} (provisioning ${formatDuration(res.provisionMs)}${res.downloaded ? ', downloaded' : ', cached'}); ` +
            `pid ${res.state.pid}, data ${res.state.dataDir}, log ${res.state.dataDir}/broker.log\n`,
        );
      }
      if (res.state.clientConfig) {
        ctx.stderr.write(
          `Listener ${res.bootstrap} is ${res.state.security === 'mtls' ? 'SSL (mutual TLS)' : 'SASL_SSL (SCRAM-SHA-512)'}. Client config files:\n` +
            `  ${res.state.clientConfig}  (lagless ... --kafka-config FILE; kcat -F FILE)\n` +
            `  ${res.state.javaClientConfig}  (Java clients, Kafka's tools)\n`,
        );
      }
      ctx.stdout.write(`${res.bootstrap}\n`);
    });

  kafka
    .command('stop')
    .description('Stop the broker cleanly (SIGTERM, SIGKILL after --timeout)')
    .option('--port <port>', 'client port of the broker to stop', intArg(1, 65535), defaultBrokerOptions.port)
    .option('--data-dir <dir>', 'data directory of the broker to stop (default: the one registered for --port)')
    .option('--timeout <seconds>', 'seconds to wait for a clean shutdown', intArg(1, 3600), 30)
    .action(async (opts: { port: number; dataDir?: string; timeout: number }) => {
      const res = await stopBroker({ port: opts.port, ...(opts.dataDir ? { dataDir: opts.dataDir } : {}), timeoutMs: opts.timeout * 1000, env: ctx.env });
      if (!res.wasRunning) ctx.stdout.write(`No Lagless Kafka broker is running on port ${opts.port}${opts.dataDir ? ` from ${opts.dataDir}` : ''}.\n`);
      else ctx.stdout.write(`Stopped Kafka (pid ${res.state!.pid}${res.killed ? ', killed after the timeout' : ''}).\n`);
    });

  kafka
    .command('status')
    .description('Say whether the broker runs and answers (exit 0 if it does, 1 if not)')
    .option('--port <port>', 'client port of the broker', intArg(1, 65535), defaultBrokerOptions.port)
    .option('--data-dir <dir>', 'data directory of the broker')
    .option('--json', 'print JSON')
    .action(async (opts: { port: number; dataDir?: string; json?: boolean }) => {
      const st = await brokerStatus({ port: opts.port, ...(opts.dataDir ? { dataDir: opts.dataDir } : {}), env: ctx.env });
      if (opts.json) {
        ctx.stdout.write(JSON.stringify(st, null, 2) + '\n');
      } else if (st.running && st.state) {
        const up = formatDuration(Date.now() - Date.parse(st.state.startedAt));
        ctx.stdout.write(
          `running: Kafka ${st.state.version} at ${st.bootstrap}, pid ${st.state.pid}, up ${up}, ${st.reachable ? 'answering' : 'NOT answering'}\n` +
            `data: ${st.state.dataDir}\n`,
        );
      } else {
        ctx.stdout.write(`not running (port ${opts.port}). Start it with: lagless kafka start${opts.port !== 9092 ? ` --port ${opts.port}` : ''}\n`);
        if (st.logTail) ctx.stdout.write(`last lines of ${st.state?.dataDir}/broker.log:\n${st.logTail}\n`);
      }
      if (!st.running || !st.reachable) throw new LaglessError('BROKER_UNREACHABLE', st.running ? 'the broker process runs but does not answer' : 'the broker is not running');
    });

  program.addCommand(kafka);
};
