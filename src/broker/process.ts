// The Kafka JVM as an operating-system process: format its storage, launch it detached, wait until it answers, recognise it by pid, pause, resume, kill.
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { LaglessError } from '../errors/index.ts';
import { LOG4J2_YAML } from './config.ts';
import type { BrokerSecurity } from './security.ts';

/** What `lagless-broker.json` in a node's data directory records about the running JVM. */
export interface BrokerState {
  pid: number;
  port: number;
  controllerPort: number;
  version: string;
  dataDir: string;
  clusterId: string;
  startedAt: string;
  /** Absent in state files of older versions: plaintext. */
  security?: BrokerSecurity;
  /** The directory was formatted with the SCRAM users of sasl_ssl. */
  scramUsers?: boolean;
  /** Client config files (secure modes): librdkafka names, and Java names. */
  clientConfig?: string;
  javaClientConfig?: string;
  /** Cluster nodes: the address the client listener binds and advertises (a single broker: 127.0.0.1). */
  host?: string;
  /** Cluster nodes: the Kafka node.id (a single broker is node 1). */
  nodeId?: number;
}

export const STATE_FILE = 'lagless-broker.json';

export async function readJson<T>(file: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

/** Reads the state file of a node's data directory. */
export function readNodeState(dataDir: string): Promise<BrokerState | undefined> {
  return readJson<BrokerState>(join(dataDir, STATE_FILE));
}

/** True when `pid` is alive and is the Kafka JVM of this data directory (guards against pid reuse). */
export async function isOurBroker(state: BrokerState): Promise<boolean> {
  try {
    process.kill(state.pid, 0);
  } catch {
    return false;
  }
  try {
    const cmdline = (await readFile(`/proc/${state.pid}/cmdline`, 'utf8')).split('\0');
    return cmdline.includes('kafka.Kafka') && cmdline.includes(join(state.dataDir, 'server.properties'));
  } catch {
    // No /proc (not Linux): trust the live pid.
    return true;
  }
}

/** True when the process is stopped by a signal (SIGSTOP): state "T" in /proc/<pid>/stat. */
export async function isPaused(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces and parentheses: the state follows the last ")".
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'T';
  } catch {
    return false;
  }
}

