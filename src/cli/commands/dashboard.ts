// `lagless dashboard --group G`: a live page of one consumer group (rates, lag, scaling, members, dead letters, latest outputs) on loopback.
import { Command } from 'commander';
import { formatDuration } from '../../common/index.ts';
import { DEFAULT_STATUS_TOPIC } from '../../control/index.ts';
import { Collector, defaultDashboardAccessOptions, startDashboardServer } from '../../dashboard/index.ts';
import { BUILT_IN_PREVIEWS } from '../../jobs/index.ts';
import { checkBrokers } from '../../kafka/index.ts';
import type { RegisterCommand } from '../context.ts';
import { addKafkaOptions, kafkaConnection, KAFKA_OPTIONS_HELP, type KafkaFlags } from '../connection-options.ts';
import { DASHBOARD_TOKEN_ENV, dashboardToken } from '../dashboard-token.ts';
import { durationOption, intArg } from '../options.ts';

type DashboardCommandOptions = KafkaFlags & {
  group: string;
  statusTopic: string;
  port: number;
  host: string;
  history: number;
  maxClients: number;
};

export const register: RegisterCommand = (program, ctx) => {
  const cmd = addKafkaOptions(
    new Command('dashboard')
      .description('Serve a live page of a consumer group: arrival and completion rates, lag, workers and replicas with scale events, members, dead letters, the latest outputs')
      .requiredOption('--group <name>', 'consumer group to show')
      .option('--port <port>', 'HTTP port (0 picks a free one)', intArg(0, 65535), 8080)
      .option('--host <address>', `address to bind; loopback by default (the page is read-only but shows record data); any other address needs ${DASHBOARD_TOKEN_ENV}`, '127.0.0.1')
      .option('--max-clients <n>', 'live pages (event streams) at once; one more gets HTTP 503 with Retry-After', intArg(1, 10_000), defaultDashboardAccessOptions.maxClients)
      .option('--status-topic <topic>', 'compacted topic where processes publish their status', DEFAULT_STATUS_TOPIC)
      .addOption(durationOption('--history <duration>', 'history kept in memory (one point per second)', 3_600_000))
      .addHelpText(
        'after',
        `${KAFKA_OPTIONS_HELP}

The page reads the group's status records, the broker's view of the group (committed and log-end offsets), the
latest records of the output topic and the last hour of the dead-letter topic (topics named in the members'
status records). It writes nothing and commits nothing. The same page is served at / by lagless run --http-port.

Outputs show through their job's preview: the built-in palette job's swatches and photo here; a job file's
preview where lagless run serves the page; any other output as its key and short values.

Access: on loopback (the default) the page answers only to loopback host names. Bound to any other address it
needs a token of at least 16 characters, from ${DASHBOARD_TOKEN_ENV} (when set, it is required on loopback too):
open the page once as http://HOST:PORT/?token=<token> (an HttpOnly cookie keeps it), or send
Authorization: Bearer <token>.

Examples:
  $ lagless dashboard --group palettes                 # then open http://127.0.0.1:8080/
  $ lagless dashboard --group palettes --port 0        # any free port; the URL is printed`,
      ),
  ).action(async (opts: DashboardCommandOptions) => {
    const token = dashboardToken(ctx.env, opts.host, '--host');
    const kafka = kafkaConnection(opts, ctx);
    await checkBrokers(kafka);
    const collector = new Collector({ kafka, group: opts.group, statusTopic: opts.statusTopic, historyMs: opts.history, previews: BUILT_IN_PREVIEWS });
    let server;
    try {
      server = await startDashboardServer({ collector, port: opts.port, host: opts.host, token, maxClients: opts.maxClients });
    } catch (err) {
      await collector.close();
      throw err;
    }
    collector.start();
    ctx.stdout.write(`${server.url}\n`);
    const access = token ? `; open it once with ?token=<${DASHBOARD_TOKEN_ENV}>` : '';
    ctx.stderr.write(`Dashboard of group ${opts.group} at ${server.url} (history: the last ${formatDuration(opts.history)}${access}; Ctrl-C to stop)\n`);
    await new Promise<void>((resolve) => {
      if (ctx.signal.aborted) resolve();
      else ctx.signal.addEventListener('abort', () => resolve(), { once: true });
    });
    await server.close();
    await collector.close();
  });
  program.addCommand(cmd);
};
