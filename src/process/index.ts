// Process-level assembly of `lagless run`: one replica (transformer + autoscaler), and with --replicas a supervisor of replica processes on this machine; around either, the same shell (status, probes, metrics, dashboard).
export { Replica, type ReplicaOptions, type ReplicaEvents } from './replica.ts';
export { ProcessShell, type ProcessShellOptions, type StatusEnvelope } from './shell.ts';
export { runSupervisor, withoutOption, type RunSupervisorOptions } from './run-supervisor.ts';
export { Supervisor, type SupervisorOptions, type ReplicaInfo, type SupervisorEvents } from './supervisor.ts';
export { isActivateMessage, isReplicaReport, STANDBY_ENV, SUPERVISED_ENV, waitForActivation, type ActivateMessage, type ReplicaReport } from './messages.ts';
export { JobRunner, prepareTopics, workerBounds, defaultDlq, defaultGroup, type RunOptions, type JobTransformer, type JobTransformerEvents } from './job-runner.ts';
