// `lagless kafka start|stop|status|kill|pause|resume`: the local Kafka broker (plaintext or secure), or a local multi-node cluster, for development, tests and the demo.
import { isIP } from 'node:net';
import { Command, InvalidArgumentError } from 'commander';
import {
  BrokerSecurityModes,
  brokerStatus,
  clusterStatus,
  defaultBrokerOptions,
  findCluster,
  signalClusterNode,
  signalKafka,
  startBroker,
  startCluster,
  stopBroker,
  stopCluster,
  type BrokerSecurity,
  type NodeSignal,
} from '../../broker/index.ts';
import { formatDuration } from '../../common/index.ts';
import { LaglessError, UsageError } from '../../errors/index.ts';
import { choiceArg, intArg } from '../options.ts';
import type { CliContext, RegisterCommand } from '../context.ts';

/** "2" or "node-2": a node of a cluster by its Kafka node id. */
function nodeArg(value: string): number {
  const m = /^(?:node-)?(\d+)$/.exec(value.trim());
  if (!m || Number(m[1]) < 1) throw new InvalidArgumentError(`expected a node id such as 2 or node-2, got "${value}".`);
  return Number(m[1]);
}

function hostArg(value: string): string {
  if (isIP(value) === 0) throw new InvalidArgumentError(`expected an IP address of this machine (e.g. 127.0.0.1), got "${value}".`);
  return value;
}

interface Where {
  port: number;
  dataDir?: string;
}

const where = (o: Where) => ({ port: o.port, ...(o.dataDir ? { dataDir: o.dataDir } : {}) });

const mib = (bytes: number | undefined) => (bytes === undefined ? '?' : `${Math.round(bytes / 1024 / 1024)} MiB`);

/** The single-node broker has one node, id 1. */
function checkSingleNode(node: number | undefined): void {
  if (node !== undefined && node !== 1) throw new UsageError(`option --node: the broker on this port is a single node (node 1), not a cluster`);
}

function addWhere(cmd: Command, what: string): Command {
  return cmd
    .option('--port <port>', `client port of the broker (of node 1 for a cluster)${what}`, intArg(1, 65535), defaultBrokerOptions.port)
    .option('--data-dir <dir>', 'data directory (default: the one registered for --port, or ~/.lagless/kafka/<port>)');
}

async function signalNodes(action: NodeSignal, opts: Where & { node?: number }, ctx: CliContext): Promise<void> {
  const verb = { kill: 'Killed (kill -9)', pause: 'Paused (SIGSTOP)', resume: 'Resumed (SIGCONT)' }[action];
  const cluster = await findCluster({ ...where(opts), env: ctx.env });
  if (cluster) {
    const res = await signalClusterNode(action, { ...where(opts), ...(opts.node !== undefined ? { node: opts.node } : {}), env: ctx.env });
    for (const n of res.nodes) ctx.stdout.write(n.wasRunning ? `${verb} node ${n.nodeId} (pid ${n.pid}).\n` : `Node ${n.nodeId} is not running.\n`);
    if (!res.nodes.some((n) => n.wasRunning)) throw new LaglessError('KAFKA', `no node to ${action} is running`);
    return;
  }
  checkSingleNode(opts.node);
  const st = await brokerStatus({ ...where(opts), env: ctx.env });
  if (!st.running || !st.state) throw new LaglessError('KAFKA', `no Lagless Kafka broker is running on port ${opts.port}`);
  await signalKafka(st.state, action);
  ctx.stdout.write(`${verb} the broker (pid ${st.state.pid}).\n`);
}