/** Resident memory of a process in bytes (VmRSS), or undefined without /proc. */
export async function residentBytes(pid: number): Promise<number | undefined> {
  try {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const kb = /^VmRSS:\s+(\d+) kB/m.exec(status)?.[1];
    return kb ? Number(kb) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

export async function portIsFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((res) => {
    const srv = createServer();
    srv.once('error', () => res(false));
    srv.listen({ port, host, exclusive: true }, () => srv.close(() => res(true)));
  });
}

/** The last lines of a file ('' when it cannot be read). */
export async function tail(file: string, lines = 15): Promise<string> {
  try {
    const text = await readFile(file, 'utf8');
    return text.trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/** JVM arguments shared by the storage tool and the broker: headless, the node's log4j2 config, Kafka's jars. */
export function jvmBase(dataDir: string, libDir: string): string[] {
  return ['-Djava.awt.headless=true', `-Dlog4j2.configurationFile=${join(dataDir, 'log4j2.yaml')}`, '-cp', join(libDir, '*')];
}

/** Formats a node's KRaft storage with `clusterId` (kafka.tools.StorageTool format). */
export async function formatStorage(java: string, base: string[], clusterId: string, props: string, env: NodeJS.ProcessEnv): Promise<void> {
  const out = await new Promise<{ code: number; output: string }>((resolve) => {
    // A short-lived tool: the client compiler and the serial collector start it fastest.
    const c = spawn(java, ['-XX:TieredStopAtLevel=1', '-XX:+UseSerialGC', ...base, 'kafka.tools.StorageTool', 'format', '--cluster-id', clusterId, '--config', props], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    c.stdout.on('data', (d: Buffer) => (output += d));
    c.stderr.on('data', (d: Buffer) => (output += d));
    c.on('error', (e) => resolve({ code: -1, output: String(e) }));
    c.on('close', (code) => resolve({ code: code ?? -1, output }));
  });
  if (out.code !== 0) {
    throw new LaglessError('KAFKA', `formatting the data directory failed: ${out.output.trim().split('\n').slice(-5).join('\n')}`);
  }
}

export interface LaunchedKafka {
  pid: number;
  /** The exit code once the JVM exited (null when killed by a signal), undefined while it runs. */
  exitCode(): number | null | undefined;
}

/**
 * Starts `kafka.Kafka <dataDir>/server.properties` detached (it outlives the CLI), stdout and stderr appended to
 * <dataDir>/broker.log.
 */
export function launchKafka(o: { java: string; base: string[]; dataDir: string; heap: string; env: NodeJS.ProcessEnv }): LaunchedKafka {
  const fd = openSync(join(o.dataDir, 'broker.log'), 'a');
  const child = spawn(
    o.java,
    [`-Xmx${o.heap}`, '-Xms128m', '-XX:+UseG1GC', '-XX:MaxGCPauseMillis=20', ...o.base, 'kafka.Kafka', join(o.dataDir, 'server.properties')],
    { detached: true, stdio: ['ignore', fd, fd], env: o.env, cwd: o.dataDir },
  );
  closeSync(fd);
  let exited: number | null | undefined;
  child.once('exit', (code) => (exited = code));
  child.unref();
  if (!child.pid) throw new LaglessError('INTERNAL', `could not start ${o.java}`);
  return { pid: child.pid, exitCode: () => exited };
}

/**
 * Stops a Kafka JVM cleanly: SIGTERM (Kafka flushes and closes its logs; a paused JVM is resumed so that it can),
 * SIGKILL only after `timeoutMs`. Returns whether it had to be killed.
 */
export async function terminateKafka(state: BrokerState, timeoutMs: number): Promise<{ killed: boolean }> {
  process.kill(state.pid, 'SIGTERM');
  if (await isPaused(state.pid)) process.kill(state.pid, 'SIGCONT');
  const deadline = Date.now() + timeoutMs;
  let killed = false;
  while (await isOurBroker(state)) {
    if (Date.now() > deadline && !killed) {
      process.kill(state.pid, 'SIGKILL');
      killed = true;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  return { killed };
}

/** Fault injection for failover tests: `kill` is kill -9 (waits until the process is gone), `pause` SIGSTOP, `resume` SIGCONT. */
export type NodeSignal = 'kill' | 'pause' | 'resume';

export async function signalKafka(state: BrokerState, action: NodeSignal): Promise<void> {
  const sig = ({ kill: 'SIGKILL', pause: 'SIGSTOP', resume: 'SIGCONT' } as const)[action];
  process.kill(state.pid, sig);
  if (action === 'kill') {
    while (await isOurBroker(state)) await new Promise((r) => setTimeout(r, 20));
  } else {
    // Signal delivery is asynchronous: return once /proc shows the new state.
    const want = action === 'pause';
    for (let i = 0; i < 250 && (await isPaused(state.pid)) !== want; i += 1) await new Promise((r) => setTimeout(r, 20));
  }
}

/** Everything needed to launch one Kafka JVM on a data directory (a node of a local cluster). */
export interface NodeLaunch {
  dataDir: string;
  nodeId: number;
  host: string;
  port: number;
  controllerPort: number;
  /** Used to format the storage when the directory is not formatted yet. */
  clusterId: string;
  /** The node's server.properties. */
  properties: string;
  heap: string;
  version: string;
  java: string;
  libDir: string;
  env: NodeJS.ProcessEnv;
  onProgress: (message: string) => void;
}

/** Writes the node's configuration, formats its storage once, launches the JVM and records its state file. */
export async function launchNode(l: NodeLaunch): Promise<{ state: BrokerState; kafka: LaunchedKafka }> {
  await mkdir(l.dataDir, { recursive: true });
  const logDirs = join(l.dataDir, 'logs');
  const props = join(l.dataDir, 'server.properties');
  await writeFile(props, l.properties);
  await writeFile(join(l.dataDir, 'log4j2.yaml'), LOG4J2_YAML);
  const base = jvmBase(l.dataDir, l.libDir);
  if (!existsSync(join(logDirs, 'meta.properties'))) {
    l.onProgress(`Formatting KRaft data directory ${logDirs} (cluster id ${l.clusterId}${l.nodeId !== 1 ? `, node ${l.nodeId}` : ''})`);
    await formatStorage(l.java, base, l.clusterId, props, l.env);
  }
  const kafka = launchKafka({ java: l.java, base, dataDir: l.dataDir, heap: l.heap, env: l.env });
  const state: BrokerState = {
    pid: kafka.pid,
    port: l.port,
    controllerPort: l.controllerPort,
    version: l.version,
    dataDir: l.dataDir,
    clusterId: l.clusterId,
    startedAt: new Date().toISOString(),
    host: l.host,
    nodeId: l.nodeId,
  };
  await writeFile(join(l.dataDir, STATE_FILE), JSON.stringify(state, null, 2) + '\n');
  return { state, kafka };
}

/**
 * Waits until `ready()` resolves true, failing at once when a launched JVM exits (with the last lines of its log) and
 * killing the JVMs at the deadline.
 */
export async function waitForKafka(launched: { kafka: LaunchedKafka; state: BrokerState }[], ready: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    for (const { kafka, state } of launched) {
      const code = kafka.exitCode();
      if (code !== undefined) {
        const log = join(state.dataDir, 'broker.log');
        throw new LaglessError('KAFKA', `the Kafka broker${launched.length > 1 ? ` of node ${state.nodeId}` : ''} exited during start-up (code ${code}). Last lines of ${log}:\n${await tail(log)}`);
      }
    }
    if (await ready().catch(() => false)) return;
    if (Date.now() > deadline) {
      for (const { kafka } of launched) {
        try {
          process.kill(kafka.pid, 'SIGKILL');
        } catch {}
      }
      const logs = await Promise.all(launched.map(async ({ state }) => `${join(state.dataDir, 'broker.log')}:\n${await tail(join(state.dataDir, 'broker.log'), 8)}`));
      throw new LaglessError('KAFKA', `${what} did not answer in time. Last lines of ${logs.join('\n')}`);
    }
    await sleep(200);
  }
}
