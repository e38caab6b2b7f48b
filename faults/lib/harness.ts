// The fault runner's world, shared by the scenarios of one run: member namespaces, a 3-node cluster and the image server on the brokers' address, and the node faults.
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { clusterStatus, signalClusterNode, startCluster, stopCluster, type NodeSignal } from '../../src/broker/index.ts';
import { freePortRange } from '../../src/common/index.ts';
import { startImageServer, type ImageServer } from '../../src/image-server/index.ts';
import { TopicDumper } from './dump.ts';
import { ClusterClient } from './kafka-io.ts';
import { createTopology, type Topology } from './topology.ts';

export interface HarnessOptions {
  /** Logs, member output and the cluster's data live here. */
  workDir: string;
  /** Member slots (network namespaces). */
  slots: number;
  /** Heap of each Kafka node. */
  heap: string;
  log: (line: string) => void;
}

export class Harness {
  readonly topology: Topology;
  readonly brokers: string[];
  readonly images: ImageServer;
  readonly client: ClusterClient;
  readonly workDir: string;
  readonly log: (line: string) => void;
  readonly #clusterDir: string;
  /** Resident memory of each node after start (bytes), and how long the cluster took to start (ms). */
  readonly startup: { startMs: number; rssBytes: number[] };
  readonly kafkaVersion: string;
  /** Reads topics back with Kafka's Java client (the accounting's ground truth). */
  readonly dumper: TopicDumper;

  private constructor(o: { topology: Topology; brokers: string[]; images: ImageServer; clusterDir: string; workDir: string; log: (l: string) => void; startup: Harness['startup']; kafkaVersion: string; dumper: TopicDumper }) {
    this.topology = o.topology;
    this.brokers = o.brokers;
    this.images = o.images;
    this.client = new ClusterClient(o.brokers);
    this.#clusterDir = o.clusterDir;
    this.workDir = o.workDir;
    this.log = o.log;
    this.startup = o.startup;
    this.kafkaVersion = o.kafkaVersion;
    this.dumper = o.dumper;
  }

  static async start(o: HarnessOptions): Promise<Harness> {
    await mkdir(o.workDir, { recursive: true });
    const dumper = await TopicDumper.prepare(o.workDir);
    const topology = createTopology(o.slots);
    const clusterDir = join(o.workDir, 'cluster');
    let images: ImageServer | undefined;
    try {
      const port = await freePortRange(3, topology.brokerAddress);
      o.log(`starting a 3-node Kafka cluster on ${topology.brokerAddress}:${port}-${port + 2} (heap ${o.heap} per node)`);
      const res = await startCluster({ nodes: 3, port, host: topology.brokerAddress, dataDir: clusterDir, heap: o.heap, onProgress: (m) => o.log(`  ${m}`) });
      const st = await clusterStatus({ dataDir: clusterDir });
      const rssBytes = st.nodes.map((n) => n.rssBytes ?? 0);
      o.log(`cluster ready in ${(res.startMs / 1000).toFixed(1)} s; resident memory per node ${rssBytes.map((b) => `${Math.round(b / 2 ** 20)} MiB`).join(', ')}`);
      // A little latency per image, like a CDN: records stay in flight long enough for faults to catch some.
      images = await startImageServer({ host: topology.brokerAddress, latencyMs: 20, jitterMs: 20 });
      return new Harness({ topology, brokers: res.bootstrap.split(','), images, clusterDir, workDir: o.workDir, log: o.log, startup: { startMs: res.startMs, rssBytes }, kafkaVersion: res.state.version, dumper });
    } catch (err) {
      await images?.close().catch(() => {});
      await stopCluster({ dataDir: clusterDir, timeoutMs: 10_000 }).catch(() => {});
      topology.close();
      throw err;
    }
  }

  /** kill -9 / SIGSTOP / SIGCONT of a node. */
  async signalNode(node: number, action: NodeSignal): Promise<void> {
    await signalClusterNode(action, { dataDir: this.#clusterDir, node });
  }

  /** Starts a node that was stopped or killed, and waits until it answers. */
  async restartNode(node: number): Promise<void> {
    await startCluster({ dataDir: this.#clusterDir, node });
  }

  /** Every node runs, none is paused (after a scenario that failed half-way). */
  async healAllNodes(): Promise<void> {
    const st = await clusterStatus({ dataDir: this.#clusterDir });
    for (const n of st.nodes) if (n.paused) await this.signalNode(n.nodeId, 'resume');
    if (st.nodes.some((n) => !n.running)) await startCluster({ dataDir: this.#clusterDir });
  }

  async nodeMemory(): Promise<number[]> {
    return (await clusterStatus({ dataDir: this.#clusterDir })).nodes.map((n) => n.rssBytes ?? 0);
  }

  async close(): Promise<void> {
    await this.client.close();
    await this.images.close().catch(() => {});
    await stopCluster({ dataDir: this.#clusterDir, timeoutMs: 20_000 }).catch(() => {});
    this.topology.close();
    await rm(this.#clusterDir, { recursive: true, force: true });
  }
}
