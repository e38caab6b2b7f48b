// The local development broker: Apache Kafka 4.x (KRaft) provisioned from Maven Central and run with Java.
export {
  startBroker,
  stopBroker,
  brokerStatus,
  brokerConnection,
  defaultBrokerOptions,
  type BrokerOptions,
  type BrokerState,
  type BrokerStatus,
  type StartResult,
  type StopOptions,
  type StopResult,
} from './broker.ts';
export { provisionKafka, findJava, KAFKA_VERSIONS, type KafkaInstall } from './provision.ts';
export { laglessHome, defaultDataDir, kafkaCacheDir } from './paths.ts';
export { BrokerSecurityModes, LOCAL_USER, securityFiles, ensureSecurityFiles, type BrokerSecurity, type SecurityFiles } from './security.ts';
