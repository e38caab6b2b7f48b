// A local multi-node Kafka cluster (KRaft, every node a broker and a controller voter) for failover tests: start, stop, status, and per-node stop, kill, pause, resume and restart.
import { existsSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { freePortRange } from '../common/index.ts';
import { LaglessError, UsageError } from '../errors/index.ts';
import { checkBrokers, createAdmin } from '../kafka/index.ts';
import { clusterNodeProperties, newClusterId } from './config.ts';
import { defaultDataDir, registryFile } from './paths.ts';
import {
  launchNode,
  waitForKafka,
  isOurBroker,
  isPaused,
  portIsFree,
  readJson,
  readNodeState,
  residentBytes,
  signalKafka,
  tail,
  terminateKafka,
  type BrokerState,
  type NodeSignal,
} from './process.ts';
import { findJava, provisionKafka } from './provision.ts';

export interface ClusterOptions {
  /** Nodes of a new cluster (an existing data directory keeps its own). Default 3. */
  nodes?: number;
  /** Client port of node 1; node n listens on port + n - 1. Default 9092. */
  port?: number;
  /** Address the client listeners bind and advertise. Default 127.0.0.1. */
  host?: string;
  /** Cluster directory (one node-<n> directory per node). Default ~/.lagless/kafka/<port>. */
  dataDir?: string;
  /** Maximum JVM heap per node. Default "512m" (env LAGLESS_KAFKA_HEAP). */
  heap?: string;
  /** How long to wait for the nodes to answer. Default 120 s. */
  readyTimeoutMs?: number;
  env?: NodeJS.ProcessEnv;
  onProgress?: (message: string) => void;
}

export const defaultClusterOptions = { nodes: 3, port: 9092, host: '127.0.0.1', heap: '512m', readyTimeoutMs: 120_000 } as const;

export interface ClusterNode {
  nodeId: number;
  port: number;
  controllerPort: number;
  dataDir: string;
}

/** `lagless-cluster.json` in the cluster directory: the fixed shape of the cluster (ports are part of the quorum's identity). */
export interface ClusterState {
  version: string;
  clusterId: string;
  host: string;
  dataDir: string;
  nodes: ClusterNode[];
  createdAt: string;
}

export interface ClusterStartResult {
  state: ClusterState;
  /** "host:port,host:port,...": every node. */
  bootstrap: string;
  /** Node ids started by this call. */
  started: number[];
  /** Node ids that were already running. */
  alreadyRunning: number[];
  downloaded: boolean;
  provisionMs: number;
  /** From launching the JVMs until every started node answered. */
  startMs: number;
}

export interface ClusterNodeStatus {
  nodeId: number;
  bootstrap: string;
  running: boolean;
  /** Stopped by SIGSTOP (`lagless kafka pause`). */
  paused: boolean;
  /** Answers Kafka requests on its own port (only checked when running and not paused). */
  reachable: boolean;
  pid?: number;
  startedAt?: string;
  rssBytes?: number;
  /** Partitions this node leads (from the cluster's metadata), when some node answered. */
  leaderOf?: number;
  logTail?: string;
}

export interface ClusterStatus {
  state: ClusterState;
  bootstrap: string;
  nodes: ClusterNodeStatus[];
}

const CLUSTER_FILE = 'lagless-cluster.json';

export function clusterBootstrap(state: ClusterState): string {
  return state.nodes.map((n) => `${state.host}:${n.port}`).join(',');
}

/**
 * The cluster registered for `port` (or the one in `dataDir`), or undefined when that port or directory holds no
 * cluster (a single-node broker, or nothing).
 */
export async function findCluster(options: { port?: number; dataDir?: string; env?: NodeJS.ProcessEnv } = {}): Promise<ClusterState | undefined> {
  const env = options.env ?? process.env;
  if (options.dataDir) return readJson<ClusterState>(join(resolve(options.dataDir), CLUSTER_FILE));
  const port = options.port ?? defaultClusterOptions.port;
  const pointer = await readJson<{ dataDir: string }>(registryFile(port, env));
  return readJson<ClusterState>(join(pointer?.dataDir ?? defaultDataDir(port, env), CLUSTER_FILE));
}

async function requireCluster(options: { port?: number; dataDir?: string; env?: NodeJS.ProcessEnv }): Promise<ClusterState> {
  const state = await findCluster(options);
  if (!state) {
    const where = options.dataDir ? `in ${options.dataDir}` : `on port ${options.port ?? defaultClusterOptions.port}`;
    throw new LaglessError('USAGE', `no Lagless Kafka cluster ${where}. Start one with: lagless kafka start --nodes 3`);
  }
  return state;
}

function pickNodes(state: ClusterState, node: number | undefined): ClusterNode[] {
  if (node === undefined) return state.nodes;
  const n = state.nodes.find((x) => x.nodeId === node);
  if (!n) throw new UsageError(`option --node: the cluster in ${state.dataDir} has nodes ${state.nodes.map((x) => x.nodeId).join(', ')}, not ${node}`);
  return [n];
}

async function runningState(n: ClusterNode): Promise<BrokerState | undefined> {
  const s = await readNodeState(n.dataDir);
  return s && (await isOurBroker(s)) ? s : undefined;
}

async function createClusterState(options: ClusterOptions, dataDir: string, version: string): Promise<ClusterState> {
  const count = options.nodes ?? defaultClusterOptions.nodes;
  if (!Number.isInteger(count) || count < 1 || count > 9) throw new UsageError(`option --nodes: expected 1 to 9 nodes, got ${count}`);
  const port = options.port ?? defaultClusterOptions.port;
  const host = options.host ?? defaultClusterOptions.host;
  const nodes: ClusterNode[] = [];
  const taken = new Set<number>();
  for (let id = 1; id <= count; id += 1) {
    const p = port + id - 1;
    if (p > 65535) throw new UsageError(`option --port: ${count} nodes from port ${port} go past 65535`);
    if (!(await portIsFree(p, host))) {
      throw new LaglessError('IO', `port ${p} on ${host} (node ${id}) is already in use by another program. Choose another first port with --port.`);
    }
    taken.add(p);
  }
  // Controller ports below the ephemeral range (see freePortRange), clear of the client ports.
  let controllerFirst = await freePortRange(count);
  while (Array.from({ length: count }, (_, i) => controllerFirst + i).some((p) => taken.has(p))) controllerFirst = await freePortRange(count);
  for (let id = 1; id <= count; id += 1) {
    nodes.push({ nodeId: id, port: port + id - 1, controllerPort: controllerFirst + id - 1, dataDir: join(dataDir, `node-${id}`) });
  }
  return { version, clusterId: newClusterId(), host, dataDir, nodes, createdAt: new Date().toISOString() };
}

/**
 * Starts the cluster's nodes that are not running (all of them the first time, which formats them) and waits until
 * each started node answers and the cluster's metadata lists every running node. `node` starts only that node
 * (a restart after stop or kill). Starting nodes that already run is harmless.
 */
export async function startCluster(options: ClusterOptions & { node?: number } = {}): Promise<ClusterStartResult> {
  const env = options.env ?? process.env;
  const port = options.port ?? defaultClusterOptions.port;
  const progress = options.onProgress ?? (() => {});
  const t0 = performance.now();
  let state = await findCluster({ port, ...(options.dataDir ? { dataDir: options.dataDir } : {}), env });
  if (state && options.nodes !== undefined && options.nodes !== state.nodes.length) {
    throw new UsageError(`option --nodes: the cluster in ${state.dataDir} has ${state.nodes.length} nodes; stop it and use a new --data-dir for ${options.nodes}`);
  }
  if (!state && options.node !== undefined) await requireCluster({ port, ...(options.dataDir ? { dataDir: options.dataDir } : {}), env });
  if (!state) {
    const dir = resolve(options.dataDir ?? defaultDataDir(port, env));
    if (existsSync(join(dir, 'lagless-broker.json'))) {
      throw new UsageError(`${dir} holds a single-node broker; give the cluster another --data-dir (or another --port)`);
    }
  }

  const java = await findJava(env);
  const install = await provisionKafka({ env, onProgress: progress });
  const t1 = performance.now();
  if (!state) {
    const dir = resolve(options.dataDir ?? defaultDataDir(port, env));
    state = await createClusterState(options, dir, install.version);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, CLUSTER_FILE), JSON.stringify(state, null, 2) + '\n');
    progress(`Creating a ${state.nodes.length}-node Kafka cluster in ${dir} (cluster id ${state.clusterId})`);
  }
  const cluster = state;
  const voters = cluster.nodes.map((n) => ({ nodeId: n.nodeId, controllerPort: n.controllerPort }));
  const heap = options.heap ?? env.LAGLESS_KAFKA_HEAP ?? defaultClusterOptions.heap;

  const alreadyRunning: number[] = [];
  const toStart: ClusterNode[] = [];
  for (const n of pickNodes(cluster, options.node)) {
    if (await runningState(n)) {
      alreadyRunning.push(n.nodeId);
      continue;
    }
    for (const [what, p, h] of [['client', n.port, cluster.host], ['controller', n.controllerPort, '127.0.0.1']] as const) {
      if (!(await portIsFree(p, h))) {
        throw new LaglessError('IO', `the ${what} port ${p} of node ${n.nodeId} is in use by another program; stop it, or start a new cluster with another --data-dir`);
      }
    }
    toStart.push(n);
  }
  // Formatting and JVM start-up take seconds each: all nodes at once (none can answer before a quorum of them runs).
  const launched = await Promise.all(
    toStart.map(async (n) => {
      const l = await launchNode({
        dataDir: n.dataDir,
        nodeId: n.nodeId,
        host: cluster.host,
        port: n.port,
        controllerPort: n.controllerPort,
        clusterId: cluster.clusterId,
        properties: clusterNodeProperties({ nodeId: n.nodeId, host: cluster.host, port: n.port, controllerPort: n.controllerPort, logDirs: join(n.dataDir, 'logs'), voters }),
        heap,
        version: install.version,
        java: java.java,
        libDir: install.libDir,
        env,
        onProgress: progress,
      });
      progress(`Starting node ${n.nodeId} (pid ${l.state.pid}) on ${cluster.host}:${n.port}`);
      return l;
    }),
  );
  await mkdir(dirname(registryFile(port, env)), { recursive: true });
  await writeFile(registryFile(cluster.nodes[0]!.port, env), JSON.stringify({ dataDir: cluster.dataDir, cluster: true }) + '\n');

  const bootstrap = clusterBootstrap(cluster);
  const t2 = performance.now();
  if (launched.length > 0) {
    const expected = new Set([...alreadyRunning, ...launched.map((l) => l.state.nodeId!)]);
    progress(`Waiting for node(s) ${launched.map((l) => l.state.nodeId).join(', ')} to answer...`);
    await waitForKafka(
      launched,
      async () => {
        // Each started node answers on its own port (a KRaft broker opens it once unfenced), and the metadata lists them all.
        for (const l of launched) await checkBrokers({ brokers: [`${cluster.host}:${l.state.port}`], timeoutMs: 1000 });
        const info = await checkBrokers({ brokers: launched.map((l) => `${cluster.host}:${l.state.port}`), timeoutMs: 1000 });
        const listed = new Set(info.brokers.map((b) => b.id));
        return [...expected].every((id) => listed.has(id));
      },
      options.readyTimeoutMs ?? defaultClusterOptions.readyTimeoutMs,
      `the Kafka cluster in ${cluster.dataDir}`,
    );
  }
  const t3 = performance.now();
  return {
    state: cluster,
    bootstrap,
    started: launched.map((l) => l.state.nodeId!),
    alreadyRunning,
    downloaded: install.downloaded,
    provisionMs: t1 - t0,
    startMs: launched.length > 0 ? t3 - t2 : 0,
  };
}

