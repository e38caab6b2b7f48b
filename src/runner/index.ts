// Process-level assembly of `lagless run`: a replica (transformer + autoscaler + status + probes) and, with --replicas, a supervisor of replicas.
export { Replica, type ReplicaOptions, type ReplicaEvents } from './replica.ts';
export { runSupervisor, withoutOption, type RunSupervisorOptions } from './supervised.ts';
