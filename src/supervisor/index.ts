// Replicas on one machine: a supervisor that runs `lagless run` processes in one group and scales their number.
export { Supervisor, type SupervisorOptions, type ReplicaInfo, type SupervisorEvents } from './supervisor.ts';
export { isReplicaReport, SUPERVISED_ENV, type ReplicaReport } from './messages.ts';
