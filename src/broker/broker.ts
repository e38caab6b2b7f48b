// Starts, stops and inspects a local single-node Apache Kafka (KRaft) broker run with Java, for development, tests and the demo.
import { spawn } from 'node:child_process';
import { existsSync, openSync, closeSync } from 'node:fs';
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { freePort } from '../common/index.ts';
import { LaglessError } from '../errors/index.ts';
import { checkBrokers, resolveConnection, type KafkaConnection } from '../kafka/index.ts';
import { LOG4J2_YAML, newClusterId, serverProperties } from './config.ts';
import { defaultDataDir, registryFile } from './paths.ts';
import { isOurBroker, portIsFree, readJson, STATE_FILE, tail, terminateKafka, type BrokerState } from './process.ts';
import { findJava, provisionKafka } from './provision.ts';
import { brokerSecurityProperties, ensureSecurityFiles, scramFormatArgs, writeClientConfigs, type BrokerSecurity } from './security.ts';

export interface BrokerOptions {
  /** Client port on 127.0.0.1. Default 9092. */
  port?: number;
  /** Data directory (logs, config, state). Default ~/.lagless/kafka/<port>. */
  dataDir?: string;
  /** Maximum JVM heap. Default "1g" (env LAGLESS_KAFKA_HEAP). */
  heap?: string;
  /** How long to wait for the broker to answer. Default 90 s. */
  readyTimeoutMs?: number;
  /** plaintext (default); sasl_ssl: TLS + SCRAM users; mtls: TLS with client certificates. See security.ts. */
  security?: BrokerSecurity;
  env?: NodeJS.ProcessEnv;
  onProgress?: (message: string) => void;
}

export const defaultBrokerOptions = { port: 9092, heap: '1g', readyTimeoutMs: 90_000, security: 'plaintext' } as const;

export type { BrokerState } from './process.ts';

export interface StartResult {
  state: BrokerState;
  bootstrap: string;
  /** How to connect to it (TLS and SASL settings of a secure broker), read back from its client config file. */
  connection: KafkaConnection;
  alreadyRunning: boolean;
  /** The jars were downloaded by this call (first run). */
  downloaded: boolean;
  /** Milliseconds spent provisioning (resolve or cache check) and starting. */
  provisionMs: number;
  startMs: number;
}

export interface BrokerStatus {
  running: boolean;
  /** Answers Kafka requests (only checked when running). */
  reachable: boolean;
  state?: BrokerState;
  bootstrap?: string;
  /** Last lines of broker.log when the broker is not running but has a log. */
  logTail?: string;
}

function resolveDir(port: number, dataDir: string | undefined, env: NodeJS.ProcessEnv): string {
  return resolve(dataDir ?? defaultDataDir(port, env));
}

/** How clients reach a broker: plaintext, or the settings of the client config file it wrote. */
export function brokerConnection(state: Pick<BrokerState, 'port' | 'clientConfig'>): KafkaConnection {
  if (!state.clientConfig) return { brokers: [`127.0.0.1:${state.port}`] };
  return resolveConnection({ configFile: state.clientConfig, env: {} }).connection;
}

/** Finds the state of the broker for a port or data directory (via the per-port registry when no directory is given). */
async function findState(port: number, dataDir: string | undefined, env: NodeJS.ProcessEnv): Promise<BrokerState | undefined> {
  if (dataDir) return readJson<BrokerState>(join(resolve(dataDir), STATE_FILE));
  const pointer = await readJson<{ dataDir: string }>(registryFile(port, env));
  const dir = pointer?.dataDir ?? defaultDataDir(port, env);
  return readJson<BrokerState>(join(dir, STATE_FILE));
}

/**
 * Starts the broker and waits until it answers Kafka requests. Starting a broker that already runs is harmless:
 * it reports the running one. The first start downloads Kafka's jars with Maven (then cached) and formats the data directory.
 */