export const register: RegisterCommand = (program, ctx) => {
  const kafka = new Command('kafka')
    .description('Run a local Apache Kafka 4.x (KRaft): one node, or a cluster of nodes for failover tests; provisioned from Maven Central and run with Java 17+')
    .addHelpText(
      'after',
      `
The first start downloads Kafka's jars with Maven (about 45 MB) into ~/.lagless/cache (or $LAGLESS_HOME/cache);
later starts use the cache and need no network. Nodes listen on 127.0.0.1 only (or --host).

--security sasl_ssl: TLS + SASL (SCRAM-SHA-512, also SCRAM-SHA-256 and PLAIN) for user "lagless";
--security mtls: TLS with a client certificate (CN=lagless) required. Either way the first start makes a CA and
certificates with openssl in <data-dir>/security, and every start writes ready client config files:
  <data-dir>/client.properties       for Lagless (--kafka-config), kcat -F, librdkafka, confluent-kafka
  <data-dir>/client-java.properties  for Java clients and Kafka's own tools
They hold a password or a key path: they are readable by you only.

A cluster (--nodes 3, plaintext): every node is a broker and a controller voter; node n listens on --port + n - 1.
Topics created without a replication factor get 3 replicas and min.insync.replicas=2. Any single node can be
stopped, killed, paused and restarted by its id while the others keep serving.

Examples:
  $ lagless kafka start                 # 127.0.0.1:9092, data in ~/.lagless/kafka/9092
  $ lagless kafka start --port 19092 --data-dir /tmp/kafka-test
  $ lagless kafka start --port 19093 --security sasl_ssl
  $ lagless topics list --kafka-config ~/.lagless/kafka/19093/client.properties
  $ lagless kafka status
  $ lagless kafka stop
  $ lagless kafka start --nodes 3 --port 29092          # 127.0.0.1:29092,127.0.0.1:29093,127.0.0.1:29094
  $ lagless kafka kill --node 2 --port 29092            # kill -9 of node 2
  $ lagless kafka start --node 2 --port 29092           # and its restart
  $ lagless kafka pause --node 1 --port 29092           # SIGSTOP; resume with: lagless kafka resume --node 1`,
    );

  addWhere(kafka.command('start'), '')
    .description('Start the broker, or every node of a cluster, or one node (harmless if it already runs); print the bootstrap addresses')
    .option('--nodes <n>', 'start a new cluster of n nodes (a data directory that holds a cluster keeps its own count)', intArg(1, 9))
    .option('--node <id>', 'start only this node of the cluster (e.g. a restart after kill)', nodeArg)
    .option('--host <address>', 'address the client listeners bind and advertise (an address of this machine)', hostArg)
    .option('--heap <size>', 'maximum JVM heap per node, e.g. 512m or 2g (default: $LAGLESS_KAFKA_HEAP, else 1g for one node and 512m per cluster node)')
    .option('--security <mode>', `client listener of a single node: ${BrokerSecurityModes.join(', ')}`, choiceArg(BrokerSecurityModes), defaultBrokerOptions.security)
    .action(async (opts: Where & { nodes?: number; node?: number; host?: string; heap?: string; security: BrokerSecurity }) => {
      const progress = (m: string) => ctx.stderr.write(`${m}\n`);
      const cluster = await findCluster({ ...where(opts), env: ctx.env });
      if (cluster || (opts.nodes !== undefined && opts.nodes > 1)) {
        if (opts.security !== 'plaintext') throw new UsageError('option --security: a local cluster (--nodes) is plaintext only');
        if (opts.nodes === 2) throw new UsageError('option --nodes: a quorum of 2 controllers stops when either node stops; use 3 (or more) nodes');
        const res = await startCluster({
          ...where(opts),
          ...(opts.nodes !== undefined ? { nodes: opts.nodes } : {}),
          ...(opts.node !== undefined ? { node: opts.node } : {}),
          ...(opts.host ? { host: opts.host } : {}),
          ...(opts.heap ? { heap: opts.heap } : {}),
          env: ctx.env,
          onProgress: progress,
        });
        if (res.alreadyRunning.length) ctx.stderr.write(`Node(s) ${res.alreadyRunning.join(', ')} already running.\n`);
        if (res.started.length) {
          ctx.stderr.write(
            `Kafka ${res.state.version}: node(s) ${res.started.join(', ')} of ${res.state.nodes.length} started in ${formatDuration(res.startMs)} ` +
              `(provisioning ${formatDuration(res.provisionMs)}${res.downloaded ? ', downloaded' : ', cached'}); data ${res.state.dataDir}, logs node-<n>/broker.log\n`,
          );
        }
        ctx.stdout.write(`${res.bootstrap}\n`);
        return;
      }
      checkSingleNode(opts.node);
      if (opts.host) throw new UsageError('option --host: only a cluster (--nodes 3) listens elsewhere than 127.0.0.1');
      const res = await startBroker({
        ...where(opts),
        security: opts.security,
        ...(opts.heap ? { heap: opts.heap } : {}),
        env: ctx.env,
        onProgress: progress,
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

  addWhere(kafka.command('stop'), ' to stop')
    .description('Stop the broker, or every node of a cluster, or one node, cleanly (SIGTERM, SIGKILL after --timeout)')
    .option('--node <id>', 'stop only this node of the cluster', nodeArg)
    .option('--timeout <seconds>', 'seconds to wait for a clean shutdown', intArg(1, 3600), 30)
    .action(async (opts: Where & { node?: number; timeout: number }) => {
      const cluster = await findCluster({ ...where(opts), env: ctx.env });
      if (cluster) {
        const res = await stopCluster({ ...where(opts), ...(opts.node !== undefined ? { node: opts.node } : {}), timeoutMs: opts.timeout * 1000, env: ctx.env });
        for (const n of res.nodes) {
          ctx.stdout.write(n.wasRunning ? `Stopped node ${n.nodeId} (pid ${n.pid}${n.killed ? ', killed after the timeout' : ''}).\n` : `Node ${n.nodeId} was not running.\n`);
        }
        return;
      }
      checkSingleNode(opts.node);
      const res = await stopBroker({ ...where(opts), timeoutMs: opts.timeout * 1000, env: ctx.env });
      if (!res.wasRunning) ctx.stdout.write(`No Lagless Kafka broker is running on port ${opts.port}${opts.dataDir ? ` from ${opts.dataDir}` : ''}.\n`);
      else ctx.stdout.write(`Stopped Kafka (pid ${res.state!.pid}${res.killed ? ', killed after the timeout' : ''}).\n`);
    });

  addWhere(kafka.command('status'), '')
    .description('Say whether the broker (every node of a cluster) runs and answers (exit 0 if all do, 1 if not)')
    .option('--json', 'print JSON')
    .action(async (opts: Where & { json?: boolean }) => {
      const cluster = await findCluster({ ...where(opts), env: ctx.env });
      if (cluster) {
        const st = await clusterStatus({ ...where(opts), env: ctx.env });
        if (opts.json) {
          ctx.stdout.write(JSON.stringify(st, null, 2) + '\n');
        } else {
          ctx.stdout.write(`cluster: Kafka ${st.state.version}, ${st.state.nodes.length} nodes, bootstrap ${st.bootstrap}\ndata: ${st.state.dataDir}\n`);
          for (const n of st.nodes) {
            const what = !n.running
              ? 'not running'
              : `${n.paused ? 'PAUSED' : n.reachable ? 'answering' : 'NOT answering'}, pid ${n.pid}, up ${formatDuration(Date.now() - Date.parse(n.startedAt!))}, ` +
                `rss ${mib(n.rssBytes)}${n.leaderOf !== undefined ? `, leads ${n.leaderOf} partition(s)` : ''}`;
            ctx.stdout.write(`node ${n.nodeId} ${n.bootstrap}: ${what}\n`);
          }
        }
        const bad = st.nodes.filter((n) => !n.running || !n.reachable);
        if (bad.length) throw new LaglessError('BROKER_UNREACHABLE', `node(s) ${bad.map((n) => n.nodeId).join(', ')} not running or not answering`);
        return;
      }
      const st = await brokerStatus({ ...where(opts), env: ctx.env });
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

  const faults: [NodeSignal, string][] = [
    ['kill', 'Kill a node at once (kill -9: no flush, no clean shutdown); restart it with kafka start --node'],
    ['pause', 'Freeze a node (SIGSTOP): its connections stay open but nothing answers'],
    ['resume', 'Unfreeze a paused node (SIGCONT)'],
  ];
  for (const [action, description] of faults) {
    addWhere(kafka.command(action), '')
      .description(description)
      .option('--node <id>', 'the node (default: every node)', nodeArg)
      .action((opts: Where & { node?: number }) => signalNodes(action, opts, ctx));
  }

  program.addCommand(kafka);
};
