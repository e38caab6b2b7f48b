// The files a local KRaft node needs: server.properties (combined broker+controller, a single node or a cluster's) and a log4j2 config.
import { randomBytes } from 'node:crypto';

export interface BrokerConfigInput {
  port: number;
  controllerPort: number;
  logDirs: string;
  /**
   * A secure client listener: its protocol (SASL_SSL or SSL) and settings. It is also the inter-broker listener, so
   * no plaintext port serves Kafka requests; only the controller (quorum) port on 127.0.0.1 stays plaintext.
   */
  security?: { protocol: 'SASL_SSL' | 'SSL'; properties: Record<string, string> };
}

/**
 * Share groups (`lagless run --group-type share`; enabled by default from Kafka 4.2): heartbeats and session timeout as
 * for the consumer groups above (defaults 5 s and 45 s), and a 15 s acquisition lock (default 30 s, the lowest a group
 * may set): the records of a member killed with -9 go to the others 15 s later. The delivery count limit stays at
 * Kafka's default, 5: `--attempts` must stay below it (see the DELIVERY_LIMIT dead letter).
 */
const SHARE_GROUP_SETTINGS = {
  'group.share.heartbeat.interval.ms': 1000,
  'group.share.min.heartbeat.interval.ms': 1000,
  'group.share.session.timeout.ms': 10_000,
  'group.share.min.session.timeout.ms': 6000,
  'group.share.record.lock.duration.ms': 15_000,
} as const;

/** A single-node (combined broker + controller) KRaft configuration bound to 127.0.0.1 only. */
export function serverProperties(c: BrokerConfigInput): string {
  const client = c.security?.protocol ?? 'PLAINTEXT';
  const lines: Record<string, string | number> = {
    'process.roles': 'broker,controller',
    'node.id': 1,
    'controller.quorum.voters': `1@127.0.0.1:${c.controllerPort}`,
    listeners: `${client}://127.0.0.1:${c.port},CONTROLLER://127.0.0.1:${c.controllerPort}`,
    'advertised.listeners': `${client}://127.0.0.1:${c.port}`,
    'controller.listener.names': 'CONTROLLER',
    'inter.broker.listener.name': client,
    'listener.security.protocol.map': `${client}:${client},CONTROLLER:PLAINTEXT`,
    'log.dirs': c.logDirs,
    'num.partitions': 1,
    // One node: every internal topic has one replica.
    'offsets.topic.replication.factor': 1,
    'offsets.topic.num.partitions': 8,
    'transaction.state.log.replication.factor': 1,
    'transaction.state.log.min.isr': 1,
    'transaction.state.log.num.partitions': 4,
    'share.coordinator.state.topic.replication.factor': 1,
    'share.coordinator.state.topic.min.isr': 1,
    // A development broker: join groups at once, and make topic creation explicit so typos fail loudly.
    'group.initial.rebalance.delay.ms': 0,
    // KIP-848 groups (--group-protocol consumer): the broker sets heartbeats and session timeouts. Defaults are 5 s and
    // 45 s; a local broker uses what the classic members of Lagless ask for (1 s, 10 s), so scale events and the
    // detection of a crashed member take as long with either protocol.
    'group.consumer.heartbeat.interval.ms': 1000,
    'group.consumer.min.heartbeat.interval.ms': 1000,
    'group.consumer.session.timeout.ms': 10_000,
    'group.consumer.min.session.timeout.ms': 6000,
    ...SHARE_GROUP_SETTINGS,
    'auto.create.topics.enable': 'false',
    'log.retention.hours': 168,
    ...c.security?.properties,
  };
  return (
    '# Written by "lagless kafka start"; regenerated at every start.\n' +
    Object.entries(lines)
      .map(([k, v]) => `${k}=${v}`)
      .join('\n') +
    '\n'
  );
}

export interface ClusterNodeConfigInput {
  nodeId: number;
  /** Address of the client listener (bound and advertised). */
  host: string;
  port: number;
  controllerPort: number;
  logDirs: string;
  /** Every node of the cluster (each one is a broker and a controller voter). */
  voters: { nodeId: number; controllerPort: number }[];
}

/**
 * One node of a local cluster (plaintext): broker and controller in one JVM, every node a voter of the controller
 * quorum. Topics created without a replication factor get 3 replicas (or as many as there are nodes) and need 2 in
 * sync to accept a write.
 */
export function clusterNodeProperties(c: ClusterNodeConfigInput): string {
  const rf = Math.min(3, c.voters.length);
  const isr = Math.min(2, rf);
  const lines: Record<string, string | number> = {
    'process.roles': 'broker,controller',
    'node.id': c.nodeId,
    'controller.quorum.voters': c.voters.map((v) => `${v.nodeId}@127.0.0.1:${v.controllerPort}`).join(','),
    listeners: `PLAINTEXT://${c.host}:${c.port},CONTROLLER://127.0.0.1:${c.controllerPort}`,
    'advertised.listeners': `PLAINTEXT://${c.host}:${c.port}`,
    'controller.listener.names': 'CONTROLLER',
    'inter.broker.listener.name': 'PLAINTEXT',
    'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    'log.dirs': c.logDirs,
    'num.partitions': 1,
    'default.replication.factor': rf,
    'min.insync.replicas': isr,
    'offsets.topic.replication.factor': rf,
    'offsets.topic.num.partitions': 8,
    'transaction.state.log.replication.factor': rf,
    'transaction.state.log.min.isr': isr,
    'transaction.state.log.num.partitions': 4,
    'share.coordinator.state.topic.replication.factor': rf,
    'share.coordinator.state.topic.min.isr': isr,
    // Never elect a replica that missed writes: losing acknowledged records is what the fault tests look for.
    'unclean.leader.election.enable': 'false',
    'group.initial.rebalance.delay.ms': 0,
    // KIP-848 groups: as on one node (1 s heartbeats, a 10 s session), so that a crashed or cut-off member of a
    // consumer group is detected about as soon as one of a classic group.
    'group.consumer.heartbeat.interval.ms': 1000,
    'group.consumer.min.heartbeat.interval.ms': 1000,
    'group.consumer.session.timeout.ms': 10_000,
    'group.consumer.min.session.timeout.ms': 6000,
    ...SHARE_GROUP_SETTINGS,
    ...SHARE_GROUP_SETTINGS,
    'auto.create.topics.enable': 'false',
    'log.retention.hours': 168,
  };
  return (
    '# Written by "lagless kafka start --nodes"; regenerated at every start.\n' +
    Object.entries(lines)
      .map(([k, v]) => `${k}=${v}`)
      .join('\n') +
    '\n'
  );
}

export const LOG4J2_YAML = `# Written by "lagless kafka start": broker logs go to stdout, which is broker.log in the data directory.
Configuration:
  Appenders:
    Console:
      name: STDOUT
      PatternLayout:
        pattern: "[%d] %p %m (%c)%n"
  Loggers:
    Root:
      level: INFO
      AppenderRef:
        - ref: STDOUT
    Logger:
      - name: kafka.request.logger
        level: WARN
      - name: org.apache.kafka.common.config
        level: WARN
      - name: kafka.server.KafkaConfig
        level: WARN
`;

/** A random Kafka cluster id: 16 bytes, base64url without padding (what `kafka-storage random-uuid` prints). */
export function newClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    // An id starting with "-" would be read as a flag by the storage tool.
    if (!id.startsWith('-')) return id;
  }
}
