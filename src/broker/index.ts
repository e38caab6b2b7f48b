// The local development broker: Apache Kafka 4.x (KRaft) provisioned from Maven Central and run with Java, one node or a cluster.
export {
  startBroker,
  stopBroker,
  brokerStatus,
  brokerConnection,
  defaultBrokerOptions,
  type BrokerOptions,
  type BrokerStatus,
  type StartResult,
  type StopOptions,
  type StopResult,
} from './broker.ts';
export {
  startCluster,
  stopCluster,
  signalClusterNode,
  clusterStatus,
  findCluster,
  clusterBootstrap,
  defaultClusterOptions,
  type ClusterOptions,
  type ClusterState,
  type ClusterNode,
  type ClusterStartResult,
  type ClusterStopResult,
  type ClusterStatus,
  type ClusterNodeStatus,
} from './cluster.ts';
export { signalKafka, isPaused, residentBytes, type BrokerState, type NodeSignal } from './process.ts';
export { provisionKafka, findJava, KAFKA_VERSIONS, type KafkaInstall } from './provision.ts';
export { laglessHome, defaultDataDir, kafkaCacheDir } from './paths.ts';
export { BrokerSecurityModes, LOCAL_USER, securityFiles, ensureSecurityFiles, type BrokerSecurity, type SecurityFiles } from './security.ts';