export async function startBroker(options: BrokerOptions = {}): Promise<StartResult> {
  const env = options.env ?? process.env;
  const port = options.port ?? defaultBrokerOptions.port;
  const dataDir = resolveDir(port, options.dataDir, env);
  const progress = options.onProgress ?? (() => {});
  const bootstrap = `127.0.0.1:${port}`;
  const t0 = performance.now();

  const security = options.security ?? defaultBrokerOptions.security;
  const existing = await findState(port, options.dataDir, env);
  if (existing && (await isOurBroker(existing))) {
    if (existing.port !== port) {
      throw new LaglessError('USAGE', `the broker of ${existing.dataDir} already runs on port ${existing.port}; stop it first to use port ${port}`);
    }
    if ((existing.security ?? 'plaintext') !== security) {
      throw new LaglessError('USAGE', `the broker of ${existing.dataDir} already runs with --security ${existing.security ?? 'plaintext'}; stop it first to start it with --security ${security}`);
    }
    return { state: existing, bootstrap, connection: brokerConnection(existing), alreadyRunning: true, downloaded: false, provisionMs: 0, startMs: 0 };
  }
  if (!(await portIsFree(port))) {
    throw new LaglessError(
      'IO',
      `port ${port} on 127.0.0.1 is already in use by another program (not a broker started by Lagless from ${dataDir}). ` +
        `Choose another with --port, or stop that program.`,
    );
  }

  const java = await findJava(env);
  const install = await provisionKafka({ env, onProgress: progress });
  const t1 = performance.now();

  await mkdir(dataDir, { recursive: true });
  const logDirs = join(dataDir, 'logs');
  const props = join(dataDir, 'server.properties');
  const log4j = join(dataDir, 'log4j2.yaml');
  const previous = await readJson<BrokerState>(join(dataDir, STATE_FILE));
  const formatted = existsSync(join(logDirs, 'meta.properties'));
  // The controller port is part of the quorum's identity: keep it across restarts of a formatted directory.
  let controllerPort = formatted && previous ? previous.controllerPort : await freePort();
  if (controllerPort === port || !(await portIsFree(controllerPort))) {
    if (formatted) {
      throw new LaglessError('IO', `the controller port ${controllerPort} of ${dataDir} is in use; stop the program using it or use a new --data-dir`);
    }
    controllerPort = await freePort();
  }
  let secure: Awaited<ReturnType<typeof ensureSecurityFiles>> | undefined;
  if (security !== 'plaintext') {
    if (formatted && security === 'sasl_ssl' && !previous?.scramUsers) {
      throw new LaglessError(
        'USAGE',
        `${dataDir} was formatted without SCRAM users (they can only be created when a data directory is formatted); ` +
          `start the sasl_ssl broker with a new --data-dir`,
      );
    }
    secure = await ensureSecurityFiles(dataDir);
    if (secure.created) progress(`Made a CA and certificates for 127.0.0.1/localhost in ${secure.files.dir}`);
  }
  // Mode 600: with --security it holds the broker's own SASL passwords.
  await writeFile(
    props,
    serverProperties({
      port,
      controllerPort,
      logDirs,
      ...(secure && security !== 'plaintext'
        ? { security: { protocol: security === 'mtls' ? 'SSL' : 'SASL_SSL', properties: brokerSecurityProperties(security, secure.files, secure.credentials) } }
        : {}),
    }),
    { mode: 0o600 },
  );
  await chmod(props, 0o600);
  await writeFile(log4j, LOG4J2_YAML);
  const classpath = join(install.libDir, '*');
  const jvmBase = ['-Djava.awt.headless=true', `-Dlog4j2.configurationFile=${log4j}`, '-cp', classpath];
  let clusterId = previous?.clusterId ?? '';
  if (!formatted) {
    clusterId = newClusterId();
    progress(`Formatting KRaft data directory ${logDirs} (cluster id ${clusterId})`);
    // SCRAM users exist from the start (sasl_ssl): the broker never runs with an open door to create them later.
    const scram = secure && security === 'sasl_ssl' ? scramFormatArgs(secure.credentials) : [];
    await runToEnd(java.java, [...jvmBase, 'kafka.tools.StorageTool', 'format', '--cluster-id', clusterId, '--config', props, ...scram], env);
  } else if (!clusterId) {
    const meta = await readFile(join(logDirs, 'meta.properties'), 'utf8').catch(() => '');
    clusterId = /cluster\.id=(.+)/.exec(meta)?.[1]?.trim() ?? '';
  }

  const heap = options.heap ?? env.LAGLESS_KAFKA_HEAP ?? defaultBrokerOptions.heap;
  const logFile = join(dataDir, 'broker.log');
  const fd = openSync(logFile, 'a');
  const child = spawn(
    java.java,
    [`-Xmx${heap}`, '-Xms256m', '-XX:+UseG1GC', '-XX:MaxGCPauseMillis=20', ...jvmBase, 'kafka.Kafka', props],
    { detached: true, stdio: ['ignore', fd, fd], env, cwd: dataDir },
  );
  closeSync(fd);
  let exited: number | null | undefined;
  child.once('exit', (code) => (exited = code));
  child.unref();
  const pid = child.pid;
  if (!pid) throw new LaglessError('INTERNAL', `could not start ${java.java}`);

  const scramUsers = formatted ? (previous?.scramUsers ?? false) : security === 'sasl_ssl';
  const state: BrokerState = {
    pid,
    port,
    controllerPort,
    version: install.version,
    dataDir,
    clusterId,
    startedAt: new Date().toISOString(),
    security,
    scramUsers,
    ...(secure ? { clientConfig: secure.files.clientConfig, javaClientConfig: secure.files.javaClientConfig } : {}),
  };
  if (secure && security !== 'plaintext') await writeClientConfigs(security, bootstrap, secure.files, secure.credentials);
  const connection = brokerConnection(state);
  await writeFile(join(dataDir, STATE_FILE), JSON.stringify(state, null, 2) + '\n');
  await mkdir(dirname(registryFile(port, env)), { recursive: true });
  await writeFile(registryFile(port, env), JSON.stringify({ dataDir, pid }) + '\n');

  progress(`Starting Kafka ${install.version} (pid ${pid}), waiting for ${bootstrap}...`);
  const deadline = Date.now() + (options.readyTimeoutMs ?? defaultBrokerOptions.readyTimeoutMs);
  for (;;) {
    if (exited !== undefined) {
      throw new LaglessError('KAFKA', `the Kafka broker exited during start-up (code ${exited}). Last lines of ${logFile}:\n${await tail(logFile)}`);
    }
    try {
      await checkBrokers({ ...connection, timeoutMs: 1000 });
      break;
    } catch {
      if (Date.now() > deadline) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {}
        throw new LaglessError('KAFKA', `the Kafka broker did not answer on ${bootstrap} in time. Last lines of ${logFile}:\n${await tail(logFile)}`);
      }
      await sleep(200);
    }
  }
  const t2 = performance.now();
  return { state, bootstrap, connection, alreadyRunning: false, downloaded: install.downloaded, provisionMs: t1 - t0, startMs: t2 - t1 };
}

