// Observability for orchestrators: liveness/readiness probes and Prometheus metrics over HTTP.
export { startObserveServer, type ObserveServer, type ObserveServerOptions } from './server.ts';
export { createMetricsRegistry, type MetricsSource, type ReplicaMetricsSource, type SupervisorMetricsSource } from './metrics.ts';
export { Logger, LogFormats, LogLevels, type LogFormat, type LogLevel, type LogFields, type LoggerOptions } from './logger.ts';
export { RateMeter, type RateMeterOptions } from './rate-meter.ts';