export interface ClusterStopResult {
  state?: ClusterState;
  nodes: { nodeId: number; wasRunning: boolean; killed: boolean; pid?: number }[];
}

/** Stops every node (or `node`) cleanly: SIGTERM, SIGKILL only after `timeoutMs` (default 30 s). */
export async function stopCluster(options: { port?: number; dataDir?: string; node?: number; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<ClusterStopResult> {
  const env = options.env ?? process.env;
  const state = await requireCluster(options);
  const nodes = await Promise.all(
    pickNodes(state, options.node).map(async (n) => {
      const s = await runningState(n);
      if (!s) return { nodeId: n.nodeId, wasRunning: false, killed: false };
      const { killed } = await terminateKafka(s, options.timeoutMs ?? 30_000);
      return { nodeId: n.nodeId, wasRunning: true, killed, pid: s.pid };
    }),
  );
  if (options.node === undefined) await rm(registryFile(state.nodes[0]!.port, env), { force: true });
  return { state, nodes };
}

/** kill -9, SIGSTOP or SIGCONT to one node (or every node): the faults that failover tests inject. */
export async function signalClusterNode(
  action: NodeSignal,
  options: { port?: number; dataDir?: string; node?: number; env?: NodeJS.ProcessEnv } = {},
): Promise<{ state: ClusterState; nodes: { nodeId: number; pid?: number; wasRunning: boolean }[] }> {
  const state = await requireCluster(options);
  const nodes = await Promise.all(
    pickNodes(state, options.node).map(async (n) => {
      const s = await runningState(n);
      if (!s) return { nodeId: n.nodeId, wasRunning: false };
      await signalKafka(s, action);
      return { nodeId: n.nodeId, pid: s.pid, wasRunning: true };
    }),
  );
  return { state, nodes };
}

/** Per node: running, paused, answering, resident memory and partitions led. */
export async function clusterStatus(options: { port?: number; dataDir?: string; env?: NodeJS.ProcessEnv } = {}): Promise<ClusterStatus> {
  const state = await requireCluster(options);
  const nodes: ClusterNodeStatus[] = await Promise.all(
    state.nodes.map(async (n) => {
      const bootstrap = `${state.host}:${n.port}`;
      const s = await runningState(n);
      if (!s) {
        const logTail = await tail(join(n.dataDir, 'broker.log'), 5);
        return { nodeId: n.nodeId, bootstrap, running: false, paused: false, reachable: false, ...(logTail ? { logTail } : {}) };
      }
      const paused = await isPaused(s.pid);
      // A paused JVM would only let the request time out.
      const reachable = !paused && (await checkBrokers({ brokers: [bootstrap], timeoutMs: 2000 }).then(() => true, () => false));
      const rss = await residentBytes(s.pid);
      return { nodeId: n.nodeId, bootstrap, running: true, paused, reachable, pid: s.pid, startedAt: s.startedAt, ...(rss !== undefined ? { rssBytes: rss } : {}) };
    }),
  );
  const answering = nodes.filter((n) => n.reachable).map((n) => n.bootstrap);
  if (answering.length > 0) {
    const admin = createAdmin({ brokers: answering, connectTimeoutMs: 2000, requestTimeoutMs: 3000 });
    try {
      // The client leaves internal topics (__consumer_offsets) out of its metadata: user topics only.
      const names = await admin.listTopics({ includeInternals: false });
      const md = await admin.metadata({ topics: names, forceUpdate: true });
      const leads = new Map<number, number>();
      for (const t of md.topics.values()) for (const p of t?.partitions ?? []) leads.set(p.leader, (leads.get(p.leader) ?? 0) + 1);
      for (const n of nodes) {
        n.leaderOf = leads.get(n.nodeId) ?? 0;
      }
    } catch {
      // Leaders are extra information: a cluster in the middle of a failover may not answer this.
    } finally {
      await admin.close().catch(() => {});
    }
  }
  return { state, bootstrap: clusterBootstrap(state), nodes };
}