async function runToEnd(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  const out = await new Promise<{ code: number; output: string }>((res) => {
    const c = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    c.stdout.on('data', (d: Buffer) => (output += d));
    c.stderr.on('data', (d: Buffer) => (output += d));
    c.on('error', (e) => res({ code: -1, output: String(e) }));
    c.on('close', (code) => res({ code: code ?? -1, output }));
  });
  if (out.code !== 0) {
    throw new LaglessError('KAFKA', `${args.includes('format') ? 'formatting the data directory' : cmd} failed: ${out.output.trim().split('\n').slice(-5).join('\n')}`);
  }
}

export interface StopOptions {
  port?: number;
  dataDir?: string;
  /** Time to wait for a clean shutdown before SIGKILL. Default 30 s. */
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

export interface StopResult {
  wasRunning: boolean;
  state?: BrokerState;
  /** True when the broker had to be killed after the timeout. */
  killed: boolean;
}

/** Stops the broker cleanly (SIGTERM: Kafka flushes and closes its logs), SIGKILL only after the timeout. */
export async function stopBroker(options: StopOptions = {}): Promise<StopResult> {
  const env = options.env ?? process.env;
  const port = options.port ?? defaultBrokerOptions.port;
  const state = await findState(port, options.dataDir, env);
  if (!state || !(await isOurBroker(state))) {
    if (state) await rm(registryFile(state.port, env), { force: true });
    return { wasRunning: false, state, killed: false };
  }
  // A paused broker (lagless kafka pause) is resumed so that it can shut down cleanly.
  const { killed } = await terminateKafka(state, options.timeoutMs ?? 30_000);
  await rm(registryFile(state.port, env), { force: true });
  return { wasRunning: true, state, killed };
}

/** Whether the broker for a port (or data directory) runs and answers. */
export async function brokerStatus(options: { port?: number; dataDir?: string; env?: NodeJS.ProcessEnv } = {}): Promise<BrokerStatus> {
  const env = options.env ?? process.env;
  const port = options.port ?? defaultBrokerOptions.port;
  const state = await findState(port, options.dataDir, env);
  if (!state || !(await isOurBroker(state))) {
    const logTail = state ? await tail(join(state.dataDir, 'broker.log'), 5) : undefined;
    return { running: false, reachable: false, state, ...(logTail ? { logTail } : {}) };
  }
  const bootstrap = `127.0.0.1:${state.port}`;
  const reachable = await checkBrokers({ ...brokerConnection(state), timeoutMs: 2000 }).then(
    () => true,
    () => false,
  );
  return { running: true, reachable, state, bootstrap };
}
